package io.cascadesfu.core.room;

import static io.cascadesfu.core.room.RoomGraphTest.nack;
import static io.cascadesfu.core.testing.RoomHarness.seqOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Lost audio is repaired on the last mile where NACK was negotiated for it: the node asks a publisher that took
 * NACK for Opus for the gaps in its audio, and resends to a subscriber that took it what that subscriber asks for,
 * byte for byte as first sent (red renumbered or cut to its primary block, the transport-wide number it had); a
 * subscriber that did not negotiate it gets nothing resent, and no audio is kept for it.
 */
class AudioNackTest {
    static final int PUB_RED = RedTest.PUB_RED;
    static final int PUB_OPUS = RedTest.PUB_OPUS;
    static final int PUB_TWCC = 7;
    static final int SUB_TWCC = 3;
    static final long PUB_SSRC = 0x4444;

    RoomHarness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    /** A red packet (one redundant block, then the primary) with the publisher's transport-wide number. */
    static byte[] red(int seq) {
        return RedTest.red(seq, PUB_TWCC, 7000 + seq, new byte[] {1, 2, 3, 4}, new byte[] {(byte) seq, 9, 8, 7, 6, 5});
    }

    record Call(Endpoint pub, Endpoint takesRed, Endpoint plainOpus, Endpoint noNack) {
    }

    Call call(boolean publisherNack) {
        h = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        Call c = h.control(() -> {
            Room room = h.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = h.endpoint(pub, "pub-ep");
            Track t = pub.publish(pe, "a", new ProducerParams("0", TrackKind.AUDIO, Codec.OPUS, PUB_OPUS, 48000,
                    PUB_SSRC, 0, true, 0, List.of(), 0, PUB_TWCC, publisherNack));
            byte[] ids = new byte[256];
            ids[PUB_TWCC] = SUB_TWCC;
            Endpoint s1 = h.endpoint(room.addMember("s1"), "s1");
            Endpoint s2 = h.endpoint(room.addMember("s2"), "s2");
            Endpoint s3 = h.endpoint(room.addMember("s3"), "s3");
            room.subscribe(s1, t, new ConsumerParams(0x51, 111, ids, -1, -1,
                    new ConsumerParams.RedMapping(PUB_RED, PUB_OPUS, 63, 111), 0, null, true));
            room.subscribe(s2, t, new ConsumerParams(0x52, 111, ids, -1, -1,
                    new ConsumerParams.RedMapping(PUB_RED, PUB_OPUS, -1, 111), 0, null, true));
            room.subscribe(s3, t, new ConsumerParams(0x53, 111, ids, -1, -1,
                    new ConsumerParams.RedMapping(PUB_RED, PUB_OPUS, 63, 111), 0, null, false));
            return new Call(pe, s1, s2, s3);
        });
        h.settle();
        return c;
    }

    @Test
    void aSubscriberThatNegotiatedNackGetsLostAudioResentAsFirstSent() {
        Call c = call(false);
        MemoryTransport pub = h.transport(c.pub());
        for (int i = 0; i < 10; i++) {
            pub.inject(red(300 + i));
        }
        h.settle();
        for (Endpoint e : List.of(c.takesRed(), c.plainOpus())) {
            MemoryTransport sub = h.transport(e);
            List<byte[]> first = new ArrayList<>(sub.rtpSent);
            assertEquals(10, first.size());
            long ssrc = RoomHarness.ssrcOf(first.get(0));
            sub.inject(nack(ssrc, seqOf(first.get(3)), 0b1)); // the 4th and 5th
            h.settle();
            assertEquals(12, sub.rtpSent.size(), "two resent to " + e);
            assertArrayEquals(first.get(3), sub.rtpSent.get(10), "byte for byte as sent: payload type, blocks, numbers");
            assertArrayEquals(first.get(4), sub.rtpSent.get(11));
        }
        assertEquals(63, h.transport(c.takesRed()).rtpSent.get(10)[1] & 0x7F, "red, renumbered");
        assertEquals(111, h.transport(c.plainOpus()).rtpSent.get(10)[1] & 0x7F, "the primary block, as Opus");

        MemoryTransport noNack = h.transport(c.noNack());
        noNack.inject(nack(RoomHarness.ssrcOf(noNack.rtpSent.get(0)), seqOf(noNack.rtpSent.get(3)), 0));
        h.settle();
        assertEquals(10, noNack.rtpSent.size(), "no NACK negotiated: nothing resent");
        assertEquals(4.0, h.metrics.retransmittedCount());
    }

    @Test
    void aGapInAPublishersAudioIsNackedOnlyWhenItNegotiatedNack() {
        for (boolean negotiated : new boolean[] {true, false}) {
            Call c = call(negotiated);
            MemoryTransport pub = h.transport(c.pub());
            pub.inject(red(10));
            pub.inject(red(11));
            pub.inject(red(13)); // 12 lost on the way in
            h.settle();
            List<Integer> asked = new ArrayList<>();
            for (byte[] rtcp : pub.rtcpSent) {
                ByteBuf b = Unpooled.wrappedBuffer(rtcp);
                int count = RtcpPacket.validateCompound(b);
                for (int i = 0, off = 0; i < count; i++, off += RtcpPacket.lengthBytes(b, off)) {
                    if (RtcpPacket.isNack(b, off)) {
                        assertEquals(PUB_SSRC, RtcpPacket.mediaSsrc(b, off));
                        asked.add(RtcpPacket.nackPid(b, off, 0));
                    }
                }
            }
            assertEquals(negotiated ? List.of(12) : List.of(), asked, "NACK negotiated: " + negotiated);
            h.close();
            h = null;
        }
    }
}
