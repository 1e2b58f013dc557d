package io.cascadesfu.cascade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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
        return node(id, "", secret, port, l, r, peers);
    }

    ClusterNode node(String id, String publicUrl, String secret, int port, ClusterListener l, SimpleMeterRegistry r,
                     ClusterConfig.Peer... peers) {
        ClusterNode n = ClusterNode.start(new ClusterConfig(id, "region-" + id, secret, "127.0.0.1", port,
                List.of(peers), publicUrl), l, r);
        nodes.add(n);
        return n;
    }

    static ClusterNode.PeerInfo info(ClusterNode n, String peer) {
        return n.peers().stream().filter(p -> p.id().equals(peer)).findFirst().orElse(null);
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
    void peersTellRegionPublicUrlStateAndRoundTripOfEveryKnownPeer() throws Exception {
        int pa = freePort();
        int pb = freePort();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        ClusterNode a = node("a", "http://127.0.0.1:7881", SECRET, pa, ra, new SimpleMeterRegistry(),
                new ClusterConfig.Peer("b", "127.0.0.1", pb), new ClusterConfig.Peer("c", "127.0.0.1", 9));
        ClusterNode b = node("b", "https://b.example.org/sfu", SECRET, pb, rb, new SimpleMeterRegistry(),
                new ClusterConfig.Peer("a", "127.0.0.1", pa));
        waitUntil("both up", () -> ra.up.contains("b") && rb.up.contains("a"));
        waitUntil("a round trip measured", () -> info(a, "b").rttMs() > 0);
        List<ClusterNode.PeerInfo> peers = a.peers();
        assertEquals(List.of("b", "c"), peers.stream().map(ClusterNode.PeerInfo::id).toList(), "sorted, all known");
        ClusterNode.PeerInfo pbInfo = peers.get(0);
        assertEquals("region-b", pbInfo.region());
        assertEquals("https://b.example.org/sfu", pbInfo.publicUrl());
        assertTrue(pbInfo.up());
        assertEquals(new ClusterNode.PeerInfo("c", "", "", false, -1), peers.get(1), "never heard of");
        assertThrows(UnsupportedOperationException.class, () -> peers.add(pbInfo));
        ClusterNode.PeerInfo paInfo = info(b, "a");
        assertEquals("http://127.0.0.1:7881", paInfo.publicUrl(), "the acceptor hears the dialer's URL too");
        assertEquals("region-a", paInfo.region());
        assertEquals("http://127.0.0.1:7881", b.publicUrl("a"));

        b.close();
        waitUntil("b down", () -> !info(a, "b").up());
        ClusterNode.PeerInfo down = info(a, "b");
        assertEquals(-1, down.rttMs());
        assertEquals("https://b.example.org/sfu", down.publicUrl(), "the last announcement is kept while down");
    }

    @Test
    void peersAddedAtRunTimeAreDialledAndAcceptedAndRemovedOnesAreNot() throws Exception {
        int pa = freePort();
        int pb = freePort();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        SimpleMeterRegistry regB = new SimpleMeterRegistry();
        ClusterNode a = node("a", SECRET, pa, ra, new SimpleMeterRegistry());
        ClusterNode b = node("b", SECRET, pb, rb, regB);
        assertTrue(a.peers().isEmpty());
        // a (lower id) dials as soon as it knows b; b refuses it until it knows a.
        assertTrue(a.addPeer(new ClusterConfig.Peer("b", "127.0.0.1", pb)));
        assertFalse(a.addPeer(new ClusterConfig.Peer("b", "127.0.0.1", pb)), "the same again changes nothing");
        waitUntil("b refused the unknown a", () -> regB.find("sfu.cascade.auth.failures")
                .tag("reason", "unknown_node").counter() != null);
        assertTrue(ra.up.isEmpty());
        assertTrue(b.addPeer(new ClusterConfig.Peer("a", "127.0.0.1", pa)));
        waitUntil("both up once both know", () -> ra.up.contains("b") && rb.up.contains("a"));
        assertTrue(a.send("b", JsonNodeFactory.instance.objectNode().put("type", "n")));
        waitUntil("a message", () -> rb.messages.size() == 1);

        // Removed while up: the channel stays (calls go on) until it closes; then it is not redialled.
        assertTrue(a.removePeer("b"));
        assertFalse(a.removePeer("b"));
        Thread.sleep(300);
        assertTrue(a.upPeers().contains("b"), "not cut off");
        assertTrue(info(a, "b").up(), "still listed while up");
        b.close();
        waitUntil("b down", () -> !ra.up.contains("b"));
        assertTrue(a.peers().isEmpty(), "forgotten once down");
        Recorder rb2 = new Recorder();
        ClusterNode b2 = node("b", SECRET, pb, rb2, new SimpleMeterRegistry(), new ClusterConfig.Peer("a", "127.0.0.1", pa));
        Thread.sleep(2 * ClusterNode.BACKOFF_MIN_MS + 500);
        assertTrue(ra.up.isEmpty() && rb2.up.isEmpty(), "a removed peer is not redialled");
        // b2 cannot dial a (a sorts lower and has forgotten b): added again, a dials it.
        a.addPeer(new ClusterConfig.Peer("b", "127.0.0.1", pb));
        waitUntil("up again", () -> ra.up.contains("b") && rb2.up.contains("a"));
        assertTrue(b2.removePeer("a"));
    }

    @Test
    void aPeerAddedWithANewAddressIsDialledThere() throws Exception {
        int pa = freePort();
        int pb = freePort();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        ClusterNode a = node("a", SECRET, pa, ra, new SimpleMeterRegistry(),
                new ClusterConfig.Peer("b", "127.0.0.1", freePort())); // nothing listens there
        node("b", SECRET, pb, rb, new SimpleMeterRegistry(), new ClusterConfig.Peer("a", "127.0.0.1", pa));
        Thread.sleep(700);
        assertTrue(ra.up.isEmpty());
        assertTrue(a.addPeer(new ClusterConfig.Peer("b", "127.0.0.1", pb)));
        waitUntil("up at the new address", () -> ra.up.contains("b") && rb.up.contains("a"));
    }

    @Test
    void addPeerRefusesItselfAndBadIds() throws Exception {
        ClusterNode a = node("a", SECRET, freePort(), new Recorder(), new SimpleMeterRegistry());
        assertThrows(IllegalArgumentException.class, () -> a.addPeer(new ClusterConfig.Peer("a", "127.0.0.1", 1)));
        assertThrows(IllegalArgumentException.class, () -> a.addPeer(new ClusterConfig.Peer("a b", "127.0.0.1", 1)));
        assertThrows(IllegalArgumentException.class, () -> a.addPeer(new ClusterConfig.Peer("b", "127.0.0.1", 0)));
        assertThrows(IllegalArgumentException.class, () -> a.addPeer(new ClusterConfig.Peer("b", "", 1)));
        assertTrue(a.peers().isEmpty());
    }

    /**
     * A relay between a and b that rewrites the region in a's plain-text hello: the proofs cover what both
     * announced, so the handshake fails and nothing comes up.
     */
    @Test
    void anAnnouncementRewrittenOnTheWayBreaksTheHandshake() throws Exception {
        int pa = freePort();
        int pb = freePort();
        SimpleMeterRegistry regA = new SimpleMeterRegistry();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        try (ServerSocket relay = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> relay(relay, pb, "region-a", "region-x"), "test-relay");
            t.setDaemon(true);
            t.start();
            node("b", SECRET, pb, rb, new SimpleMeterRegistry(), new ClusterConfig.Peer("a", "127.0.0.1", pa));
            node("a", SECRET, pa, ra, regA, new ClusterConfig.Peer("b", "127.0.0.1", relay.getLocalPort()));
            waitUntil("a refused b's challenge", () -> regA.find("sfu.cascade.auth.failures")
                    .tag("reason", "bad_proof").counter() != null);
            assertTrue(ra.up.isEmpty() && rb.up.isEmpty(), "no one came up");
        }
    }

    /** Accepts connections on {@code relay} and forwards them to {@code port}, replacing {@code from} by {@code to}. */
    private static void relay(ServerSocket relay, int port, String from, String to) {
        while (!relay.isClosed()) {
            Socket in;
            try {
                in = relay.accept();
            } catch (Exception e) {
                return; // closed
            }
            try {
                Socket out = new Socket("127.0.0.1", port);
                pump(in, out, from, to);
                pump(out, in, null, null);
            } catch (Exception e) {
                try {
                    in.close();
                } catch (Exception ignored) {
                    // closing
                }
            }
        }
    }

    private static void pump(Socket from, Socket to, String find, String replace) {
        Thread t = new Thread(() -> {
            try (from; to) {
                InputStream i = from.getInputStream();
                OutputStream o = to.getOutputStream();
                byte[] buf = new byte[8192];
                int n;
                while ((n = i.read(buf)) > 0) {
                    byte[] chunk = java.util.Arrays.copyOf(buf, n);
                    if (find != null) {
                        // Same length: the frame's length prefix still holds. ISO-8859-1 maps bytes 1:1.
                        chunk = new String(chunk, StandardCharsets.ISO_8859_1).replace(find, replace)
                                .getBytes(StandardCharsets.ISO_8859_1);
                    }
                    o.write(chunk);
                    o.flush();
                }
            } catch (Exception e) {
                // closed
            }
        }, "test-pump");
        t.setDaemon(true);
        t.start();
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
        for (String bad : List.of("ftp://h", "http://", "h:7881", "http://u:p@h/", "http://h/?q=1", "http://h/#f",
                "http://h/ x", "http://" + "h".repeat(300))) {
            assertThrows(IllegalArgumentException.class,
                    () -> new ClusterConfig("a", "", SECRET, "127.0.0.1", 0, List.of(), bad), bad);
        }
        for (String good : List.of("", "http://203.0.113.7:7881", "https://sfu.example.org", "HTTPS://h:1/sfu/",
                "http://[2001:db8::1]:7881")) {
            assertEquals(good, new ClusterConfig("a", "", SECRET, "127.0.0.1", 0, List.of(), good).publicUrl());
        }
    }
}
