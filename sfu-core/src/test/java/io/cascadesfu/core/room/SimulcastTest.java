package io.cascadesfu.core.room;

import static io.cascadesfu.core.testing.RoomHarness.seqOf;
import static io.cascadesfu.core.testing.RoomHarness.ssrcOf;
import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.SimpleConsumer;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Simulcast on real workers with in-memory transports: a publisher sends three layers with unsignalled SSRCs
 * (bound by their MID and RID header extensions, as browsers send them); each subscriber gets one layer, chosen by
 * its preference and what flows, switched on keyframes with numbering kept continuous.
 */
class SimulcastTest {
    static final int MID_EXT = 3;
    static final int RID_EXT = 4;
    static final List<String> RIDS = List.of("q", "h", "f");
    static final long[] LAYER_SSRC = {0xA000, 0xA001, 0xA002};
    static final int[][] SIZES = {{320, 180}, {640, 360}, {1280, 720}};
    /** Offset of the byte that tags which layer a packet came from (after header, extensions, VP8 descriptor). */
    static final int TAG_AT = 34;
    static final long SECOND = 1_000_000_000L;

    RoomHarness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    /** The publisher's side: per layer its own sequence numbers and picture ids, one timestamp per frame. */
    static final class Publisher {
        final MemoryTransport transport;
        final int[] seq = {10, 5000, 65500};
        final int[] pictureId = {100, 2000, 32700};
        long ts = 90_000;

        Publisher(MemoryTransport transport) {
            this.transport = transport;
        }

        /** One frame (one packet) on each of {@code layers}; keyframes on those in {@code keyLayers}. */
        void frame(long laterNs, int[] layers, int... keyLayers) {
            ts += 3000;
            for (int layer : layers) {
                boolean key = false;
                for (int k : keyLayers) {
                    key |= k == layer;
                }
                transport.inject(packet(layer, seq[layer]++ & 0xFFFF, ts, pictureId[layer]++ & 0x7FFF, key),
                        laterNs);
            }
        }

        void frames(int count, long laterNs, int[] layers) {
            for (int i = 0; i < count; i++) {
                frame(laterNs, layers);
            }
        }

        /** Every layer flows, then a keyframe on each and {@code more} frames: a subscriber is on the top layer. */
        void startOnTop(int more) {
            frame(0, ALL);
            frame(0, ALL, 0, 1, 2);
            frames(more, 0, ALL);
        }
    }

    static final int[] ALL = {0, 1, 2};

    /** VP8 with MID and RID extensions, a 15-bit picture id, and on keyframes the frame size of its layer. */
    static byte[] packet(int layer, int seq, long ts, int pictureId, boolean keyframe) {
        ByteBuf b = Unpooled.buffer(64);
        b.writeByte(0x90).writeByte(RoomHarness.VIDEO_PT).writeShort(seq).writeInt((int) ts)
                .writeInt((int) LAYER_SSRC[layer]);
        b.writeShort(0xBEDE).writeShort(1);
        b.writeByte(MID_EXT << 4).writeByte('0');
        b.writeByte(RID_EXT << 4).writeByte(RIDS.get(layer).charAt(0));
        b.writeByte(0x90).writeByte(0x80).writeShort(0x8000 | pictureId); // X, S; I; M + 15-bit picture id
        b.writeByte(keyframe ? 0x00 : 0x01).writeByte(0).writeByte(0);    // frame tag: P = 0 on keyframes
        b.writeByte(0x9d).writeByte(0x01).writeByte(0x2a);
        b.writeShortLE(SIZES[layer][0]).writeShortLE(SIZES[layer][1]);
        b.writeByte(0xA0 + layer);                                          // TAG_AT
        b.writeZero(16);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    static ProducerParams simulcastVideo() {
        return new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, RoomHarness.VIDEO_PT, 90000, -1, MID_EXT, true, 0,
                RIDS, RID_EXT);
    }

    static int layerOf(byte[] rtp) {
        return (rtp[TAG_AT] & 0xFF) - 0xA0;
    }

    static int pictureIdOf(byte[] rtp) {
        return Unpooled.wrappedBuffer(rtp).getUnsignedShort(22) & 0x7FFF;
    }

    static long timestampOf(byte[] rtp) {
        return Unpooled.wrappedBuffer(rtp).getUnsignedInt(4);
    }

