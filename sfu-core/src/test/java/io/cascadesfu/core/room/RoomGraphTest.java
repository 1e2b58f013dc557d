package io.cascadesfu.core.room;

import static io.cascadesfu.core.testing.RoomHarness.audio;
import static io.cascadesfu.core.testing.RoomHarness.opus;
import static io.cascadesfu.core.testing.RoomHarness.seqOf;
import static io.cascadesfu.core.testing.RoomHarness.ssrcOf;
import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static io.cascadesfu.core.testing.RoomHarness.video;
import static io.cascadesfu.core.testing.RoomHarness.vp8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.Router;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Rooms as graphs of routers and pipes, on real workers with in-memory transports: no sockets, no sleeps. */
class RoomGraphTest {
    static final long PUB_VIDEO = 0x1111_0000L;
    static final long PUB_AUDIO = 0x2222_0000L;
    static final MediaConfig.Placement SPREAD = new MediaConfig.Placement(200, true);

    RoomHarness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    /** A publisher and its subscribers with one endpoint each. */
    record Call(Room room, Member publisher, Endpoint pubEndpoint, Track video, List<Member> subscribers,
                List<Endpoint> subEndpoints, List<Subscription> subscriptions) {
    }

    Call call(int subscriberCount) {
        return h.control(() -> {
            Room room = h.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = h.endpoint(pub, "pub-ep");
            Track v = pub.publish(pe, "video", video(PUB_VIDEO));
            List<Member> subs = new ArrayList<>();
            List<Endpoint> eps = new ArrayList<>();
            List<Subscription> ss = new ArrayList<>();
            for (int i = 0; i < subscriberCount; i++) {
                Member m = room.addMember("sub" + i);
                Endpoint e = h.endpoint(m, "sub-ep" + i);
                subs.add(m);
                eps.add(e);
                ss.add(room.subscribe(e, v, subscriber(0x5000 + i, 100)));
            }
            return new Call(room, pub, pe, v, subs, eps, ss);
        });
    }

    void sendVideo(Call c, int firstSeq, int count) {
        MemoryTransport pub = h.transport(c.pubEndpoint());
        for (int i = 0; i < count; i++) {
            pub.inject(vp8(PUB_VIDEO, firstSeq + i, 3000L * (firstSeq + i), i == 0, 40));
        }
        h.settle();
    }

    @Test
    void fansOutToEverySubscriberOnTheSameWorker() {
        h = new RoomHarness(2, MediaConfig.Placement.DEFAULT);
        Call c = call(5);
        h.settle();
        for (Member m : c.subscribers()) {
            assertEquals(c.publisher().worker(), m.worker(), "a small room stays on one worker");
        }
        sendVideo(c, 100, 10);
        for (int i = 0; i < 5; i++) {
            List<byte[]> got = h.transport(c.subEndpoints().get(i)).rtpSent;
            assertEquals(10, got.size(), "subscriber " + i);
            assertEquals(0x5000 + i, ssrcOf(got.get(0)), "its own SSRC");
        }
        assertEquals(0, h.control(() -> c.room().pipeCount()));
    }

    @Test
    void streamCrossesAPipeOnceHoweverManySubscribersAreBehindIt() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(6);
        h.settle();
        int publisherWorker = c.publisher().worker().index();
        int remote = 1 - publisherWorker;
        long behindPipe = c.subscribers().stream().filter(m -> m.worker().index() == remote).count();
        assertEquals(3, behindPipe, "spread placement put half the subscribers on the other worker");
        assertEquals(1, h.control(() -> c.room().pipeCount()));
        assertEquals(1, h.control(() -> c.video().pipedWorkers()));

