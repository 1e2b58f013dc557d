package io.cascadesfu.cascade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The control channel on real sockets: mutual authentication with the secret, sealed frames in order, refusals. */
class ClusterNodeTest {
    static final String SECRET = "a-cluster-secret-of-thirty-two-chars!";
    final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void tearDown() {
        nodes.forEach(ClusterNode::close);
    }

    static final class Recorder implements ClusterListener {
        final List<String> up = new CopyOnWriteArrayList<>();
        final List<ObjectNode> messages = new CopyOnWriteArrayList<>();

        @Override
        public void onPeerUp(String peerId, String region) {
            up.add(peerId);
        }

        @Override
        public void onPeerDown(String peerId, String reason) {
            up.remove(peerId);
        }

        @Override
        public void onMessage(String peerId, ObjectNode message) {
            messages.add(message);
        }
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void waitUntil(String what, BooleanSupplier c) throws InterruptedException {
        for (int i = 0; i < 200 && !c.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertTrue(c.getAsBoolean(), "timed out waiting for " + what);
    }

    ClusterNode node(String id, String secret, int port, ClusterListener l, SimpleMeterRegistry r,
                     ClusterConfig.Peer... peers) {
        ClusterNode n = ClusterNode.start(new ClusterConfig(id, "region-" + id, secret, "127.0.0.1", port,
                List.of(peers)), l, r);
        nodes.add(n);
        return n;
    }

    @Test
    void twoNodesAuthenticateAndExchangeSealedMessagesInOrder() throws Exception {
        int pa = freePort();
        int pb = freePort();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        ClusterNode a = node("a", SECRET, pa, ra, new SimpleMeterRegistry(), new ClusterConfig.Peer("b", "127.0.0.1", pb));
        node("b", SECRET, pb, rb, new SimpleMeterRegistry(), new ClusterConfig.Peer("a", "127.0.0.1", pa));
        waitUntil("both up", () -> ra.up.contains("b") && rb.up.contains("a"));
        for (int i = 0; i < 500; i++) {
            assertTrue(a.send("b", JsonNodeFactory.instance.objectNode().put("type", "n").put("i", i)));
        }
        waitUntil("500 messages", () -> rb.messages.size() == 500);
        for (int i = 0; i < 500; i++) {
            assertEquals(i, rb.messages.get(i).get("i").asInt(), "in order");
        }
        waitUntil("a round trip measured", () -> a.rttMillis("b") > 0);
        assertEquals("region-b", a.region("b"));
    }

    @Test
    void aNodeWithTheWrongSecretOrNotConfiguredIsRefused() throws Exception {
        int pa = freePort();
        int pb = freePort();
        Recorder ra = new Recorder();
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        // a dials b (lower id dials); b has another secret: a refuses b's challenge.
        node("a", SECRET, pa, ra, reg, new ClusterConfig.Peer("b", "127.0.0.1", pb));
        Recorder rb = new Recorder();
        node("b", "another-secret-entirely-32-characters", pb, rb, new SimpleMeterRegistry(),
                new ClusterConfig.Peer("a", "127.0.0.1", pa));
        // 0z dials a, which has no such peer.
        Recorder rz = new Recorder();
        node("0z", SECRET, freePort(), rz, new SimpleMeterRegistry(), new ClusterConfig.Peer("a", "127.0.0.1", pa));
        waitUntil("both refusals counted", () -> reg.find("sfu.cascade.auth.failures").tag("reason", "bad_proof")
                .counter() != null && reg.find("sfu.cascade.auth.failures").tag("reason", "unknown_node").counter() != null);
        Thread.sleep(500);
        assertTrue(ra.up.isEmpty() && rb.up.isEmpty() && rz.up.isEmpty(), "no one came up");
        // Garbage on the port: closed, nothing up.
        try (Socket s = new Socket("127.0.0.1", pa)) {
            OutputStream o = s.getOutputStream();
            o.write(new byte[] {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'});
            o.flush();
            assertEquals(-1, s.getInputStream().read(), "closed by the node");
        }
        assertTrue(ra.up.isEmpty());
    }

    @Test
    void configErrorsAreClear() {
        assertThrows(IllegalArgumentException.class, () -> new ClusterConfig("a", "", "short", "127.0.0.1", 0, List.of()));
        assertThrows(IllegalArgumentException.class,
                () -> new ClusterConfig("a b", "", SECRET, "127.0.0.1", 0, List.of()));
        IllegalArgumentException self = assertThrows(IllegalArgumentException.class, () -> new ClusterConfig("a", "",
                SECRET, "127.0.0.1", 0, List.of(new ClusterConfig.Peer("a", "h", 1))));
        assertTrue(self.getMessage().contains("itself"));
        assertFalse(new ClusterConfig("a", "", SECRET, "127.0.0.1", 0, List.of()).peers().iterator().hasNext());
    }
}
