package io.cascadesfu.core.relay;

import static io.cascadesfu.core.testing.RoomHarness.audio;
import static io.cascadesfu.core.testing.RoomHarness.opus;
import static io.cascadesfu.core.testing.RoomHarness.seqOf;
import static io.cascadesfu.core.testing.RoomHarness.ssrcOf;
import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static io.cascadesfu.core.testing.RoomHarness.video;
import static io.cascadesfu.core.testing.RoomHarness.vp8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.room.Member;
import io.cascadesfu.core.room.Room;
import io.cascadesfu.core.room.Track;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two nodes in one JVM, each its own engine with real UDP: node B dials node A's media port over a relay link
 * (ICE, DTLS, SRTP, parameters handed over directly, as the control channel does), and a track published on A
 * reaches two subscribers on B through it, once; B's keyframe request reaches A's publisher, and a packet lost on
 * the link is NACKed by B and resent by A from its cache.
 */
class RelayLinkTest {
    static final long PUB_SSRC = 0x1234;
    static final long LINK_SSRC = 0x7700_0000L;
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

    record OnA(Room room, Endpoint pub, Track track, Endpoint link) {
    }

    record OnB(Room room, Endpoint link, Track relayed, Endpoint sub1, Endpoint sub2) {
    }

    /** Node A: the publisher of {@code published}, and the link's accepting end (a member, as a browser would be). */
    OnA publisherOnA(ProducerParams published) {
        return a.control(() -> {
            Room room = a.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = a.endpoint(pub, "pub-ep");
            Track t = pub.publish(pe, published.kind() == TrackKind.AUDIO ? "audio" : "video",
                    published);
            Endpoint link = room.addMember("node:b").createWebRtcEndpoint("link-b", EndpointListener.NONE);
            return new OnA(room, pe, t, link);
        });
    }

    /**
     * Node B: the link's dialing end, a member publishing what A relays (as {@code published}, on the link SSRC),
     * and {@code subscribers} local subscribers (1 or 2) of it with payload type {@code pt}.
     */
    OnB relayedOnB(ProducerParams published, int subscribers, int pt) {
        return b.control(() -> {
            Room room = b.engine.rooms().open("r");
            Member nodeA = room.addMember("node:a");
            Endpoint link = nodeA.createEndpoint("link-a", RelayTransport.factory("127.0.0.1"), EndpointListener.NONE);
            ProducerParams p = published;
            Track relayed = nodeA.publish(link, p.kind() == TrackKind.AUDIO ? "audio" : "video",
                    new ProducerParams(p.mid(), p.kind(), p.codec(), p.payloadType(), p.clockRate(), LINK_SSRC, 0));
            Endpoint s1 = b.endpoint(room.addMember("sub1"), "sub1");
            room.subscribe(s1, relayed, subscriber(0x5001, pt));
            Endpoint s2 = null;
            if (subscribers > 1) {
                s2 = b.endpoint(room.addMember("sub2"), "sub2");
                room.subscribe(s2, relayed, subscriber(0x5002, pt));
            }
            return new OnB(room, link, relayed, s1, s2);
        });
    }

    @Test
    void aTrackCrossesTheLinkOnceAndItsKeyframeRequestsAndLossesAreHandledAcrossIt() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        OnA onA = publisherOnA(video(PUB_SSRC));
        OnB onB = relayedOnB(video(PUB_SSRC), 2, 100);
        RoomHarness.connectRelay(a, onA.link(), b, onB.link());
        a.control(() -> onA.room().relay(onA.link(), onA.track(), LINK_SSRC));
        a.settle();

