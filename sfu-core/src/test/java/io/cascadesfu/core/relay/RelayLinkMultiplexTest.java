package io.cascadesfu.core.relay;

import static io.cascadesfu.core.testing.RoomHarness.seqOf;
import static io.cascadesfu.core.testing.RoomHarness.ssrcOf;
import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static io.cascadesfu.core.testing.RoomHarness.video;
import static io.cascadesfu.core.testing.RoomHarness.vp8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.room.Member;
import io.cascadesfu.core.room.Room;
import io.cascadesfu.core.room.Track;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two nodes in one JVM (real UDP, ICE, DTLS, SRTP), one relay link between them carrying two rooms both ways:
 * room "r1" sends A's publisher to B, room "r2" sends B's publisher to A. One wire (one accepted transport on B,
 * one handshake), each room's subscribers get only their room's stream, keyframe requests and NACKs reach the right
 * publisher across the shared link, and the wire closing closes every room's channel.
 */
class RelayLinkMultiplexTest {
    static final long PUB1 = 0x1111;
    static final long PUB2 = 0x2222;
    static final int CHANNEL_ON_B = 5; // B numbers r1's streams (it receives them)
    static final int CHANNEL_ON_A = 5; // A numbers r2's streams: the same number, the other side
    RoomHarness a;
    RoomHarness b;

    @AfterEach
    void tearDown() {
        if (b != null) {
            b.close();
        }
        if (a != null) {
            a.close();
        }
    }

    record Sending(Room room, Endpoint pub, Track track, Endpoint channel) {
    }

    record Receiving(Room room, Endpoint channel, Track relayed, Endpoint sub) {
    }

    /** A publisher in {@code room} on {@code h} and its end of the link serving the far node's channel. */
    static Sending sending(RoomHarness h, RelayLink link, String roomName, ProducerParams published, int farChannel,
                           EndpointListener listener) {
        return h.control(() -> {
            Room room = h.engine.rooms().open(roomName);
            Member pub = room.addMember("pub");
            Endpoint pe = h.endpoint(pub, "pub-" + roomName);
            Track t = pub.publish(pe, "video", published);
            Endpoint ch = room.addMember("to:far", link.worker())
                    .createEndpoint("to-" + roomName, link.channel(farChannel, false), listener);
            return new Sending(room, pe, t, ch);
        });
    }

    static Sending sending(RoomHarness h, RelayLink link, String roomName, long ssrc, int farChannel,
                           EndpointListener listener) {
        return sending(h, link, roomName, video(ssrc), farChannel, listener);
    }

    /**
     * The far node's copy of a publisher in {@code room} ({@code relayed}: as the cascade publishes it, on a link
     * SSRC), on its own channel {@code channel}, and a subscriber.
     */
    static Receiving receiving(RoomHarness h, RelayLink link, String roomName, ProducerParams relayedParams,
                               int channel, long subSsrc, EndpointListener listener) {
        return h.control(() -> {
            Room room = h.engine.rooms().open(roomName);
            Member far = room.addMember("from:far", link.worker());
            Endpoint ch = far.createEndpoint("from-" + roomName, link.channel(channel, true), listener);
            Track relayed = far.publish(ch, "video", relayedParams);
            Endpoint sub = h.endpoint(room.addMember("sub"), "sub-" + roomName);
            room.subscribe(sub, relayed, subscriber(subSsrc, 100));
            return new Receiving(room, ch, relayed, sub);
        });
    }

    static Receiving receiving(RoomHarness h, RelayLink link, String roomName, long linkSsrc, int channel,
                               long subSsrc, EndpointListener listener) {
        ProducerParams p = video(0);
        return receiving(h, link, roomName, new ProducerParams(p.mid(), p.kind(), p.codec(), p.payloadType(),
                p.clockRate(), linkSsrc, 0), channel, subSsrc, listener);
    }

    /** The wire: A dials, B accepts (credentials and fingerprints as the control channel hands them over). */
    void connectWire(RelayLink linkA, RelayLink linkB) {
        IceCredentials credsA = IceCredentials.random();
        IceCredentials credsB = IceCredentials.random();
        b.control(() -> linkB.accept(credsB, credsA.ufrag(), credsA.pwd(), a.engine.fingerprintSha256()));
        a.control(() -> linkA.dial(new InetSocketAddress("127.0.0.1", 0), credsA));
        InetSocketAddress mediaB = b.worker(0).candidates().get(0);
        a.control(() -> linkA.connect(new RtcClient.Remote(mediaB, credsB.ufrag(), credsB.pwd(), "sha-256",
                b.engine.fingerprintSha256())));
    }

