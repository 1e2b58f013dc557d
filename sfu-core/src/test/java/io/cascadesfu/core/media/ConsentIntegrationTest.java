package io.cascadesfu.core.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.testing.MediaHarness;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Consent freshness (RFC 7675) and DTLS fingerprint checks against a real node. */
class ConsentIntegrationTest {
    MediaHarness h;

    @AfterEach
    void stop() {
        h.close();
    }

    private MediaPeer peer(Router router, WebRtcTransport t, BlockingQueue<String> closed) {
        MediaPeer peer = router.addPeer(t.id(), t);
        peer.setListener(new PeerListener() {
            @Override
            public void onPeerConnected(MediaPeer p) {
            }

            @Override
            public void onPeerClosed(MediaPeer p, String reason) {
                closed.add(reason);
            }
        });
        return peer;
    }

    /** A transport on the harness' worker, peer of a new router; its close reasons go to {@code closed}. */
    private WebRtcTransport transportOnARouter(BlockingQueue<String> closed) {
        return h.onLoop(() -> {
            WebRtcTransport x = h.worker.createWebRtcTransport("a");
            peer(new Router("r", h.worker.loop(), h.metrics), x, closed);
            return x;
        });
    }

    /** A client checking consent every 300 ms, connected to {@code t}. */
    private RtcClient connectedClient(WebRtcTransport t) throws Exception {
        RtcClient client = h.newClient(new RtcClient.Listener() { }).consentInterval(Duration.ofMillis(300));
        h.connect(client, t);
        client.connected().get(10, TimeUnit.SECONDS);
        return client;
    }

    @Test
    void disconnectsAClientWhoseConsentChecksStop() throws Exception {
        h = new MediaHarness(Duration.ofSeconds(2));
        BlockingQueue<String> closed = new LinkedBlockingQueue<>();
        WebRtcTransport t = transportOnARouter(closed);
        RtcClient client = connectedClient(t);
        assertNull(closed.poll(3, TimeUnit.SECONDS), "a client sending consent checks must stay");
        client.pauseConsent(true);
        String reason = closed.poll(6, TimeUnit.SECONDS);
        assertNotNull(reason, "transport not closed after consent stopped");
        assertTrue(reason.contains("consent"), reason);
        assertEquals(0, (int) h.onLoop(() -> h.engine.transportCount()));
    }

    @Test
    void keepsAClientThatSendsNoConsentChecksButAuthenticatedMediaOrIndications() throws Exception {
        h = new MediaHarness(Duration.ofSeconds(2));
        BlockingQueue<String> closed = new LinkedBlockingQueue<>();
        WebRtcTransport t = transportOnARouter(closed);
        RtcClient client = connectedClient(t);
        client.pauseConsent(true); // like GStreamer's webrtcbin: no RFC 7675 checks
        // 3 s of SRTCP (a receiver report every 200 ms), then 3 s of Binding indications: more than the 2 s timeout each.
        for (int i = 0; i < 15; i++) {
            ByteBuf rr = Unpooled.buffer(64);
            io.cascadesfu.core.rtcp.RtcpWriter.finishReport(rr, io.cascadesfu.core.rtcp.RtcpWriter.writeReceiverReport(rr, 0x1234), 0);
            client.sendRtcp(rr);
            assertNull(closed.poll(200, TimeUnit.MILLISECONDS), "closed while authenticated media arrived");
        }
        byte[] indication = {0x00, 0x11, 0x00, 0x00, 0x21, 0x12, (byte) 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        for (int i = 0; i < 15; i++) {
            client.sendRaw(Unpooled.wrappedBuffer(indication.clone()));
            assertNull(closed.poll(200, TimeUnit.MILLISECONDS), "closed while indications arrived");
        }
        // Silence (no checks, no media, no indications): consent runs out as before.
        String reason = closed.poll(6, TimeUnit.SECONDS);
        assertNotNull(reason, "a silent client is still dropped");
        assertTrue(reason.contains("consent"), reason);
    }

    @Test
    void endsTheHandshakeWhenTheCertificateDoesNotMatchTheFingerprint() throws Exception {
        h = new MediaHarness();
        BlockingQueue<String> closed = new LinkedBlockingQueue<>();
        WebRtcTransport t = transportOnARouter(closed);
        RtcClient client = h.newClient(new RtcClient.Listener() { });
        h.onLoop(() -> t.setRemoteParameters(client.localCredentials().ufrag(), client.localCredentials().pwd(),
                "sha-256", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"));
        client.connect(new RtcClient.Remote(h.engine.candidates().get(0), t.localCredentials().ufrag(),
                t.localCredentials().pwd(), "sha-256", h.engine.fingerprintSha256()));
        String reason = closed.poll(10, TimeUnit.SECONDS);
        assertNotNull(reason, "transport not closed after a bad certificate");
        assertTrue(reason.contains("dtls"), reason);
        try {
            client.connected().get(5, TimeUnit.SECONDS);
            throw new AssertionError("client must not connect");
        } catch (ExecutionException expected) {
            // the handshake failed on the client side too
        } catch (java.util.concurrent.TimeoutException alsoFine) {
            // the node dropped it; the client never completed
        }
        assertTrue(h.metrics.registry().get("sfu.dtls.handshakes").tag("result", "failure").counter().count() >= 1);
    }
}
