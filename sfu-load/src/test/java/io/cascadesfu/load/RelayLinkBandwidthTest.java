package io.cascadesfu.load;

import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.relay.RelayTransport;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.room.LinkStats;
import io.cascadesfu.core.room.Member;
import io.cascadesfu.core.room.Room;
import io.cascadesfu.core.room.Track;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A relay link's bandwidth estimate acts: node A serves a three-layer simulcast track (0.12 + 0.4 + 1.2 Mbit/s) to
 * node B over a real relay link (ICE, DTLS, SRTP over UDP) that runs through an impairment relay. When the link is
 * limited to 1 Mbit/s, A's estimate of it falls, A stops sending the top layer over it, B's subscriber moves to a
 * lower layer, and the link stops losing packets: the lower layers cross whole instead of every layer losing some.
 * When the limit lifts, A's probes find the room again and the top layer crosses once more.
 */
class RelayLinkBandwidthTest {
    static final long LINK_SSRC = 0x7900_0000L;
    static final int TWCC_EXT = 3;
    static final int MID_EXT = 2;
    static final int RID_EXT = 4;
    static final List<String> RIDS = List.of("q", "h", "f");
    /** Per layer: packets per frame and bytes per packet (25 frames a second). */
    static final int[] PACKETS = {1, 2, 6};
    static final int[] BYTES = {600, 1000, 1000};
    static final long FRAME_MS = 40;
    static final long LIMIT_BPS = 1_000_000;

    RoomHarness a;
    RoomHarness b;
    ImpairmentRelay relay;

    @AfterEach
    void tearDown() {
        if (relay != null) {
            relay.close();
        }
        if (b != null) {
            b.close();
        }
        if (a != null) {
            a.close();
        }
    }

    /** The publisher on A: per layer its own sequence numbers, unsignalled SSRCs bound by MID and RID. */
    static final class Publisher {
        final MemoryTransport transport;
        final int[] seq = {100, 20_000, 40_000};
        int picture;
        int transportSeq;
        long ts;

        Publisher(MemoryTransport transport) {
            this.transport = transport;
        }

        void frame(boolean keyframe) {
            ts += 3600;
            picture = (picture + 1) & 0x7FFF;
            for (int layer = 0; layer < 3; layer++) {
                for (int k = 0; k < PACKETS[layer]; k++) {
                    transport.inject(packet(layer, seq[layer]++ & 0xFFFF, transportSeq++ & 0xFFFF, ts, picture,
                            keyframe && k == 0, k == PACKETS[layer] - 1));
                }
            }
        }
    }

    /** VP8 with MID, RID and transport-cc extensions; the last byte tags the layer (0xA0 + layer). */
    static byte[] packet(int layer, int seq, int transportSeq, long ts, int picture, boolean keyframe, boolean last) {
        ByteBuf p = Unpooled.buffer(BYTES[layer]);
        p.writeByte(0x90).writeByte((last ? 0x80 : 0) | RoomHarness.VIDEO_PT).writeShort(seq).writeInt((int) ts)
                .writeInt(0xB000 + layer);
        p.writeShort(0xBEDE).writeShort(2);
        p.writeByte(MID_EXT << 4).writeByte('0');
        p.writeByte(RID_EXT << 4).writeByte(RIDS.get(layer).charAt(0));
        p.writeByte(TWCC_EXT << 4 | 1).writeShort(transportSeq).writeByte(0);
        p.writeByte(0x90).writeByte(0x80).writeShort(0x8000 | picture); // X, S; I; 15-bit picture id
        p.writeByte(keyframe ? 0x00 : 0x01).writeByte(0).writeByte(0);  // frame tag: P = 0 on keyframes
        p.writeByte(0x9d).writeByte(0x01).writeByte(0x2a);
        p.writeShortLE(320 << layer).writeShortLE(180 << layer);
        p.writeZero(BYTES[layer] - p.readableBytes() - 1);
        p.writeByte(0xA0 + layer);
        byte[] out = new byte[p.readableBytes()];
        p.readBytes(out);
        return out;
    }

    static int layerOf(byte[] rtp) {
        return (rtp[rtp.length - 1] & 0xFF) - 0xA0;
    }

    record OnA(Room room, Endpoint pub, Track track, Endpoint link) {
    }

    record OnB(Room room, Endpoint link, Endpoint sub) {
    }

    /** The layer of the subscriber's last packet, -1 before any. */
    static int lastLayer(MemoryTransport sub) {
        List<byte[]> sent = sub.rtpSent;
        return sent.isEmpty() ? -1 : layerOf(sent.get(sent.size() - 1));
    }

    /** Sends frames (a keyframe every second) until {@code done} or {@code maxMs}; true if done. */
    static boolean sendUntil(Publisher pub, long maxMs, BooleanSupplier done) throws InterruptedException {
        for (long spent = 0; spent < maxMs; spent += FRAME_MS) {
            pub.frame(spent % 1000 == 0);
            if (done.getAsBoolean()) {
                return true;
            }
            Thread.sleep(FRAME_MS);
        }
        return false;
    }

