package io.cascadesfu.core.relay;

import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
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
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Transport-cc over a relay link is hop by hop: node A numbers what it sends on the link with the link's own
 * transport-wide sequence, node B reports their arrival back, and A's estimate of the link is fed by that feedback
 * (the publisher's own numbers, which A has never sent, would match nothing). A packet lost on the link and resent
 * goes with the number it first had. Two engines in one JVM with real UDP, DTLS and SRTP between them.
 */
class RelayTransportCcTest {
    static final long PUB_SSRC = 0x2345;
    static final long LINK_SSRC = 0x7800_0000L;
    static final int TWCC_EXT = 3;
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

    /** A VP8 packet with the publisher's transport-cc number {@code transportSeq} (extension {@link #TWCC_EXT}). */
    static byte[] packet(int seq, int transportSeq, boolean keyframe) {
        return packet(PUB_SSRC, seq, transportSeq, keyframe);
    }

    /** As {@link #packet(int, int, boolean)} on {@code ssrc}. */
    static byte[] packet(long ssrc, int seq, int transportSeq, boolean keyframe) {
        ByteBuf p = Unpooled.buffer(64);
        p.writeByte(0x90).writeByte(RoomHarness.VIDEO_PT).writeShort(seq).writeInt(seq * 3000).writeInt((int) ssrc);
        p.writeShort(0xBEDE).writeShort(1);
        p.writeByte(TWCC_EXT << 4 | 1).writeShort(transportSeq).writeByte(0);
        p.writeByte(0x10).writeByte(keyframe ? 0x00 : 0x01).writeShort(0).writeZero(200);
        byte[] out = new byte[p.readableBytes()];
        p.readBytes(out);
        return out;
    }

    record OnA(Room room, Endpoint pub, Track track, Endpoint link) {
    }

    record OnB(Room room, Endpoint link, Endpoint sub) {
    }

    @Test
    void theServingNodeNumbersEachHopAndTheFarNodesFeedbackMeasuresTheLink() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        ProducerParams published = new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, RoomHarness.VIDEO_PT, 90000,
                PUB_SSRC, 0, true, 0, List.of(), 0, TWCC_EXT);
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
            // As the cascade publishes a remote track: the publisher's extension ids, the link's SSRC.
            Track relayed = nodeA.publish(link, "video", new ProducerParams("0", TrackKind.VIDEO, Codec.VP8,
                    RoomHarness.VIDEO_PT, 90000, LINK_SSRC, 0, true, 0, List.of(), 0, TWCC_EXT));
            Endpoint sub = b.endpoint(room.addMember("sub"), "sub");
            room.subscribe(sub, relayed, subscriber(0x5001, 100));
            return new OnB(room, link, sub);
        });
        RoomHarness.connectRelay(a, onA.link(), b, onB.link());
        a.control(() -> onA.room().relay(onA.link(), onA.track(), LINK_SSRC));
        a.settle();

        MemoryTransport pub = a.transport(onA.pub());
        MemoryTransport sub = b.transport(onB.sub());
        RelayTransport link = (RelayTransport) b.worker(0).loop().submit(() -> onB.link().transport()).get();
        // The publisher's numbers start far from where the link's do: feedback about them would match nothing on A.
        for (int i = 0; i < 300; i++) {
            if (i == 150) {
                link.client().dropNextIncoming(100 + 160); // one packet lost on the link
            }
            pub.inject(packet(100 + i, 40_000 + i, i % 100 == 0));
            Thread.sleep(3); // about a video stream's pace
        }
        // From its first keyframe on (it subscribed before the link was up), every packet, the lost one resent.
        RoomHarness.waitUntil("the subscriber on B to get up to the last packet",
                () -> sub.rtpSent.stream().anyMatch(r -> RoomHarness.seqOf(r) == 100 + 299));
        List<Integer> got = sub.rtpSent.stream().map(RoomHarness::seqOf).distinct().sorted().toList();
        int first = got.get(0);
        assertTrue(first <= 200, "B's subscriber started by the keyframe at 200 at the latest: " + first);
        RoomHarness.waitUntil("the packet lost on the link to be resent",
                () -> sub.rtpSent.stream().anyMatch(r -> RoomHarness.seqOf(r) == 260));
        got = sub.rtpSent.stream().map(RoomHarness::seqOf).distinct().toList();
        assertEquals(100 + 300 - first, got.size(), "nothing missing on B from " + first + ": " + got);
        assertTrue(a.metrics.retransmittedCount() >= 1, "A resent what the link lost");
        RoomHarness.waitUntil("A's estimate of the link to be fed by B's feedback",
                () -> onA.link().stats().join().ackedBps() > 0);
        LinkStats stats = onA.link().stats().join();
        assertTrue(stats.estimateBps() > 0, "an estimate of the link: " + stats);
    }
}