    static final int TWCC_EXT = RelayTransportCcTest.TWCC_EXT;

    static ProducerParams withTwcc(long ssrc) {
        ProducerParams v = video(ssrc);
        return new ProducerParams(v.mid(), v.kind(), v.codec(), v.payloadType(), v.clockRate(), ssrc, 0, true, 0,
                List.of(), 0, TWCC_EXT);
    }

    /**
     * Two rooms sent the same way over one wire feed one bandwidth estimate: the far node numbers nothing per room,
     * it records every arrival on the wire in one transport-wide sequence and its feedback reaches the one estimator
     * both rooms' channels read.
     */
    @Test
    void twoRoomsOnOneWireShareOneEstimate() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        RelayLink linkA = new RelayLink("link-b", a.worker(0), 0);
        RelayLink linkB = new RelayLink("link-a", b.worker(0), 1);
        Sending[] out = new Sending[2];
        Receiving[] in = new Receiving[2];
        long[] pubs = {PUB1, PUB2};
        for (int r = 0; r < 2; r++) {
            String name = "r" + (r + 1);
            int channel = 7 + r;
            long linkSsrc = RelayLink.ssrcBase(1, channel);
            long pubSsrc = pubs[r];
            out[r] = sending(a, linkA, name, withTwcc(pubSsrc), channel, EndpointListener.NONE);
            in[r] = receiving(b, linkB, name, withTwcc(linkSsrc), channel, 0x5001 + r, EndpointListener.NONE);
        }
        connectWire(linkA, linkB);
        RoomHarness.waitUntil("both rooms' channels to connect", () -> a.control(
                () -> out[0].channel().isConnected() && out[1].channel().isConnected()));
        for (int r = 0; r < 2; r++) {
            Sending s = out[r];
            long linkSsrc = RelayLink.ssrcBase(1, 7 + r);
            a.control(() -> s.room().relay(s.channel(), s.track(), linkSsrc));
        }
        a.settle();
        MemoryTransport pub1 = a.transport(out[0].pub());
        MemoryTransport pub2 = a.transport(out[1].pub());
        for (int i = 0; i < 300; i++) {
            pub1.inject(RelayTransportCcTest.packet(PUB1, 100 + i, 40_000 + i, i % 100 == 0));
            pub2.inject(RelayTransportCcTest.packet(PUB2, 900 + i, 10_000 + i, i % 100 == 0));
            Thread.sleep(3);
        }
        MemoryTransport sub1 = b.transport(in[0].sub());
        MemoryTransport sub2 = b.transport(in[1].sub());
        RoomHarness.waitUntil("both rooms' subscribers on B to get their streams",
                () -> sub1.rtpSent.size() >= 150 && sub2.rtpSent.size() >= 150);
        RoomHarness.waitUntil("A's one estimate of the wire to be fed by B's feedback",
                () -> linkA.stats().join().ackedBps() > 0);
        // Both rooms' channels read the wire's one estimate (read until no feedback lands between the reads).
        RoomHarness.waitUntil("both channels to show the wire's estimate", () -> {
            RelayLink.WireStats wire = linkA.stats().join();
            long e1 = out[0].channel().stats().join().estimateBps();
            long e2 = out[1].channel().stats().join().estimateBps();
            return wire.estimateBps() > 0 && e1 == wire.estimateBps() && e2 == wire.estimateBps()
                    && linkA.stats().join().estimateBps() == wire.estimateBps();
        });
        RelayLink.WireStats wire = linkA.stats().join();
        assertTrue(wire.up() && wire.channels() == 2, "one wire with both rooms' channels: " + wire);
        assertTrue(b.control(() -> linkB.stats()).join().channels() == 2, "B has both rooms' channels");
    }

    @Test
    void twoRoomsShareOneWireBothWays() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        RelayLink linkA = new RelayLink("link-b", a.worker(0), 0);
        RelayLink linkB = new RelayLink("link-a", b.worker(0), 1);
        AtomicInteger closedOnA = new AtomicInteger();
        EndpointListener countClose = new EndpointListener() {
            @Override
            public void onEndpointConnected(Endpoint e) {
            }

            @Override
            public void onEndpointClosed(Endpoint e, String reason) {
                closedOnA.incrementAndGet();
            }
        };
        long r1Ssrc = RelayLink.ssrcBase(1, CHANNEL_ON_B);
        long r2Ssrc = RelayLink.ssrcBase(0, CHANNEL_ON_A);
        Sending r1a = sending(a, linkA, "r1", PUB1, CHANNEL_ON_B, countClose);
        Receiving r1b = receiving(b, linkB, "r1", r1Ssrc, CHANNEL_ON_B, 0x5001, EndpointListener.NONE);
        Sending r2b = sending(b, linkB, "r2", PUB2, CHANNEL_ON_A, EndpointListener.NONE);
        Receiving r2a = receiving(a, linkA, "r2", r2Ssrc, CHANNEL_ON_A, 0x6001, countClose);

        int transportsBefore = b.control(() -> b.worker(0).stats().transports());
        connectWire(linkA, linkB);
        RoomHarness.waitUntil("every room's channel to connect over the one wire", () -> a.control(
                () -> r1a.channel().isConnected() && r2a.channel().isConnected())
                && b.control(() -> r1b.channel().isConnected() && r2b.channel().isConnected()));
        assertEquals(transportsBefore + 1, (int) b.control(() -> b.worker(0).stats().transports()),
                "one accepted transport on B for both rooms");
        a.control(() -> r1a.room().relay(r1a.channel(), r1a.track(), r1Ssrc));
        b.control(() -> r2b.room().relay(r2b.channel(), r2b.track(), r2Ssrc));
        a.settle();
        b.settle();

        // Each room's subscriber asks for a keyframe: it reaches that room's publisher, across the link.
        MemoryTransport pub1 = a.transport(r1a.pub());
        MemoryTransport pub2 = b.transport(r2b.pub());
        long plis1 = pub1.plisSent();
        long plis2 = pub2.plisSent();
        for (int i = 0; i < 5; i++) {
            pub1.inject(vp8(PUB1, 100 + i, 3000L * i, false, 30));
            pub2.inject(vp8(PUB2, 500 + i, 3000L * i, false, 30));
        }
        RoomHarness.waitUntil("both publishers to be asked for a keyframe across the link",
                () -> pub1.plisSent() > plis1 && pub2.plisSent() > plis2);
        for (int i = 5; i < 25; i++) {
            pub1.inject(vp8(PUB1, 100 + i, 3000L * i, i == 5, 30));
            pub2.inject(vp8(PUB2, 500 + i, 3000L * i, i == 5, 30));
        }
        MemoryTransport sub1 = b.transport(r1b.sub());
        MemoryTransport sub2 = a.transport(r2a.sub());
        RoomHarness.waitUntil("each room's subscriber to get its stream",
                () -> sub1.rtpSent.size() >= 20 && sub2.rtpSent.size() >= 20);
        assertTrue(sub1.rtpSent.stream().allMatch(p -> ssrcOf(p) == 0x5001), "r1's subscriber gets only r1");
        assertTrue(sub2.rtpSent.stream().allMatch(p -> ssrcOf(p) == 0x6001), "r2's subscriber gets only r2");
        assertEquals(20, sub1.rtpSent.size(), "nothing of r2 leaked into r1");

        // A packet of r2 lost on the link: A's r2 channel NACKs it, B resends it from r2's cache.
        double resentBefore = b.metrics.retransmittedCount();
        a.worker(0).loop().submit(() -> ((RelayTransport) linkA.wire()).client().dropNextIncoming(530)).get();
        for (int i = 25; i < 40; i++) {
            pub2.inject(vp8(PUB2, 500 + i, 3000L * i, false, 30));
            Thread.sleep(5);
        }
        RoomHarness.waitUntil("B to resend what the link lost", () -> b.metrics.retransmittedCount() > resentBefore);
        RoomHarness.waitUntil("r2's subscriber to get all 35", () -> sub2.rtpSent.size() >= 35);
        List<Integer> got = sub2.rtpSent.stream().map(RoomHarness::seqOf).toList();
        assertTrue(got.contains((seqOf(sub2.rtpSent.get(0)) + 25) & 0xFFFF), "the packet lost on the link arrived: " + got);

        // The wire goes: every room's channel on A closes with it.
        a.control(() -> linkA.close("test"));
        RoomHarness.waitUntil("both rooms' channels on A to close", () -> closedOnA.get() == 2);
    }
}