        MemoryTransport pub = a.transport(onA.pub());
        long plisBefore = pub.plisSent();
        for (int i = 0; i < 5; i++) {
            pub.inject(vp8(PUB_SSRC, 100 + i, 3000L * i, false, 30));
        }
        RoomHarness.waitUntil("B's keyframe request to reach A's publisher", () -> pub.plisSent() > plisBefore);
        for (int i = 5; i < 25; i++) {
            pub.inject(vp8(PUB_SSRC, 100 + i, 3000L * i, i == 5, 30));
        }
        MemoryTransport s1 = b.transport(onB.sub1());
        MemoryTransport s2 = b.transport(onB.sub2());
        RoomHarness.waitUntil("both subscribers on B to get the stream from the keyframe on",
                () -> s1.rtpSent.size() >= 20 && s2.rtpSent.size() >= 20);
        assertEquals(0x5001, ssrcOf(s1.rtpSent.get(0)));
        assertEquals(0x5002, ssrcOf(s2.rtpSent.get(0)));
        for (int i = 1; i < 20; i++) {
            assertEquals((seqOf(s1.rtpSent.get(i - 1)) + 1) & 0xFFFF, seqOf(s1.rtpSent.get(i)), "continuous");
        }
        assertEquals(1, (int) a.control(() -> onA.track().subscriptionCount()),
                "one relay subscription on A for both subscribers behind the link");

        // A packet lost on the link: B NACKs it, A resends it from its cache, B's subscribers get it.
        double resentBefore = a.metrics.retransmittedCount();
        RelayTransport link = (RelayTransport) b.worker(0).loop().submit(() -> onB.link().transport()).get();
        link.client().dropNextIncoming(130);
        for (int i = 25; i < 40; i++) {
            pub.inject(vp8(PUB_SSRC, 100 + i, 3000L * i, false, 30));
            Thread.sleep(5);
        }
        RoomHarness.waitUntil("A to resend what the link lost", () -> a.metrics.retransmittedCount() > resentBefore);
        RoomHarness.waitUntil("sub1 to get all 35", () -> s1.rtpSent.size() >= 35);
        assertTrue(b.metrics.nackSentCount() > 0, "B asked A again");
        List<Integer> got = s1.rtpSent.stream().map(RoomHarness::seqOf).toList();
        assertTrue(got.contains(130), "the packet lost on the link arrived after all: " + got);
    }

    /**
     * Audio lost on a relay link is repaired hop by hop: browsers do not NACK Opus, but the far node does, over the
     * link, and this node answers from the audio it keeps for that link; the subscriber behind it gets every packet.
     */
    @Test
    void audioLostOnTheLinkIsAskedForAgainAndResent() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        OnA onA = publisherOnA(audio(PUB_SSRC));
        OnB onB = relayedOnB(audio(PUB_SSRC), 1, RoomHarness.AUDIO_PT);
        RoomHarness.connectRelay(a, onA.link(), b, onB.link());
        a.control(() -> onA.room().relay(onA.link(), onA.track(), LINK_SSRC));
        a.settle();

        MemoryTransport pub = a.transport(onA.pub());
        MemoryTransport s1 = b.transport(onB.sub1());
        for (int i = 0; i < 10; i++) {
            pub.inject(opus(PUB_SSRC, 500 + i, 960L * i, 40));
            Thread.sleep(5);
        }
        RoomHarness.waitUntil("B's subscriber to hear the audio", () -> s1.rtpSent.size() >= 10);
        double resentBefore = a.metrics.retransmittedCount();
        RelayTransport link = (RelayTransport) b.worker(0).loop().submit(() -> onB.link().transport()).get();
        link.client().dropNextIncoming(515);
        for (int i = 10; i < 30; i++) {
            pub.inject(opus(PUB_SSRC, 500 + i, 960L * i, 40));
            Thread.sleep(5);
        }
        RoomHarness.waitUntil("A to resend the audio the link lost", () -> a.metrics.retransmittedCount() > resentBefore);
        RoomHarness.waitUntil("the subscriber to get all 30", () -> s1.rtpSent.size() >= 30);
        assertTrue(b.metrics.nackSentCount() > 0, "B asked A again for audio");
        List<Integer> got = s1.rtpSent.stream().map(RoomHarness::seqOf).toList();
        int first = seqOf(s1.rtpSent.get(0));
        assertTrue(got.contains((first + 15) & 0xFFFF), "the audio packet lost on the link arrived after all: " + got);
        assertEquals(30, got.stream().distinct().count(), "every packet once: " + got);
    }
}
