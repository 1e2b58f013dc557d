package io.cascadesfu.core.room;

import static io.cascadesfu.core.room.RoomGraphTest.nack;
import static io.cascadesfu.core.testing.RoomHarness.seqOf;
import static io.cascadesfu.core.testing.RoomHarness.ssrcOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Retransmissions to subscribers with transport-wide numbering on: on the rtx stream (RFC 4588) where negotiated,
 * else in the stream, byte for byte as first sent (the SRTP index is the same, so must be the plaintext); and
 * every packet a subscriber is sent carries its transport's next transport-wide sequence number.
 */
class RetransmissionTest {
    static final int PUB_TWCC = 7;
    static final int SUB_TWCC = 3;
    static final long PUB_SSRC = 0x3333;
    static final long SUB_SSRC = 0x5000;
    static final long RTX_SSRC = 0x5001;
    static final int RTX_PT = 97;

    RoomHarness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    /** VP8 (keyframe first) with the publisher's transport-wide number at id 7. */
    static byte[] packet(int seq, int transportSeq, boolean keyframe) {
        ByteBuf b = Unpooled.buffer(64);
        b.writeByte(0x90).writeByte(RoomHarness.VIDEO_PT).writeShort(seq).writeInt(seq * 3000)
                .writeInt((int) PUB_SSRC);
        b.writeShort(0xBEDE).writeShort(1).writeByte(PUB_TWCC << 4 | 1).writeShort(transportSeq).writeByte(0);
        b.writeByte(0x10).writeByte(keyframe ? 0 : 1);
        for (int i = 0; i < 20; i++) {
            b.writeByte(seq + i);
        }
        return Arrays.copyOf(b.array(), b.writerIndex());
    }

    static int transportSeqOf(byte[] p) {
        assertEquals(SUB_TWCC << 4 | 1, p[16] & 0xFF, "the transport-wide element, at the subscriber's id");
        return Unpooled.wrappedBuffer(p).getUnsignedShort(17);
    }

    record Call(Endpoint pub, Endpoint sub) {
    }

    Call call(boolean rtx) {
        return call(rtx, null);
    }

