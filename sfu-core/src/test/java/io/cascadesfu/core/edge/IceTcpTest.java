package io.cascadesfu.core.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.MediaPeer;
import io.cascadesfu.core.media.Producer;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.Router;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;

import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.stun.Stun;
import io.cascadesfu.core.testing.MediaHarness;
import io.cascadesfu.core.transport.UfragDirectory;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ICE over TCP (RFC 6544 passive candidates, RFC 4571 framing) against a real node: real TCP connections, ICE checks,
 * DTLS and SRTP over the framed stream, and what the edge does with connections that are not ICE.
 */
class IceTcpTest {
    static final long PUB_SSRC = 0x1111_1111L;
    static final long SUB_SSRC = 0x2222_2222L;

    MediaHarness h;
    TcpEdge standalone;

    @AfterEach
    void stop() {
        if (h != null) {
            h.close();
        }
        if (standalone != null) {
            standalone.close();
        }
    }

    @Test
    void carriesRtpBothWaysAndRtcpOverTcpConnections() throws Exception {
        h = MediaHarness.withIceTcp();
        Router[] router = new Router[1];
        WebRtcTransport[] t = new WebRtcTransport[2];
        h.onLoop(() -> {
            router[0] = new Router("room", h.worker.loop(), h.metrics);
            t[0] = h.worker.createWebRtcTransport("pub");
            t[1] = h.worker.createWebRtcTransport("sub");
            MediaPeer pub = router[0].addPeer("pub", t[0]);
            MediaPeer sub = router[0].addPeer("sub", t[1]);
            Producer producer = router[0].produce("track", pub,
                    new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, 96, 90000, PUB_SSRC, 0));
            router[0].consume(sub, producer, new ConsumerParams(SUB_SSRC, 100, new byte[256]));
        });
        BlockingQueue<Integer> subscriberSeqs = new LinkedBlockingQueue<>();
        BlockingQueue<Integer> publisherRtcpTypes = new LinkedBlockingQueue<>();
        RtcClient publisher = h.newTcpClient(new RtcClient.Listener() {
            @Override
            public void onRtcp(RtcClient c, ByteBuf packet, long nowNs) {
                publisherRtcpTypes.add((int) packet.getUnsignedByte(packet.readerIndex() + 1));
            }
        });
        RtcClient subscriber = h.newTcpClient(new RtcClient.Listener() {
            @Override
            public void onRtp(RtcClient c, ByteBuf p, long nowNs) {
                if (RtpPacket.ssrc(p) == SUB_SSRC) {
                    subscriberSeqs.add(RtpPacket.sequenceNumber(p));
                }
            }
        });
        h.connect(publisher, t[0]);
        h.connect(subscriber, t[1]);
        publisher.connected().get(10, TimeUnit.SECONDS);
        subscriber.connected().get(10, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!h.onLoop(() -> t[0].isConnected() && t[1].isConnected())) {
            assertTrue(System.nanoTime() < deadline, "node side of the transports did not connect");
            Thread.sleep(10);
        }
        assertTrue(h.onLoop(() -> t[0].isOnTcp() && t[1].isOnTcp()), "both transports' selected paths are TCP");