    record Setup(Room room, Endpoint pub, Track track, List<Endpoint> subs, List<Subscription> subscriptions) {
    }

    Setup setUp(int subscribers, MediaConfig.Placement placement) {
        h = new RoomHarness(2, placement);
        Setup s = h.control(() -> {
            Room room = h.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = h.endpoint(pub, "pub-ep");
            Track t = pub.publish(pe, "video", simulcastVideo());
            List<Endpoint> eps = new java.util.ArrayList<>();
            List<Subscription> subs = new java.util.ArrayList<>();
            for (int i = 0; i < subscribers; i++) {
                Endpoint e = h.endpoint(room.addMember("sub" + i), "sub-ep" + i);
                eps.add(e);
                subs.add(room.subscribe(e, t, subscriber(0x5000 + i, 100)));
            }
            return new Setup(room, pe, t, eps, subs);
        });
        h.settle();
        return s;
    }

    List<byte[]> sent(Setup s, int subscriber) {
        return h.transport(s.subs().get(subscriber)).rtpSent;
    }

    void prefer(Setup s, int subscriber, int maxLayer, int height) {
        h.control(() -> s.subscriptions().get(subscriber).setPreference(maxLayer, height));
        h.settle();
    }

    static void assertContinuous(List<byte[]> got) {
        for (int i = 1; i < got.size(); i++) {
            assertEquals((seqOf(got.get(i - 1)) + 1) & 0xFFFF, seqOf(got.get(i)), "sequence continuous at " + i);
            assertEquals((pictureIdOf(got.get(i - 1)) + 1) & 0x7FFF, pictureIdOf(got.get(i)),
                    "picture id continuous at " + i);
            assertTrue(timestampOf(got.get(i)) - timestampOf(got.get(i - 1)) > 0, "timestamp moves on at " + i);
        }
    }

    @Test
    void aSubscriberStartsOnTheHighestLayerThatFlowsAtItsKeyframeAndGetsNoOtherLayer() {
        Setup s = setUp(1, MediaConfig.Placement.DEFAULT);
        Publisher pub = new Publisher(h.transport(s.pub()));
        pub.frames(2, 0, ALL);
        h.settle();
        assertEquals(0, sent(s, 0).size(), "nothing before a keyframe");
        assertTrue(h.transport(s.pub()).plisSentFor(LAYER_SSRC[2]) > 0,
                "the top layer's keyframe is asked for on its own SSRC, learned from the MID and RID extensions");

        pub.frame(0, ALL, 0, 1, 2);
        pub.frames(5, 0, ALL);
        h.settle();
        List<byte[]> got = sent(s, 0);
        assertEquals(6, got.size(), "one stream: one packet per frame, not one per layer");
        for (byte[] p : got) {
            assertEquals(2, layerOf(p), "the top layer");
            assertEquals(0x5000, ssrcOf(p), "on the subscriber's SSRC");
        }
        assertContinuous(got);
    }

    @Test
    void switchingDownWaitsForTheLowLayersKeyframeAndKeepsTheStreamContinuous() {
        Setup s = setUp(1, MediaConfig.Placement.DEFAULT);
        Publisher pub = new Publisher(h.transport(s.pub()));
        pub.startOnTop(3);
        h.settle();
        prefer(s, 0, 0, 0);
        long plisBefore = h.transport(s.pub()).plisSentFor(LAYER_SSRC[0]);
        pub.frames(3, SECOND, ALL); // later than the keyframe request interval
        h.settle();
        assertTrue(h.transport(s.pub()).plisSentFor(LAYER_SSRC[0]) > plisBefore, "the low layer's keyframe asked for");
        assertEquals(7, sent(s, 0).size(), "the top layer goes on until the low layer's keyframe");

        pub.frame(SECOND, ALL, 0);
        pub.frames(4, SECOND, ALL);
        h.settle();
        List<byte[]> got = sent(s, 0);
        assertEquals(12, got.size());
        for (int i = 0; i < got.size(); i++) {
            assertEquals(i < 7 ? 2 : 0, layerOf(got.get(i)), "packet " + i);
        }
        assertContinuous(got);
        assertEquals(1.0, h.metrics.layerSwitches(), 0.0);
    }