        long pipedBefore = h.worker(remote).stats().pipePacketsIn();
        sendVideo(c, 1, 20);
        for (Endpoint e : c.subEndpoints()) {
            assertEquals(20, h.transport(e).rtpSent.size(), "every subscriber on both workers got every packet");
        }
        assertEquals(20, h.worker(remote).stats().pipePacketsIn() - pipedBefore,
                "each packet crossed the pipe once for three subscribers behind it");
        assertEquals(0, h.worker(publisherWorker).stats().pipePacketsIn());
    }

    @Test
    void pipeKeepsHeaderExtensionsAndSequenceContinuity() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(1);
        h.settle();
        assertTrue(c.subscriptions().get(0).isPiped());
        sendVideo(c, 65530, 12); // across the sequence wrap
        List<byte[]> got = h.transport(c.subEndpoints().get(0)).rtpSent;
        assertEquals(12, got.size());
        for (int i = 0; i < got.size(); i++) {
            byte[] p = got.get(i);
            assertEquals(0x5000, ssrcOf(p), "the subscriber's SSRC, not the pipe's");
            assertEquals(100, p[1] & 0x7F, "the subscriber's payload type");
            assertEquals(0x50, p[16] & 0xFF, "audio level moved from id 1 to the subscriber's id 5");
            assertEquals(40, p[17] & 0xFF, "audio level value kept across the pipe");
            if (i > 0) {
                assertEquals((seqOf(got.get(i - 1)) + 1) & 0xFFFF, seqOf(p), "sequence continuous across the wrap");
            }
        }
    }

    @Test
    void stopsCrossingWhenTheLastSubscriberBehindThePipeGoes() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(4);
        h.settle();
        int remote = 1 - c.publisher().worker().index();
        h.control(() -> {
            for (Subscription s : c.subscriptions()) {
                if (s.subscriber().worker().index() == remote) {
                    s.close();
                }
            }
        });
        h.settle();
        assertEquals(0, h.control(() -> c.room().pipeCount()), "no one behind the pipe: it closed");
        assertEquals(0, h.control(() -> c.video().pipedWorkers()));
        long pipedBefore = h.worker(remote).stats().pipePacketsIn();
        sendVideo(c, 1, 5);
        assertEquals(pipedBefore, h.worker(remote).stats().pipePacketsIn(), "nothing crosses to a worker no one wants it on");
        for (int i = 0; i < 4; i++) {
            int expected = c.subEndpoints().get(i).worker().index() == remote ? 0 : 5;
            assertEquals(expected, h.transport(c.subEndpoints().get(i)).rtpSent.size(), "subscriber " + i);
        }
        var counts = h.control(() -> c.room().inspect()).join();
        for (Room.RouterCounts rc : counts) {
            if (rc.worker() == remote) {
                assertEquals(0, rc.producers(), "the piped producer went with the pipe");
                assertEquals(2, rc.peers(), "only the two subscribers' own peers remain");
            }
        }
    }

    @Test
    void subscriberBehindAPipeWaitsForAKeyframeAndItsRequestReachesThePublisher() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(1);
        h.settle();
        MemoryTransport pub = h.transport(c.pubEndpoint());
        MemoryTransport sub = h.transport(c.subEndpoints().get(0));
        for (int i = 0; i < 5; i++) {
            pub.inject(vp8(PUB_VIDEO, 10 + i, 3000L * i, false, 0));
        }
        h.settle();
        assertEquals(0, sub.rtpSent.size(), "no delta frame before a keyframe");
        assertTrue(pub.plisSent() >= 1, "the subscriber's keyframe request crossed the pipe to the publisher");
        pub.inject(vp8(PUB_VIDEO, 15, 15000, true, 0));
        pub.inject(vp8(PUB_VIDEO, 16, 18000, false, 0));
        h.settle();
        assertEquals(2, sub.rtpSent.size(), "the keyframe and what follows");
    }

    @Test
    void aSubscriberBehindAPipeGetsWhatItNacksFromTheNodeNumberedAsFirstSent() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(1);
        h.settle();
        assertTrue(c.subscriptions().get(0).isPiped());
        sendVideo(c, 100, 10);
        MemoryTransport sub = h.transport(c.subEndpoints().get(0));
        List<byte[]> first = new ArrayList<>(sub.rtpSent);
        assertEquals(10, first.size());
        int s3 = seqOf(first.get(3));
        byte[] nack = nack(0x5000, s3, 1 << 1); // s3 and s3 + 2
        long publisherPlisBefore = h.transport(c.pubEndpoint()).plisSent();
        sub.inject(nack);
        h.settle();
        assertEquals(12, sub.rtpSent.size(), "two packets sent again");
        assertArrayEquals(first.get(3), sub.rtpSent.get(10), "byte for byte as first sent");
        assertArrayEquals(first.get(5), sub.rtpSent.get(11));
        assertEquals(2.0, h.metrics.retransmittedCount());
        assertEquals(publisherPlisBefore, h.transport(c.pubEndpoint()).plisSent(), "answered by the node, no PLI");
        sub.inject(nack(0x5000, (s3 + 1000) & 0xFFFF, 0)); // never sent: nothing to resend
        h.settle();
        assertEquals(12, sub.rtpSent.size());
    }

    @Test
    void aGapInWhatThePublisherSendsIsNackedAndItsRetransmissionReachesSubscribersOnBothWorkers() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(2); // one subscriber on each worker
        h.settle();
        MemoryTransport pub = h.transport(c.pubEndpoint());
        pub.inject(vp8(PUB_VIDEO, 1, 0, true, 0));
        pub.inject(vp8(PUB_VIDEO, 2, 0, false, 0));
        pub.inject(vp8(PUB_VIDEO, 4, 3000, false, 0)); // 3 lost on the way in
        h.settle();
        List<Integer> asked = new ArrayList<>();
        for (byte[] rtcp : pub.rtcpSent) {
            io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.wrappedBuffer(rtcp);
            if (io.cascadesfu.core.rtcp.RtcpPacket.isNack(b, 0)) {
                assertEquals(PUB_VIDEO, io.cascadesfu.core.rtcp.RtcpPacket.mediaSsrc(b, 0));
                asked.add(io.cascadesfu.core.rtcp.RtcpPacket.nackPid(b, 0, 0));
            }
        }
        assertEquals(List.of(3), asked, "the node asked the publisher for the missing packet, once");
        pub.inject(vp8(PUB_VIDEO, 3, 0, false, 0)); // the publisher's retransmission
        h.settle();
        for (Endpoint e : c.subEndpoints()) {
            assertEquals(4, h.transport(e).rtpSent.size(), "the late packet forwarded to " + e);
        }
        assertEquals(1.0, h.metrics.nackSentCount());
    }

    /** A generic NACK (RFC 4585 6.2.1) from a subscriber for its stream {@code mediaSsrc}. */
    static byte[] nack(long mediaSsrc, int pid, int blp) {
        io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer(16);
        io.cascadesfu.core.rtcp.RtcpWriter.writeNack(b, 0x9999, mediaSsrc, pid, blp);
        byte[] out = io.netty.buffer.ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    @Test
    void keyframeRequestsOfAWholeAudienceOnTwoWorkersReachThePublisherAsOne() {
        h = new RoomHarness(2, SPREAD, java.time.Duration.ofSeconds(5));
        Call c = call(6); // every subscriber asks for a keyframe as it starts
        h.settle();
        MemoryTransport pub = h.transport(c.pubEndpoint());
        assertEquals(1, pub.plisSent(), "six starting subscribers, one PLI");
        for (int i = 0; i < 6; i++) {
            byte[] pli = pli(0x5000 + i);
            h.transport(c.subEndpoints().get(i)).inject(pli);
        }
        h.settle();
        assertEquals(1, pub.plisSent(), "more requests within the interval are merged into the one sent");
    }

    static byte[] pli(long mediaSsrc) {
        io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer(12);
        io.cascadesfu.core.rtcp.RtcpWriter.writePli(b, 0x9999, mediaSsrc);
        byte[] out = io.netty.buffer.ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    @Test
    void audioLevelsOfTracksOnBothWorkersAreSampledForTheActiveSpeaker() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(1);
        io.cascadesfu.core.media.ProducerParams withLevel = new io.cascadesfu.core.media.ProducerParams("1",
                io.cascadesfu.core.media.TrackKind.AUDIO, io.cascadesfu.core.rtp.Codec.OPUS, RoomHarness.AUDIO_PT,
                48000, PUB_AUDIO, 0, true, RoomHarness.AUDIO_LEVEL_EXT);
        Track loud = h.control(() -> c.publisher().publish(c.pubEndpoint(), "audio", withLevel));
        Endpoint otherEp = c.subEndpoints().get(0); // on the other worker
        Track quiet = h.control(() -> c.subscribers().get(0).publish(otherEp, "audio2", new io.cascadesfu.core.media.ProducerParams(
                "1", io.cascadesfu.core.media.TrackKind.AUDIO, io.cascadesfu.core.rtp.Codec.OPUS, RoomHarness.AUDIO_PT,
                48000, 0x3333, 0, true, RoomHarness.AUDIO_LEVEL_EXT)));
        h.settle();
        for (int i = 0; i < 5; i++) {
            h.transport(c.pubEndpoint()).inject(opus(PUB_AUDIO, i, 960L * i, i == 2 ? 20 : 60)); // peak -20 dBov: 107
            h.transport(otherEp).inject(opus(0x3333, i, 960L * i, 127)); // silence
        }
        h.settle();
        java.util.Map<Track, Double> levels = h.control(() -> c.room().sampleLoudness()).join();
        assertEquals(107.0, levels.get(loud), 0.01);
        assertEquals(0.0, levels.get(quiet), 0.01);
        assertTrue(h.control(() -> c.room().sampleLoudness()).join().isEmpty(), "nothing since the last sample");
    }

    @Test
    void publisherLeavingClosesItsStreamOnEveryWorker() {
        h = new RoomHarness(2, SPREAD);
        Call c = call(4);
        h.control(() -> c.publisher().publish(c.pubEndpoint(), "audio", audio(PUB_AUDIO)));
        h.settle();
        h.control(() -> c.publisher().close("left"));
        h.settle();
        assertTrue(h.control(() -> c.subscriptions().stream().allMatch(Subscription::isClosed)));
        assertEquals(0, h.control(() -> c.room().pipeCount()));
        for (Room.RouterCounts rc : h.control(() -> c.room().inspect()).join()) {
            assertEquals(0, rc.producers(), "worker " + rc.worker());
            assertEquals(0, rc.consumers(), "worker " + rc.worker());
            assertEquals(2, rc.peers(), "worker " + rc.worker() + " keeps its two subscribers' peers");
        }
        h.transport(c.pubEndpoint()).inject(opus(PUB_AUDIO, 1, 960, 10)); // to a closed transport: ignored
        h.settle();
        assertTrue(h.transport(c.pubEndpoint()).isClosed());
        h.control(() -> {
            c.subscribers().forEach(m -> m.close("left"));
            c.room().close();
        });
        h.settle();
        for (Room.RouterCounts rc : h.control(() -> c.room().inspect()).join()) {
            assertTrue(rc.closed());
            assertEquals(0, rc.peers());
        }
        assertEquals(0, h.worker(0).routerCount() + h.worker(1).routerCount());
        assertFalse(h.control(() -> h.engine.rooms().rooms().contains(c.room())));
    }

    @Test
    void placementFillsAWorkerUpToItsBudgetThenUsesTheLeastLoaded() {
        h = new RoomHarness(3, new MediaConfig.Placement(3, false));
        List<Integer> workers = h.control(() -> {
            Room room = h.engine.rooms().open("webinar");
            Room other = h.engine.rooms().open("other");
            other.addMember("x"); // worker 0 holds one member of another room
            List<Integer> list = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                list.add(room.addMember("m" + i).worker().index());
            }
            return list;
        });
        // First member: the least-loaded worker (1); it fills to the budget of 3, then worker 2, then worker 0.
        assertEquals(List.of(1, 1, 1, 2, 2, 2, 0), workers);
    }

    @Test
    void aWebinarOfAThousandOnSixteenWorkersSpreadsItsAudienceAndCrossesEachPipeOnce() {
        h = new RoomHarness(16, new MediaConfig.Placement(64, false));
        Call c = call(999);
        h.settle();
        int[] perWorker = new int[16];
        perWorker[c.publisher().worker().index()]++;
        for (Member m : c.subscribers()) {
            perWorker[m.worker().index()]++;
        }
        for (int w = 0; w < 16; w++) {
            assertTrue(perWorker[w] > 0 && perWorker[w] <= 64, "worker " + w + " holds " + perWorker[w]);
        }
        assertEquals(15, h.control(() -> c.video().pipedWorkers()), "the publisher's video crosses to every other worker");
        assertEquals(15, h.control(() -> c.room().pipeCount()));
        long[] pipedBefore = new long[16];
        for (int w = 0; w < 16; w++) {
            pipedBefore[w] = h.worker(w).stats().pipePacketsIn();
        }
        sendVideo(c, 1, 10);
        for (int w = 0; w < 16; w++) {
            long crossed = h.worker(w).stats().pipePacketsIn() - pipedBefore[w];
            assertEquals(w == c.publisher().worker().index() ? 0 : 10, crossed, "packets into worker " + w);
        }
        long delivered = c.subEndpoints().stream().mapToLong(e -> h.transport(e).rtpSent.size()).sum();
        assertEquals(999L * 10, delivered, "every subscriber got every packet");
    }

    @Test
    void spreadPlacementUsesTheLeastLoadedWorkerForEveryMember() {
        h = new RoomHarness(2, SPREAD);
        List<Integer> workers = h.control(() -> {
            Room room = h.engine.rooms().open("r");
            List<Integer> list = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                list.add(room.addMember("m" + i).worker().index());
            }
            return list;
        });
        assertEquals(List.of(0, 1, 0, 1), workers);
    }

    @Test
    void workerOwnedStateRefusesOtherThreads() {
        h = new RoomHarness(2, SPREAD);
        Router router = new Router("r", h.worker(0).loop(), h.metrics);
        assertThrows(AssertionError.class, () -> router.addPeer("p", new MemoryTransport("p", h.worker(0))));
        assertThrows(AssertionError.class, () -> h.engine.rooms().open("from-the-test-thread"));
        h.worker(0).execute(router::close);
        h.settle();
    }
}
