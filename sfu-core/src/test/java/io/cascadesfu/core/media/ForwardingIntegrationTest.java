package io.cascadesfu.core.media;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.testing.MediaHarness;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One publisher and one subscriber through a real node on loopback: real UDP, ICE checks, DTLS
 * handshakes and SRTP on both legs.
 */
class ForwardingIntegrationTest {
    static final long PUB_SSRC = 0x1111_1111L;
    static final long SUB_SSRC = 0x2222_2222L;
    static final int PUB_PT = 96;
    static final int SUB_PT = 100;

    /** What a client received, copied out of the borrowed buffer. */
    record Received(long ssrc, int pt, int seq, long ts, byte[] payload, byte[] wholePacket) {
    }

    MediaHarness h;
    Router router;
    WebRtcTransport pubTransport;
    WebRtcTransport subTransport;
    MediaPeer pubPeer;
    MediaPeer subPeer;
    Producer producer;
    final BlockingQueue<Received> subscriberRtp = new LinkedBlockingQueue<>();
    final BlockingQueue<byte[]> publisherRtcp = new LinkedBlockingQueue<>();
    final BlockingQueue<byte[]> subscriberRtcp = new LinkedBlockingQueue<>();
    final BlockingQueue<String> closedPeers = new LinkedBlockingQueue<>();
    RtcClient publisher;
    RtcClient subscriber;