    @Test
    void theHeightAVideoIsShownAtPicksTheSmallestLayerThatFillsIt() {
        Setup s = setUp(1, MediaConfig.Placement.DEFAULT);
        Publisher pub = new Publisher(h.transport(s.pub()));
        prefer(s, 0, SimpleConsumer.ANY_LAYER, 360);
        pub.frame(0, ALL, 0, 1, 2); // the keyframes tell each layer's size
        pub.frame(SECOND, ALL, 0, 1, 2);
        pub.frames(3, SECOND, ALL);
        h.settle();
        List<byte[]> got = sent(s, 0);
        assertTrue(got.size() >= 4);
        assertEquals(1, layerOf(got.get(got.size() - 1)), "640x360 fills a tile 360 high");

        prefer(s, 0, SimpleConsumer.ANY_LAYER, 90);
        pub.frame(2 * SECOND, ALL, 0, 1, 2);
        h.settle();
        got = sent(s, 0);
        assertEquals(0, layerOf(got.get(got.size() - 1)), "a thumbnail gets the low layer");
    }

    @Test
    void aPausedVideoSendsNothingAndResumesOnAKeyframe() {
        Setup s = setUp(1, MediaConfig.Placement.DEFAULT);
        Publisher pub = new Publisher(h.transport(s.pub()));
        pub.startOnTop(2);
        h.settle();
        assertEquals(3, sent(s, 0).size());
        prefer(s, 0, -1, 0);
        pub.frame(0, ALL, 0, 1, 2);
        pub.frames(5, 0, ALL);
        h.settle();
        assertEquals(3, sent(s, 0).size(), "paused: nothing sent, keyframes included");

        prefer(s, 0, SimpleConsumer.ANY_LAYER, 0);
        pub.frames(2, SECOND, ALL);
        h.settle();
        assertEquals(3, sent(s, 0).size(), "resuming waits for a keyframe");
        pub.frame(SECOND, ALL, 2);
        pub.frame(SECOND, ALL);
        h.settle();
        List<byte[]> got = sent(s, 0);
        assertEquals(5, got.size());
        assertContinuous(got);
    }

    @Test
    void whenTheTopLayerStopsTheSubscriberMovesToTheNextLayerThatFlows() {
        Setup s = setUp(1, MediaConfig.Placement.DEFAULT);
        Publisher pub = new Publisher(h.transport(s.pub()));
        pub.startOnTop(2);
        h.settle();
        int[] lowTwo = {0, 1};
        pub.frames(2, 2 * SECOND, lowTwo); // the publisher dropped its top layer
        h.settle();
        assertTrue(h.transport(s.pub()).plisSentFor(LAYER_SSRC[1]) > 0, "the next layer's keyframe asked for");
        pub.frame(2 * SECOND, lowTwo, 1);
        pub.frames(2, 2 * SECOND, lowTwo);
        h.settle();
        List<byte[]> got = sent(s, 0);
        assertEquals(6, got.size());
        assertEquals(1, layerOf(got.get(got.size() - 1)));
        assertContinuous(got);
    }

    @Test
    void everyLayerCrossesThePipeOnceAndEachSideChoosesItsOwn() {
        Setup s = setUp(2, new MediaConfig.Placement(200, true));
        int pubWorker = s.pub().worker().index();
        int remote = s.subs().get(0).worker().index() != pubWorker ? 0 : 1;
        int local = 1 - remote;
        assertNotEquals(pubWorker, s.subs().get(remote).worker().index());
        assertEquals(pubWorker, s.subs().get(local).worker().index());
        prefer(s, remote, 0, 0);
        Publisher pub = new Publisher(h.transport(s.pub()));
        long pipedBefore = h.worker(1 - pubWorker).stats().pipePacketsIn();
        pub.frames(2, 0, ALL);
        h.settle();
        assertTrue(h.transport(s.pub()).plisSentFor(LAYER_SSRC[0]) > 0,
                "the far subscriber's keyframe request crossed the pipe to the publisher's low layer");
        pub.frame(SECOND, ALL, 0, 1, 2);
        pub.frames(3, SECOND, ALL);
        h.settle();
        assertEquals(18, h.worker(1 - pubWorker).stats().pipePacketsIn() - pipedBefore, "three layers, six frames");
        List<byte[]> far = sent(s, remote);
        List<byte[]> near = sent(s, local);
        assertEquals(4, far.size());
        assertEquals(4, near.size());
        far.forEach(p -> assertEquals(0, layerOf(p)));
        near.forEach(p -> assertEquals(2, layerOf(p)));
        assertContinuous(far);
        assertContinuous(near);
    }
}