        for (int i = 0; i < 20; i++) {
            publisher.sendRtp(vp8Packet(1000 + i, 3000L * i, i == 0));
        }
        for (int i = 0; i < 20; i++) {
            assertNotNull(subscriberSeqs.poll(5, TimeUnit.SECONDS), "packet " + i + " not forwarded over TCP");
        }
        // The router's receiver report to the publisher (every second) comes back over the publisher's connection.
        Integer type = publisherRtcpTypes.poll(5, TimeUnit.SECONDS);
        assertNotNull(type, "no RTCP to the publisher over TCP");
        assertEquals(0, h.metrics.dropped(DropReason.TCP_REJECTED));
        assertEquals(0, h.metrics.dropped(DropReason.TCP_FRAME_INVALID));
        assertEquals(0, (int) h.onLoop(() -> (int) h.metrics.dropped(DropReason.SRTP_AUTH_FAIL)));
        h.onLoop(router[0]::close);
    }

    @Test
    void movesAConnectionToTheWorkerThatOwnsItsTransport() throws Exception {
        h = new MediaHarness(new io.cascadesfu.core.MediaConfig("127.0.0.1", 0, java.util.List.of(),
                Duration.ofSeconds(30), Duration.ofSeconds(5))
                .withWorkers(2, io.cascadesfu.core.MediaConfig.Placement.DEFAULT)
                .withTcpPort(MediaHarness.freeTcpPort()));
        io.cascadesfu.core.worker.MediaWorker second = h.engine.worker(1);
        // Assertions are on: every entry point of the transport checks it runs on worker 1's loop.
        WebRtcTransport t = second.loop().submit(() -> second.createWebRtcTransport("on-1")).get(5, TimeUnit.SECONDS);
        RtcClient client = h.newTcpClient(new RtcClient.Listener() { });
        second.loop().submit(() -> t.setRemoteParameters(client.localCredentials().ufrag(),
                client.localCredentials().pwd(), "sha-256", client.localFingerprint())).get(5, TimeUnit.SECONDS);
        client.connect(new RtcClient.Remote(h.engine.tcpAddress(), t.localCredentials().ufrag(),
                t.localCredentials().pwd(), "sha-256", h.engine.fingerprintSha256()));
        client.connected().get(10, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!second.loop().submit(() -> t.isConnected() && t.isOnTcp()).get(5, TimeUnit.SECONDS)) {
            assertTrue(System.nanoTime() < deadline, "transport on worker 1 not connected over TCP");
            Thread.sleep(10);
        }
        assertEquals(0, h.metrics.dropped(DropReason.TCP_REJECTED));
    }

    @Test
    void closesAnEstablishedConnectionOnAFrameOfNoKnownProtocolAndTheTransportLosesThePath() throws Exception {
        h = MediaHarness.withIceTcp();
        WebRtcTransport t = h.onLoop(() -> h.worker.createWebRtcTransport("a"));
        RtcClient client = h.newTcpClient(new RtcClient.Listener() { });
        h.onLoop(() -> t.setRemoteParameters(client.localCredentials().ufrag(), client.localCredentials().pwd(),
                "sha-256", client.localFingerprint()));
        client.connect(new RtcClient.Remote(h.engine.tcpAddress(), t.localCredentials().ufrag(),
                t.localCredentials().pwd(), "sha-256", h.engine.fingerprintSha256()));
        client.connected().get(10, TimeUnit.SECONDS);
        assertTrue(h.onLoop(t::isOnTcp));

        client.sendRaw(Unpooled.wrappedBuffer(new byte[]{(byte) 0xFF, 1, 2, 3})); // first byte 255: none of RFC 7983's
        awaitCount(h.metrics, DropReason.TCP_REJECTED, 1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (h.onLoop(t::isOnTcp)) {
            assertTrue(System.nanoTime() < deadline, "transport still on the closed connection");
            Thread.sleep(10);
        }
        assertTrue(h.onLoop(() -> !t.isConnected() && !t.isClosed()), "no path, but the transport waits for another");
    }

    @Test
    void closesAConnectionWhoseFirstFrameIsNotAStunCheck() throws Exception {
        h = MediaHarness.withIceTcp();
        try (Socket s = dial(h.engine.tcpAddress())) {
            // A DTLS ClientHello-looking record where the first check should be.
            s.getOutputStream().write(frame(new byte[]{22, (byte) 0xFE, (byte) 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
            assertClosed(s);
        }
        awaitCount(h.metrics, DropReason.TCP_REJECTED, 1);
    }

    @Test
    void closesAConnectionWhoseFirstCheckNamesNoTransport() throws Exception {
        h = MediaHarness.withIceTcp();
        try (Socket s = dial(h.engine.tcpAddress())) {
            s.getOutputStream().write(frame(check("nobody:peer", "0123456789012345678901")));
            assertClosed(s);
        }
        awaitCount(h.metrics, DropReason.TCP_REJECTED, 1);
    }

    @Test
    void answersAFailedCheckThenClosesTheConnection() throws Exception {
        h = MediaHarness.withIceTcp();
        WebRtcTransport t = h.onLoop(() -> h.worker.createWebRtcTransport("a"));
        h.onLoop(() -> t.setRemoteParameters("peer", "peerpasswordpeerpassword", "sha-256",
                h.engine.fingerprintSha256()));
        try (Socket s = dial(h.engine.tcpAddress())) {
            s.getOutputStream().write(frame(check(t.localCredentials().ufrag() + ":peer", "not-the-local-password")));
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] response = new byte[in.readUnsignedShort()];
            in.readFully(response);
            assertEquals(0x0111, ((response[0] & 0xFF) << 8) | (response[1] & 0xFF), "a Binding error response");
            assertClosed(s);
        }
        awaitCount(h.metrics, DropReason.TCP_REJECTED, 1);
        assertTrue(h.onLoop(() -> !t.isOnTcp() && t.remoteAddress() == null));
    }

    @Test
    void closesAConnectionOnAFrameLongerThanTheLimit() throws Exception {
        h = MediaHarness.withIceTcp();
        try (Socket s = dial(h.engine.tcpAddress())) {
            s.getOutputStream().write(new byte[]{(byte) 0xFF, (byte) 0xFF, 1, 2, 3});
            assertClosed(s);
        }
        awaitCount(h.metrics, DropReason.TCP_FRAME_INVALID, 1);
    }

    @Test
    void closesAConnectionOnAZeroLengthFrame() throws Exception {
        h = MediaHarness.withIceTcp();
        try (Socket s = dial(h.engine.tcpAddress())) {
            s.getOutputStream().write(new byte[]{0, 0});
            assertClosed(s);
        }
        awaitCount(h.metrics, DropReason.TCP_FRAME_INVALID, 1);
    }

    @Test
    void closesAConnectionThatNeverSendsAStunCheck() throws Exception {
        SfuMetrics metrics = SfuMetrics.inMemory();
        standalone = TcpEdge.bind(new InetSocketAddress("127.0.0.1", 0), new UfragDirectory(), metrics,
                new TcpEdge.Limits(10, Duration.ofMillis(300), Duration.ofSeconds(5), 4096));
        try (Socket s = dial(standalone.localAddress())) {
            long start = System.nanoTime();
            assertClosed(s);
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(250), "closed before the timeout");
        }
        awaitCount(metrics, DropReason.TCP_TIMEOUT, 1);
    }

    @Test
    void closesConnectionsAboveTheCap() throws Exception {
        SfuMetrics metrics = SfuMetrics.inMemory();
        standalone = TcpEdge.bind(new InetSocketAddress("127.0.0.1", 0), new UfragDirectory(), metrics,
                new TcpEdge.Limits(1, Duration.ofSeconds(5), Duration.ofSeconds(5), 4096));
        try (Socket first = dial(standalone.localAddress())) {
            awaitConnections(standalone, 1);
            try (Socket second = dial(standalone.localAddress())) {
                assertClosed(second);
            }
            awaitCount(metrics, DropReason.TCP_CONNECTION_LIMIT, 1);
            first.setSoTimeout(300);
            // Nothing to read and not closed: the read times out.
            assertThrows(SocketTimeoutException.class, () -> first.getInputStream().read(), "first connection closed");
        }
    }

    // --- helpers ---

    static Socket dial(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.connect(address, 2000);
        s.setSoTimeout(3000);
        return s;
    }

    /** The peer closed (EOF or reset) within the socket's timeout; whatever it sent before is skipped. */
    static void assertClosed(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // skip
            }
        } catch (SocketException reset) {
            // closed with unread data: a reset is a close too
        } catch (SocketTimeoutException e) {
            throw new AssertionError("connection still open", e);
        }
    }

    static byte[] frame(byte[] packet) {
        byte[] framed = new byte[2 + packet.length];
        framed[0] = (byte) (packet.length >> 8);
        framed[1] = (byte) packet.length;
        System.arraycopy(packet, 0, framed, 2, packet.length);
        return framed;
    }

    static byte[] check(String username, String pwd) {
        ByteBuf out = Unpooled.buffer(256);
        try {
            Stun.writeBindingRequest(out, new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, username,
                    pwd.getBytes(StandardCharsets.UTF_8), 0x6E7F_00FFL, true, true, 42);
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }

    static void awaitCount(SfuMetrics metrics, DropReason reason, double atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (metrics.dropped(reason) < atLeast) {
            assertTrue(System.nanoTime() < deadline, reason + " not counted");
            Thread.sleep(10);
        }
    }

    static void awaitConnections(TcpEdge edge, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (edge.connectionCount() != n) {
            assertTrue(System.nanoTime() < deadline, "connections: " + edge.connectionCount());
            Thread.sleep(10);
        }
    }

    /** A VP8 packet: 12-byte header, a one-byte descriptor (S=1), payload header with the P bit, 200 bytes. */
    static ByteBuf vp8Packet(int seq, long ts, boolean keyframe) {
        ByteBuf b = Unpooled.buffer(256);
        b.writeByte(0x80);                   // V=2, P=0, X=0, CC=0
        b.writeByte(96);                     // M=0, PT
        b.writeShort(seq);
        b.writeInt((int) ts);
        b.writeInt((int) PUB_SSRC);
        b.writeByte(0x10);                   // VP8 descriptor: S=1, PID=0
        b.writeByte(keyframe ? 0x00 : 0x01); // VP8 payload header: P bit (0 = key frame)
        b.writeByte(0x00).writeByte(0x00);
        b.writeZero(200);
        return b;
    }
}