    void setUp(Duration consentTimeout) throws Exception {
        h = new MediaHarness(consentTimeout);
        h.onLoop(() -> {
            router = new Router("room", h.worker.loop(), h.metrics);
            pubTransport = h.worker.createWebRtcTransport("pub");
            subTransport = h.worker.createWebRtcTransport("sub");
            pubPeer = router.addPeer("pub", pubTransport);
            subPeer = router.addPeer("sub", subTransport);
            PeerListener recordClose = new PeerListener() {
                @Override
                public void onPeerConnected(MediaPeer peer) {
                }

                @Override
                public void onPeerClosed(MediaPeer peer, String reason) {
                    closedPeers.add(peer.id() + ": " + reason);
                }
            };
            pubPeer.setListener(recordClose);
            subPeer.setListener(recordClose);
            producer = router.produce("track", pubPeer,
                    new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, PUB_PT, 90000, PUB_SSRC, 0));
            byte[] ids = new byte[256];
            ids[3] = 5; // publisher's extension 3 is the subscriber's 5; every other id is removed
            router.consume(subPeer, producer, new ConsumerParams(SUB_SSRC, SUB_PT, ids));
        });
        publisher = h.newClient(new RtcClient.Listener() {
            @Override
            public void onRtcp(RtcClient c, ByteBuf packet, long nowNs) {
                publisherRtcp.add(ByteBufUtil.getBytes(packet));
            }
        });
        subscriber = h.newClient(new RtcClient.Listener() {
            @Override
            public void onRtp(RtcClient c, ByteBuf p, long nowNs) {
                int payloadOffset = RtpPacket.validate(p);
                byte[] payload = new byte[RtpPacket.payloadLength(p, payloadOffset)];
                p.getBytes(p.readerIndex() + payloadOffset, payload);
                subscriberRtp.add(new Received(RtpPacket.ssrc(p), RtpPacket.payloadType(p), RtpPacket.sequenceNumber(p),
                        RtpPacket.timestamp(p), payload, ByteBufUtil.getBytes(p)));
            }

            @Override
            public void onRtcp(RtcClient c, ByteBuf packet, long nowNs) {
                subscriberRtcp.add(ByteBufUtil.getBytes(packet));
            }
        });
        h.connect(publisher, pubTransport);
        h.connect(subscriber, subTransport);
        publisher.connected().get(10, TimeUnit.SECONDS);
        subscriber.connected().get(10, TimeUnit.SECONDS);
        // The client finishes DTLS when the node's last flight arrives; the node may still be a step behind.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!h.onLoop(() -> pubTransport.isConnected() && subTransport.isConnected())) {
            assertTrue(System.nanoTime() < deadline, "node side of the transports did not connect");
            Thread.sleep(10);
        }
    }

    @BeforeEach
    void start() throws Exception {
        setUp(Duration.ofSeconds(30));
    }

    @AfterEach
    void stop() {
        h.onLoop(router::close); // releases what the producers cached
        h.close();
    }

    /**
     * A VP8 RTP packet: 12-byte header, a one-byte-header extension block with ids 3 and 4, a
     * one-byte VP8 payload descriptor and a payload header whose P bit says key or delta frame.
     */
    static ByteBuf vp8Packet(int seq, long ts, boolean keyframe, int payloadBytes) {
        ByteBuf b = Unpooled.buffer(64 + payloadBytes);
        b.writeByte(0x90);                  // V=2, P=0, X=1, CC=0
        b.writeByte(PUB_PT);                // M=0, PT
        b.writeShort(seq);
        b.writeInt((int) ts);
        b.writeInt((int) PUB_SSRC);
        b.writeShort(0xBEDE).writeShort(2); // one-byte extensions, 2 words
        b.writeByte(0x30).writeByte(0x7F);  // id 3, len 1: 0x7F
        b.writeByte(0x41).writeShort(0x0102); // id 4, len 2
        b.writeByte(0x00).writeByte(0x00).writeByte(0x00); // padding to the word
        b.writeByte(0x10);                  // VP8 descriptor: S=1, PID=0
        b.writeByte(keyframe ? 0x00 : 0x01); // VP8 payload header: P bit (0 = key frame)
        b.writeByte(0x00).writeByte(0x00);
        for (int i = 0; i < payloadBytes; i++) {
            b.writeByte((seq + i) & 0xFF);
        }
        return b;
    }

    @Test
    void forwardsRewrittenPacketsAcrossSequenceWrap() throws Exception {
        int first = 65530;
        for (int i = 0; i < 12; i++) {
            publisher.sendRtp(vp8Packet((first + i) & 0xFFFF, 1000L + 3000L * i, i == 0, 900));
        }
        Received previous = null;
        for (int i = 0; i < 12; i++) {
            Received r = subscriberRtp.poll(5, TimeUnit.SECONDS);
            assertNotNull(r, "packet " + i + " not forwarded");
            assertEquals(SUB_SSRC, r.ssrc());
            assertEquals(SUB_PT, r.pt());
            ByteBuf expected = vp8Packet((first + i) & 0xFFFF, 0, i == 0, 900);
            byte[] expectedPayload = new byte[4 + 900];
            expected.getBytes(24, expectedPayload); // 12 header + 4 extension header + 8 extension data
            expected.release();
            assertArrayEquals(expectedPayload, r.payload(), "payload of packet " + i);
            // Extension 3 became 5 (0x50 | len-1), extension 4 was blanked to padding.
            assertEquals(0x50, r.wholePacket()[16] & 0xFF);
            assertEquals(0x7F, r.wholePacket()[17] & 0xFF);
            assertEquals(0, r.wholePacket()[18]);
            if (previous != null) {
                assertEquals((previous.seq() + 1) & 0xFFFF, r.seq(), "sequence continuous across the wrap");
                assertEquals((previous.ts() + 3000) & 0xFFFF_FFFFL, r.ts());
            }
            previous = r;
        }
    }

    @Test
    void holdsVideoUntilKeyframeAndAsksThePublisherForOne() throws Exception {
        // Delta frames keep coming, as from a camera, until the node's request arrives (requests are
        // rate limited, and one made while the publisher's DTLS was still finishing may be lost).
        byte[] pli = null;
        for (int i = 0; i < 20 && pli == null; i++) {
            publisher.sendRtp(vp8Packet(10 + i, 3000L * i, false, 100));
            pli = pollRtcp(publisherRtcp, RtcpPacket.PSFB, 1, 100);
        }
        assertNotNull(pli, "publisher got no PLI while the subscriber waited for a keyframe");
        assertEquals(PUB_SSRC, Unpooled.wrappedBuffer(pli).getUnsignedInt(8), "PLI names the publisher's SSRC");
        assertTrue(subscriberRtp.isEmpty(), "delta frames must not reach a subscriber waiting for a keyframe");
        publisher.sendRtp(vp8Packet(40, 3000L * 40, true, 100));
        Received r = subscriberRtp.poll(5, TimeUnit.SECONDS);
        assertNotNull(r);
        assertEquals(0, Unpooled.wrappedBuffer(r.payload()).getByte(1) & 1, "first packet forwarded is the keyframe");
    }

    @Test
    void routesSubscriberPliToPublisherWithItsSsrc() throws Exception {
        publisher.sendRtp(vp8Packet(1, 0, true, 100));
        assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS));
        Thread.sleep(350); // past the keyframe request rate limit
        publisherRtcp.clear();
        ByteBuf pli = Unpooled.buffer(64);
        RtcpWriter.writePli(pli, 0xABCDEFL, SUB_SSRC);
        subscriber.sendRtcp(pli);
        byte[] got = pollRtcp(publisherRtcp, RtcpPacket.PSFB, 1);
        assertNotNull(got, "PLI not routed upstream");
        assertEquals(PUB_SSRC, Unpooled.wrappedBuffer(got).getUnsignedInt(8));
    }

    @Test
    void sendsReceiverReportsToPublisherAndSenderReportsToSubscriber() throws Exception {
        for (int i = 0; i < 20; i++) {
            publisher.sendRtp(vp8Packet(100 + i, 90L * i, i == 0, 200));
        }
        ByteBuf sr = Unpooled.buffer(64);
        RtcpWriter.writeSenderReport(sr, PUB_SSRC, io.cascadesfu.core.rtcp.NtpTime.fromUnixNanos(
                System.currentTimeMillis() * 1_000_000L), 90L * 19, 20, 4000);
        publisher.sendRtcp(sr);
        byte[] rr = pollRtcp(publisherRtcp, RtcpPacket.RR, -1);
        assertNotNull(rr, "no receiver report");
        ByteBuf rrBuf = Unpooled.wrappedBuffer(rr);
        assertTrue((rrBuf.getByte(0) & 0x1F) >= 1, "RR carries a report block");
        assertEquals(PUB_SSRC, rrBuf.getUnsignedInt(8), "report block is about the publisher's stream");
        byte[] srOut = pollRtcp(subscriberRtcp, RtcpPacket.SR, -1);
        assertNotNull(srOut, "no sender report to the subscriber");
        ByteBuf srBuf = Unpooled.wrappedBuffer(srOut);
        assertEquals(SUB_SSRC, srBuf.getUnsignedInt(4));
        assertEquals(20, srBuf.getUnsignedInt(20), "packet count");
    }

    @Test
    void garbageFromKnownAndUnknownAddressesDoesNotDisturbTheCall() throws Exception {
        publisher.sendRtp(vp8Packet(1, 0, true, 100));
        assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS));
        Random random = new Random(7);
        InetSocketAddress node = h.engine.candidates().get(0);
        try (DatagramSocket stranger = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            int[] firstBytes = {0x00, 0x01, 0x16, 0x17, 0x80, 0x90, 0xC8, 0xFF, 0x40};
            for (int i = 0; i < 900; i++) {
                byte[] junk = new byte[1 + random.nextInt(300)];
                random.nextBytes(junk);
                junk[0] = (byte) firstBytes[i % firstBytes.length];
                if (i % 2 == 0) {
                    stranger.send(new DatagramPacket(junk, junk.length, node));
                } else {
                    publisher.sendRaw(Unpooled.wrappedBuffer(junk)); // from the validated address
                }
            }
        }
        for (int i = 0; i < 10; i++) {
            publisher.sendRtp(vp8Packet(2 + i, 3000L * (i + 1), false, 100));
        }
        for (int i = 0; i < 10; i++) {
            assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS), "packet " + i + " after the garbage");
        }
        assertTrue(h.metrics.dropped(DropReason.UNKNOWN_ADDRESS) > 0);
        assertTrue(h.metrics.dropped(DropReason.SRTP_AUTH_FAIL) + h.metrics.dropped(DropReason.SRTP_INVALID) > 0);
        assertTrue(h.metrics.dropped(DropReason.STUN_MALFORMED) + h.metrics.dropped(DropReason.STUN_UNAUTHORIZED) > 0);
        assertTrue(h.onLoop(() -> !pubTransport.isClosed() && !subTransport.isClosed()));
    }

    @Test
    void followsAClientWhoseAddressChanges() throws Exception {
        publisher.sendRtp(vp8Packet(1, 0, true, 100));
        assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS));
        publisher.rebind();
        InetSocketAddress moved = publisher.localAddress();
        // A fresh check nominates the new address; the node moves there once authenticated SRTP comes from it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        int seq = 2;
        while (!moved.equals(h.onLoop(() -> pubTransport.remoteAddress())) && System.nanoTime() < deadline) {
            publisher.sendRtp(vp8Packet(seq, 3000L * seq, false, 100));
            seq++;
            Thread.sleep(50);
        }
        assertEquals(moved, h.onLoop(() -> pubTransport.remoteAddress()));
        assertEquals(1.0, h.metrics.addressSwitches(), "the switch is counted");
        subscriberRtp.clear();
        for (int i = 0; i < 5; i++) {
            publisher.sendRtp(vp8Packet(seq + i, 3000L * (seq + i), false, 100));
        }
        for (int i = 0; i < 5; i++) {
            assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS), "packet " + i + " from the new address");
        }
        // RTCP to the publisher goes to its new address too.
        publisherRtcp.clear();
        assertNotNull(pollRtcp(publisherRtcp, RtcpPacket.RR, -1));
    }

    @Test
    void aCapturedCheckReplayedFromAnotherAddressDoesNotMoveTheMedia() throws Exception {
        publisher.sendRtp(vp8Packet(1, 0, true, 100));
        assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS));
        InetSocketAddress legit = h.onLoop(() -> pubTransport.remoteAddress());
        // A valid nominating check, as the client sends it (and an attacker on the path captures it).
        byte[] txid = new byte[12];
        new Random(7).nextBytes(txid);
        String username = h.onLoop(() -> pubTransport.localCredentials().ufrag()) + ":"
                + publisher.localCredentials().ufrag();
        byte[] key = h.onLoop(() -> pubTransport.localCredentials().pwd()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuf check = Unpooled.buffer(256);
        io.cascadesfu.core.stun.Stun.writeBindingRequest(check, txid, username, key, 0x7E7F_00FFL, true, true, 42L);
        byte[] captured = ByteBufUtil.getBytes(check);
        check.release();
        publisher.sendRaw(Unpooled.wrappedBuffer(captured));
        Thread.sleep(100);
        double replayedBefore = h.metrics.dropped(DropReason.STUN_REPLAYED);
        InetSocketAddress node = h.engine.candidates().get(0);
        try (DatagramSocket attacker = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            attacker.setSoTimeout(300);
            for (int i = 0; i < 3; i++) {
                attacker.send(new DatagramPacket(captured, captured.length, node));
            }
            // The attacker also replays SRTP it captured: nothing it sends is fresh.
            publisher.sendRtp(vp8Packet(2, 3000, false, 100));
            assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS));
            byte[] buf = new byte[2048];
            DatagramPacket got = new DatagramPacket(buf, buf.length);
            boolean received;
            try {
                attacker.receive(got);
                received = true;
            } catch (java.net.SocketTimeoutException e) {
                received = false;
            }
            assertTrue(!received, "the replaying address gets neither a response nor media");
        }
        assertTrue(h.metrics.dropped(DropReason.STUN_REPLAYED) >= replayedBefore + 3, "replays are counted");
        assertEquals(legit, h.onLoop(() -> pubTransport.remoteAddress()), "media stays with the client");
        assertEquals(0.0, h.metrics.addressSwitches());
        publisherRtcp.clear();
        assertNotNull(pollRtcp(publisherRtcp, RtcpPacket.RR, -1), "the client still gets its reports");
    }

    @Test
    void answersASubscribersNackFromItsCacheOverSrtp() throws Exception {
        publisher.sendRtp(vp8Packet(500, 0, true, 300));
        Received first = subscriberRtp.poll(5, TimeUnit.SECONDS);
        assertNotNull(first);
        int lostSeq = (first.seq() + 2) & 0xFFFF; // the subscriber's numbering of the third packet
        subscriber.dropNextIncoming(lostSeq);
        for (int i = 1; i < 6; i++) {
            publisher.sendRtp(vp8Packet(500 + i, 3000L * i, false, 300));
        }
        for (int i = 1; i < 5; i++) {
            Received r = subscriberRtp.poll(5, TimeUnit.SECONDS);
            assertNotNull(r, "packet " + i);
            assertTrue(r.seq() != lostSeq, "the lost one did not arrive");
        }
        ByteBuf nack = Unpooled.buffer(16);
        RtcpWriter.writeNack(nack, 0x4242, SUB_SSRC, lostSeq, 0);
        subscriber.sendRtcp(nack);
        Received again = subscriberRtp.poll(5, TimeUnit.SECONDS);
        assertNotNull(again, "the NACKed packet is sent again");
        assertEquals(lostSeq, again.seq());
        assertEquals(SUB_SSRC, again.ssrc());
        assertEquals(SUB_PT, again.pt());
        assertEquals(first.ts() + 6000, again.ts(), "its timestamp as first sent");
        assertEquals(1.0, h.metrics.retransmittedCount());
    }

    @Test
    void keepsTheSessionAcrossAnIceRestart() throws Exception {
        publisher.sendRtp(vp8Packet(1, 0, true, 100));
        assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS));
        String oldUfrag = h.onLoop(() -> pubTransport.localCredentials().ufrag());
        h.onLoop(() -> pubTransport.restartIce(io.cascadesfu.core.ice.IceCredentials.random()));
        String newUfrag = h.onLoop(() -> pubTransport.localCredentials().ufrag());
        assertTrue(!oldUfrag.equals(newUfrag), "new credentials after the restart");
        double refusedBefore = h.metrics.dropped(DropReason.STUN_UNAUTHORIZED);
        publisher.restartIce(oldUfrag, "stale-password-of-24-chars"); // a check with the old ufrag: refused
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (h.metrics.dropped(DropReason.STUN_UNAUTHORIZED) == refusedBefore && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(h.metrics.dropped(DropReason.STUN_UNAUTHORIZED) > refusedBefore, "old credentials must not pass");
        publisher.restartIce(newUfrag, h.onLoop(() -> pubTransport.localCredentials().pwd()));
        for (int i = 0; i < 5; i++) {
            publisher.sendRtp(vp8Packet(2 + i, 3000L * (i + 1), false, 100));
        }
        for (int i = 0; i < 5; i++) {
            assertNotNull(subscriberRtp.poll(5, TimeUnit.SECONDS), "packet " + i + " after the restart");
        }
        assertTrue(h.onLoop(() -> pubTransport.isConnected()));
    }

    @Test
    void bindsAnUnsignaledSsrcToItsTrackByTheMidHeaderExtension() throws Exception {
        long audioSsrc = 0x3333_3333L;
        long subAudioSsrc = 0x4444_4444L;
        h.onLoop(() -> {
            // A track whose SDP had no a=ssrc (simulcast offers, Firefox): its mid is "a1", carried in extension 9.
            Producer audio = router.produce("audio", pubPeer,
                    new ProducerParams("a1", TrackKind.AUDIO, Codec.OPUS, 111, 48000, -1, 9));
            router.consume(subPeer, audio, new ConsumerParams(subAudioSsrc, 111, new byte[256]));
        });
        ByteBuf p = Unpooled.buffer(64);
        p.writeByte(0x90).writeByte(111).writeShort(7).writeInt(960).writeInt((int) audioSsrc);
        p.writeShort(0xBEDE).writeShort(1);
        p.writeByte(0x91).writeByte('a').writeByte('1').writeByte(0); // id 9, len 2: "a1", then padding
        p.writeBytes(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        publisher.sendRtp(p);
        Received r = subscriberRtp.poll(5, TimeUnit.SECONDS);
        assertNotNull(r, "packet of the unsignaled SSRC not forwarded");
        assertEquals(subAudioSsrc, r.ssrc());
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, r.payload());
        assertEquals(audioSsrc, (long) h.onLoop(() -> router.producer("audio").ssrc()));
        // An SSRC that names no track is dropped and counted.
        ByteBuf stray = Unpooled.buffer(32);
        stray.writeByte(0x80).writeByte(111).writeShort(1).writeInt(0).writeInt(0x5555_5555).writeLong(42);
        double before = h.metrics.dropped(DropReason.UNKNOWN_SSRC);
        publisher.sendRtp(stray);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (h.metrics.dropped(DropReason.UNKNOWN_SSRC) == before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(before + 1, h.metrics.dropped(DropReason.UNKNOWN_SSRC));
    }

    /** Waits for an RTCP compound whose first packet has the type (and FMT, unless -1). */
    static byte[] pollRtcp(BlockingQueue<byte[]> queue, int type, int fmt) throws InterruptedException {
        return pollRtcp(queue, type, fmt, 5000);
    }

    static byte[] pollRtcp(BlockingQueue<byte[]> queue, int type, int fmt, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < deadline) {
            byte[] p = queue.poll(20, TimeUnit.MILLISECONDS);
            if (p == null) {
                continue;
            }
            ByteBuf b = Unpooled.wrappedBuffer(p);
            int off = 0;
            while (off + 4 <= p.length) {
                int len = RtcpPacket.lengthBytes(b, off);
                if (len <= 0) {
                    break;
                }
                if (RtcpPacket.packetType(b, off) == type && (fmt < 0 || RtcpPacket.fmt(b, off) == fmt)) {
                    byte[] one = new byte[len];
                    b.getBytes(off, one);
                    return one;
                }
                off += len;
            }
        }
        return null;
    }
}
