package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.cascade.ClusterConfig;
import io.cascadesfu.cascade.ClusterListener;
import io.cascadesfu.cascade.ClusterNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A peer that has the cluster secret but sends nonsense: a real node ({@code a}) and a real control channel from a
 * second process-like end ({@code z}, a {@link ClusterNode} the test drives). Every malformed or meaningless cascade
 * message (unknown types, rooms that are not here, relays of tracks that do not exist, bad participants and tracks,
 * bad round trips, a flood of subscriptions) is dropped and counted in {@code sfu_cascade_ignored_messages_total};
 * the node stays up, its local participants keep their call, and a well-formed state from the same peer still works.
 */
@Timeout(90)
class CascadeBadInputTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final String SECRET = "a-cluster-secret-of-thirty-two-chars!";
    private static final String ROOM = SignalingProtocolTest.ROOM;

    private final LinkedBlockingQueue<ObjectNode> heardByZ = new LinkedBlockingQueue<>();
    private final List<WsClient> clients = new ArrayList<>();
    private ClusterNode z;
    private SfuNode a;

    @AfterEach
    void stop() {
        clients.forEach(WsClient::close);
        if (a != null) {
            a.close();
        }
        if (z != null) {
            z.close();
        }
    }

    private static ObjectNode message(String type, String room) {
        ObjectNode m = JSON.objectNode().put("type", type);
        return room == null ? m : m.put("room", room);
    }

    private static ObjectNode audioTrack(String trackId) {
        ObjectNode t = JSON.objectNode().put("trackId", trackId).put("muted", false).put("paused", false);
        ObjectNode info = t.putObject("info").put("mid", "0").put("kind", "audio");
        info.putObject("codec").put("pt", 111).put("name", "opus").put("clockRate", 48000).put("channels", 2)
                .put("fmtp", "minptime=10;useinbandfec=1").put("red", -1).putArray("feedback").add("transport-cc");
        info.putArray("extensions").addObject().put("id", 1).put("uri", "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
        info.putArray("rids");
        return t;
    }

    private static ObjectNode participant(String id, String identity, ObjectNode... tracks) {
        ObjectNode p = JSON.objectNode().put("participantId", id).put("identity", identity).put("name", identity);
        ArrayNode list = p.putArray("tracks");
        for (ObjectNode t : tracks) {
            list.add(t);
        }
        return p;
    }

    private double ignored() throws Exception {
        return FleetSfuNodeTest.gauge(a, "sfu_cascade_ignored_messages_total");
    }

    /** The next message z hears from a of {@code type} (others are passed over), within 15 s. */
    private ObjectNode heard(String type) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        for (long left; (left = deadline - System.nanoTime()) > 0; ) {
            ObjectNode m = heardByZ.poll(left, TimeUnit.NANOSECONDS);
            if (m != null && type.equals(m.path("type").asText())) {
                return m;
            }
        }
        throw new AssertionError("z heard no " + type + " from a");
    }

    @Test
    void nonsenseFromAnAuthenticatedPeerIsCountedAndChangesNothing() throws Exception {
        // z accepts a (a's id sorts first: a dials); z never dials, so a's port in z's list is not used.
        z = ClusterNode.start(new ClusterConfig("z", "rogue", SECRET, "127.0.0.1", 0,
                List.of(new ClusterConfig.Peer("a", "127.0.0.1", 9))), new ClusterListener() {
                    @Override
                    public void onPeerUp(String peerId, String region) {
                    }

                    @Override
                    public void onPeerDown(String peerId, String reason) {
                    }

                    @Override
                    public void onMessage(String peerId, ObjectNode message) {
                        heardByZ.add(message);
                    }
                }, new SimpleMeterRegistry());
        SfuConfig c = SignalingProtocolTest.devConfig();
        c.media.workers = 1;
        c.cluster.nodeId = "a";
        c.cluster.region = "here";
        c.cluster.secret = SECRET;
        c.cluster.port = 0;
        c.cluster.peers = List.of("z@127.0.0.1:" + z.boundPort());
        c.validate();
        a = new SfuNode(c);
        FleetSfuNodeTest.waitUntil("the control channel up", () -> z.upPeers().contains("a"));
        WsClient alice = WsClient.joined(a.httpAddress(), SignalingProtocolTest.token("alice"));
        clients.add(alice);
        JsonNode state = heard("room_state");
        assertEquals("alice", state.path("participants").path(0).path("identity").asText(), state.toString());
        double before = ignored();

        List<ObjectNode> nonsense = new ArrayList<>();
        nonsense.add(message("no_such_type", ROOM));
        nonsense.add(message("room_state", null)); // no room
        nonsense.add(message("room_state", ROOM).put("participants", "everyone"));
        ObjectNode crowd = message("room_state", ROOM);
        ArrayNode tooMany = crowd.putArray("participants");
        for (int i = 0; i < 1001; i++) {
            tooMany.add(participant("p" + i, "crowd" + i));
        }
        nonsense.add(crowd);
        ObjectNode noIdentity = message("room_state", ROOM);
        noIdentity.putArray("participants").add(JSON.objectNode().put("participantId", "x"));
        nonsense.add(noIdentity);
        ObjectNode badTrack = audioTrack("TR_bad");
        ((ObjectNode) badTrack.get("info")).put("kind", "smell");
        ObjectNode badTrackState = message("room_state", ROOM);
        badTrackState.putArray("participants").add(participant("PA_mallory", "mallory", badTrack));
        nonsense.add(badTrackState);
        nonsense.add(message("relay", ROOM).put("trackId", "TR_nothing").put("ssrc", 1234)); // no link, no track
        nonsense.add(message("relay", ROOM).put("trackId", "TR_nothing").put("ssrc", -1));
        nonsense.add(message("link_offer", "not-a-room-here").put("channel", 3));
        nonsense.add(message("link_offer", ROOM).put("channel", "three")); // not a number
        nonsense.add(message("link_offer", ROOM).put("channel", 5000)); // past the 2048 channels of a wire
        nonsense.add(message("link_answer", ROOM).put("channel", -1)); // not a channel
        nonsense.add(message("pair_offer", null).put("wire", 1).put("ufrag", "a:b")); // fields missing or bad
        nonsense.add(message("pair_offer", null).put("wire", 1).put("ufrag", "abcd").put("pwd", "abcdefghijklmnopqrstuv")
                .put("fingerprint", "AA:BB")); // well formed, but a dials the wire to z, not z to a
        nonsense.add(message("pair_answer", null).put("wire", 1).put("ufrag", "abcd").put("pwd", "abcdefghijklmnopqrstuv")
                .put("fingerprint", "AA").put("host", "127.0.0.1").put("port", 9)); // no wire offered yet
        nonsense.add(message("rtts", null).put("rtts", "fast"));
        nonsense.add(message("rtts", null).set("rtts", JSON.objectNode().put("a", -5)));
        ObjectNode manyRtts = JSON.objectNode();
        for (int i = 0; i < 300; i++) {
            manyRtts.put("n" + i, 1.0);
        }
        nonsense.add(message("rtts", null).set("rtts", manyRtts));
        for (ObjectNode m : nonsense) {
            assertTrue(z.send("a", m), "sent " + m.path("type"));
        }
        // A flood of subscriptions to what does not exist.
        int flood = 5_000;
        for (int i = 0; i < flood; i++) {
            z.send("a", message("relay", ROOM).put("trackId", "TR_" + i).put("ssrc", 5000 + i));
        }
        double expected = before + nonsense.size() + flood;
        FleetSfuNodeTest.waitUntil("every nonsense message counted", () -> {
            try {
                return ignored() >= expected;
            } catch (Exception e) {
                return false;
            }
        });

        // Nothing changed for the local call: alice's socket answers, the node is healthy, bob joins and she sees him.
        alice.pingPong();
        assertEquals(200, SignalingProtocolTest.get(a.httpAddress(), "/health").statusCode());
        assertTrue(z.upPeers().contains("a"), "the channel stays up: nonsense inside it is dropped, not fatal");
        WsClient bob = WsClient.joined(a.httpAddress(), SignalingProtocolTest.token("bob"));
        clients.add(bob);
        List<String> joined = joinedUntil(alice, "bob");
        assertFalse(joined.stream().anyMatch(i -> i.startsWith("crowd") || i.isEmpty()), "joined: " + joined);

        // A well-formed state from the same peer still works: zed joins alice's call and a dials a link for his track.
        ObjectNode good = message("room_state", ROOM);
        good.putArray("participants").add(participant("PA_zed", "zed", audioTrack("TR_zed")));
        double beforeGood = ignored();
        z.send("a", good);
        joinedUntil(alice, "zed");
        ObjectNode wire = heard("pair_offer"); // a has the lower id: it dials the one wire between the two, first
        assertFalse(wire.path("ufrag").asText().isEmpty(), wire.toString());
        ObjectNode offer = heard("link_offer"); // then the room's channel on it
        assertEquals(ROOM, offer.path("room").asText());
        assertTrue(offer.path("channel").canConvertToInt(), "the room's channel on the pair's wire: " + offer);
        assertEquals(beforeGood, ignored(), "a good state is not counted as ignored");
    }

    /** The identities in {@code participant_joined} messages up to and with {@code identity} (fails after a timeout). */
    private static List<String> joinedUntil(WsClient c, String identity) throws InterruptedException {
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            String who = c.next("participant_joined").path("participant").path("identity").asText();
            seen.add(who);
            if (who.equals(identity)) {
                return seen;
            }
        }
        throw new AssertionError("no " + identity + " among " + seen);
    }
}