    /** With {@code mid} not null, the subscriber negotiated sdes:mid at id {@link #SUB_MID} for that mid. */
    Call call(boolean rtx, String mid) {
        h = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        Call c = h.control(() -> {
            Room room = h.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = h.endpoint(pub, "pub-ep");
            Track t = pub.publish(pe, "v", new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, RoomHarness.VIDEO_PT,
                    90000, PUB_SSRC, 0, true, 0, List.of(), 0, PUB_TWCC));
            Endpoint se = h.endpoint(room.addMember("sub"), "sub-ep");
            byte[] ids = new byte[256];
            ids[PUB_TWCC] = SUB_TWCC;
            room.subscribe(se, t, new ConsumerParams(SUB_SSRC, 100, ids, rtx ? RTX_SSRC : -1, rtx ? RTX_PT : -1,
                    null, mid == null ? 0 : SUB_MID, mid));
            return new Call(pe, se);
        });
        h.settle();
        MemoryTransport pub = h.transport(c.pub());
        for (int i = 0; i < 10; i++) {
            pub.inject(packet(200 + i, 9000 + i, i == 0));
        }
        h.settle();
        return c;
    }

    @Test
    void everyPacketCarriesTheSubscribersOwnTransportWideNumbers() {
        Call c = call(true);
        List<byte[]> sent = h.transport(c.sub()).rtpSent;
        assertEquals(10, sent.size());
        int first = transportSeqOf(sent.get(0));
        for (int i = 1; i < sent.size(); i++) {
            assertEquals((first + i) & 0xFFFF, transportSeqOf(sent.get(i)), "consecutive, the publisher's replaced");
        }
    }

    @Test
    void aNackIsAnsweredOnTheRtxStreamWithTheOriginalSequenceNumberFirst() {
        Call c = call(true);
        MemoryTransport sub = h.transport(c.sub());
        List<byte[]> first = new ArrayList<>(sub.rtpSent);
        int lastTransport = transportSeqOf(first.get(9));
        int s4 = seqOf(first.get(4));
        sub.inject(nack(SUB_SSRC, s4, 1)); // s4 and s4 + 1
        h.settle();
        assertEquals(12, sub.rtpSent.size());
        for (int k = 0; k < 2; k++) {
            byte[] original = first.get(4 + k);
            byte[] rtx = sub.rtpSent.get(10 + k);
            assertEquals(RTX_SSRC, ssrcOf(rtx), "on the rtx SSRC");
            assertEquals(RTX_PT, rtx[1] & 0x7F, "with the rtx payload type");
            assertEquals(original[1] & 0x80, rtx[1] & 0x80, "marker kept");
            assertEquals(seqOf(original), Unpooled.wrappedBuffer(rtx).getUnsignedShort(20), "OSN first in the payload");
            assertArrayEquals(Arrays.copyOfRange(original, 20, original.length),
                    Arrays.copyOfRange(rtx, 22, rtx.length), "then the payload as sent");
            assertEquals((lastTransport + 1 + k) & 0xFFFF, transportSeqOf(rtx), "a new packet: a new number");
        }
        assertEquals((seqOf(sub.rtpSent.get(10)) + 1) & 0xFFFF, seqOf(sub.rtpSent.get(11)), "rtx numbers its own");
    }

    static final int SUB_MID = 4;

    /** The data of the subscriber's mid element in {@code p}, null if none. */
    static String midOf(byte[] p) {
        io.netty.buffer.ByteBuf b = Unpooled.wrappedBuffer(p);
        int at = io.cascadesfu.core.rtp.RtpPacket.findExtension(b, SUB_MID);
        return at < 0 ? null : b.toString(at, io.cascadesfu.core.rtp.RtpPacket.extensionLength(b, at),
                java.nio.charset.StandardCharsets.US_ASCII);
    }

    @Test
    void everyPacketAndEveryResendCarriesTheSubscribersMidWhenNegotiated() {
        Call c = call(true, "17");
        MemoryTransport sub = h.transport(c.sub());
        assertEquals(10, sub.rtpSent.size());
        for (byte[] p : sub.rtpSent) {
            assertEquals("17", midOf(p), "the subscriber's mid, not the publisher's");
            transportSeqOf(p); // still first in the block, at the subscriber's id
            assertEquals(24, io.cascadesfu.core.rtp.RtpPacket.validate(Unpooled.wrappedBuffer(p)),
                    "the block grew by one word");
        }
        byte[] original = sub.rtpSent.get(4);
        sub.inject(nack(SUB_SSRC, seqOf(original), 0));
        h.settle();
        byte[] rtx = sub.rtpSent.get(10);
        assertEquals(RTX_SSRC, ssrcOf(rtx));
        assertEquals("17", midOf(rtx));
        assertEquals(seqOf(original), Unpooled.wrappedBuffer(rtx).getUnsignedShort(24), "OSN after the header");
        assertArrayEquals(Arrays.copyOfRange(original, 24, original.length), Arrays.copyOfRange(rtx, 26, rtx.length));

        h.close();
        Call plain = call(false, null);
        assertEquals(null, midOf(h.transport(plain.sub()).rtpSent.get(0)), "none when not negotiated");
    }

    @Test
    void withoutRtxAResendWithTheMidIsByteForByteWhatWasSent() {
        Call c = call(false, "3");
        MemoryTransport sub = h.transport(c.sub());
        List<byte[]> first = new ArrayList<>(sub.rtpSent);
        sub.inject(nack(SUB_SSRC, seqOf(first.get(6)), 0));
        h.settle();
        assertEquals(11, sub.rtpSent.size());
        assertEquals("3", midOf(sub.rtpSent.get(10)));
        assertArrayEquals(first.get(6), sub.rtpSent.get(10));
    }

    @Test
    void withoutRtxAResendIsByteForByteWhatWasSentNumbersIncluded() {
        Call c = call(false);
        MemoryTransport sub = h.transport(c.sub());
        List<byte[]> first = new ArrayList<>(sub.rtpSent);
        sub.inject(nack(SUB_SSRC, seqOf(first.get(6)), 0));
        h.settle();
        assertEquals(11, sub.rtpSent.size());
        assertArrayEquals(first.get(6), sub.rtpSent.get(10), "same bytes, transport-wide number included");
    }

    @Test
    void aNackStormGetsNoMoreThanTheResendBudget() {
        Call c = call(true);
        MemoryTransport sub = h.transport(c.sub());
        int first = seqOf(sub.rtpSent.get(0));
        for (int i = 0; i < 200; i++) {
            sub.inject(nack(SUB_SSRC, first, 0x1FF)); // all ten, again and again
        }
        h.settle();
        int resent = sub.rtpSent.size() - 10;
        int packetBytes = sub.rtpSent.get(0).length;
        int budgetPackets = io.cascadesfu.core.media.SimpleConsumerBudget.MIN_RESEND_BYTES / packetBytes + 1;
        assertTrue(resent > 10, "a real receiver's NACKs are answered: " + resent);
        assertTrue(resent <= budgetPackets, resent + " resent of 2000 asked, budget " + budgetPackets);
        assertTrue(h.metrics.dropped(io.cascadesfu.core.metrics.DropReason.RESEND_BUDGET) >= 2000 - budgetPackets - 1);
    }

    @Test
    void theSubscribersFeedbackDrivesItsEstimate() {
        Call c = call(true);
        MemoryTransport sub = h.transport(c.sub());
        // The subscriber reports all ten received, 1 ms apart.
        io.cascadesfu.core.bwe.TransportCcRecorder rec = new io.cascadesfu.core.bwe.TransportCcRecorder();
        long t0 = System.nanoTime();
        for (int i = 0; i < 10; i++) {
            rec.onPacket(transportSeqOf(sub.rtpSent.get(i)), t0 + i * 1_000_000L);
        }
        ByteBuf fb = Unpooled.buffer(1200);
        assertTrue(rec.writeFeedback(fb, 0x9999, SUB_SSRC) > 0);
        sub.inject(Arrays.copyOf(fb.array(), fb.writerIndex()));
        h.settle();
        long estimate;
        try {
            estimate = h.worker(0).loop().submit(() -> c.sub().peer().estimatedBps()).get();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertTrue(estimate >= 50_000 && estimate <= 30_000_000, "an estimate within bounds: " + estimate);
    }
}