    @Test
    @Timeout(120)
    void aRateLimitedLinkDropsTheLayersItCannotCarryAndTakesThemBackWhenItCan() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        ProducerParams published = new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, RoomHarness.VIDEO_PT, 90000,
                -1, MID_EXT, true, 0, RIDS, RID_EXT, TWCC_EXT);
        OnA onA = a.control(() -> {
            Room room = a.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = a.endpoint(pub, "pub-ep");
            Track t = pub.publish(pe, "video", published);
            Endpoint link = room.addMember("node:b").createWebRtcEndpoint("link-b", EndpointListener.NONE);
            return new OnA(room, pe, t, link);
        });
        OnB onB = b.control(() -> {
            Room room = b.engine.rooms().open("r");
            Member nodeA = room.addMember("node:a");
            Endpoint link = nodeA.createEndpoint("link-a", RelayTransport.factory("127.0.0.1"), EndpointListener.NONE);
            Track relayed = nodeA.publish(link, "video", new ProducerParams("0", TrackKind.VIDEO, Codec.VP8,
                    RoomHarness.VIDEO_PT, 90000, LINK_SSRC, 0, true, 0, RIDS, 0, TWCC_EXT));
            Endpoint sub = b.endpoint(room.addMember("sub"), "sub");
            room.subscribe(sub, relayed, subscriber(0x5001, 100));
            return new OnB(room, link, sub);
        });
        // "Down" is A -> B (the relay's target is A's media port; B dials through it).
        Impairment backbone = new Impairment(10_000, 0, 0, 0);
        RoomHarness.connectRelay(a, onA.link(), b, onB.link(), mediaA -> {
            relay = ImpairmentRelay.start(new InetSocketAddress("127.0.0.1", 0), mediaA, backbone, backbone);
            return relay.address();
        });
        a.control(() -> onA.room().relay(onA.link(), onA.track(), LINK_SSRC));
        a.settle();
        Publisher pub = new Publisher(a.transport(onA.pub()));
        MemoryTransport sub = b.transport(onB.sub());

        assertTrue(sendUntil(pub, 10_000, () -> lastLayer(sub) == 2),
                "unlimited, B's subscriber gets the top layer: " + lastLayer(sub));
        sendUntil(pub, 3_000, () -> false);
        assertTrue(lastLayer(sub) == 2, "and keeps it on a link with room for every layer: " + lastLayer(sub) + ", "
                + onA.link().stats().join());

        System.out.println("unlimited: " + onA.link().stats().join());
        relay.setImpairment(backbone, new Impairment(10_000, 0, 0, LIMIT_BPS));
        assertTrue(sendUntil(pub, 15_000, () -> lastLayer(sub) >= 0 && lastLayer(sub) < 2),
                "limited to 1 Mbit/s, the subscriber moves below the top layer: " + lastLayer(sub) + ", link "
                        + onA.link().stats().join());
        LinkStats squeezed = onA.link().stats().join();
        System.out.println("limited, layer " + lastLayer(sub) + ": " + squeezed);
        assertTrue(squeezed.estimateBps() > 0 && squeezed.estimateBps() < 1_400_000,
                "A's estimate of the link is near its limit: " + squeezed);
        assertEquals(1, squeezed.tracksCapped(), "A reports the track sent with fewer layers than B asks for");
        // Settled below the limit, the link loses (almost) nothing: the layers that cross, cross whole.
        sendUntil(pub, 3_000, () -> false);
        long droppedBefore = relay.downDropped();
        long forwardedBefore = relay.downForwarded();
        int subBefore = sub.rtpSent.size();
        sendUntil(pub, 4_000, () -> false);
        long dropped = relay.downDropped() - droppedBefore;
        long forwarded = relay.downForwarded() - forwardedBefore;
        assertTrue(dropped * 100 <= forwarded, "under 1 % lost on the link once layers were shed: " + dropped
                + " dropped, " + forwarded + " forwarded");
        assertTrue(sub.rtpSent.size() - subBefore >= 90, "and B's subscriber still gets video at full frame rate: "
                + (sub.rtpSent.size() - subBefore) + " packets in 4 s");
        assertTrue(lastLayer(sub) < 2, "still below the top layer: " + lastLayer(sub));

        System.out.println("settled: " + dropped + " of " + (dropped + forwarded) + " lost; "
                + onA.link().stats().join());
        relay.setImpairment(backbone, backbone);
        assertTrue(sendUntil(pub, 45_000, () -> lastLayer(sub) == 2),
                "the limit lifted, the top layer crosses again: " + lastLayer(sub) + ", link "
                        + onA.link().stats().join());
        System.out.println("lifted: " + onA.link().stats().join());
        assertEquals(0, onA.link().stats().join().tracksCapped(), "and none capped any more");
    }
}
