package io.cascadesfu.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cascadesfu.load.LoadSummary.ParticipantResult;
import io.cascadesfu.load.LoadSummary.StreamResult;
import io.cascadesfu.server.SfuConfig;
import io.cascadesfu.server.SfuNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two cluster nodes in-process (real control channel, real UDP, ICE, DTLS and SRTP between their media ports) and
 * two rooms, each with one participant on each node: every participant receives the other's audio and video, and
 * all four directions (two rooms, both ways) ride one relay wire between the nodes: one row in each node's
 * {@code /admin/links} {@code wires}, up, with both rooms in and out.
 */
@Timeout(90)
class CascadeWireTest {
    static final String SECRET = "cascade-wire-test-secret-0123456789abcdef";
    static final String ADMIN_KEY = "cascade-wire-test-admin-key-0123456789abcdef";
    static final ObjectMapper JSON = new ObjectMapper();
    final List<SfuNode> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(SfuNode::close);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    SfuNode node(String id, int clusterPort, String peer) {
        Map<String, String> env = new HashMap<>();
        env.put("SFU_HTTP_PORT", "0");
        env.put("SFU_MEDIA_PORT", "0");
        env.put("SFU_MEDIA_WORKERS", "2"); // rooms and the wire may sit on different workers: pipes between them
        env.put("SFU_NODE_ID", id);
        env.put("SFU_REGION", id);
        env.put("SFU_CLUSTER_SECRET", SECRET);
        env.put("SFU_CLUSTER_BIND", "127.0.0.1");
        env.put("SFU_CLUSTER_PORT", String.valueOf(clusterPort));
        env.put("SFU_CLUSTER_PEERS", peer);
        env.put("SFU_ADMIN_KEY", ADMIN_KEY);
        SfuNode n = new SfuNode(SfuConfig.load(null, env));
        nodes.add(n);
        return n;
    }

    static String url(SfuNode n) {
        return "http://127.0.0.1:" + n.httpAddress().getPort();
    }

    static JsonNode links(SfuNode n) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url(n)
                + "/admin/links")).header("Authorization", "Bearer " + ADMIN_KEY).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void twoRoomsBothWaysRideOneWireAndEveryoneReceivesEveryone() throws Exception {
        int eastPort = freePort();
        int westPort = freePort();
        SfuNode east = node("east", eastPort, "west@127.0.0.1:" + westPort);
        SfuNode west = node("west", westPort, "east@127.0.0.1:" + eastPort);
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (!links(east).at("/peers/0/up").asBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }

        // Participant i is in room i % 2; 0 and 1 on east, 2 and 3 on west: each room spans the two nodes.
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        LoadSummary s;
        JsonNode[] during = new JsonNode[2];
        try (PrintStream out = new PrintStream(progress, true, StandardCharsets.UTF_8)) {
            LoadRun run = new LoadRun(LoadOptions.parse("--url", url(east), "--url-for", "2=" + url(west),
                    "--url-for", "3=" + url(west), "--shape", "meeting", "--participants", "4", "--rooms", "2",
                    "--duration", "15s", "--ramp", "10/s", "--video-kbps", "300", "--report-interval", "1s"), out);
            // Read both nodes' links through the call; kept: the fullest view of each (every room on the wire).
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread reader = new Thread(() -> {
                try {
                    for (int i = 0; i < 600 && !done.get(); i++) {
                        for (int n = 0; n < 2; n++) {
                            JsonNode l = links(n == 0 ? east : west);
                            if (during[n] == null || l.at("/wires/0/channels").asInt()
                                    > during[n].at("/wires/0/channels").asInt()) {
                                during[n] = l;
                            }
                        }
                        Thread.sleep(250);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            reader.start();
            try {
                s = run.run();
            } finally {
                done.set(true);
                reader.join();
            }
        }
        System.out.print(progress.toString(StandardCharsets.UTF_8));
        System.out.print(s.toText());

        assertEquals(4, s.connected(), "all connect: " + s.failures());
        for (ParticipantResult p : s.participantResults()) {
            int audio = 0;
            int video = 0;
            for (StreamResult r : p.streams()) {
                assertTrue(r.received() > 0.9 * r.expected(), p.identity() + " received " + r);
                audio += r.kind().equals("audio") ? 1 : 0;
                video += r.kind().equals("video") ? 1 : 0;
            }
            assertEquals(1, audio, p.identity() + " hears the other member of " + p.room() + ": " + p.streams());
            assertEquals(1, video, p.identity() + " sees the other member of " + p.room() + ": " + p.streams());
        }
        for (JsonNode l : during) {
            assertTrue(l != null, "links read during the call");
            JsonNode wires = l.get("wires");
            assertEquals(1, wires.size(), "one wire per node pair: " + l);
            JsonNode w = wires.get(0);
            assertTrue(w.get("up").asBoolean(), w.toString());
            assertEquals(2, w.get("roomsIn").asInt(), "both rooms received over it: " + w);
            assertEquals(2, w.get("roomsOut").asInt(), "both rooms served over it: " + w);
            assertEquals(4, w.get("channels").asInt(), "a channel per room and direction: " + w);
            assertEquals(4, l.get("links").size(), "the rooms' links, in and out: " + l);
        }
        assertTrue(during[0].at("/wires/0/dialedHere").asBoolean(), "east, the lower id, dials the wire");
        assertTrue(!during[1].at("/wires/0/dialedHere").asBoolean(), "west accepts it");
    }
}
