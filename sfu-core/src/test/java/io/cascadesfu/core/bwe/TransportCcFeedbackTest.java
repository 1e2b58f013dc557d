package io.cascadesfu.core.bwe;

import static io.cascadesfu.core.rtp.TestBytes.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.bwe.Feedbacks.Status;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The feedback layout of draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1, on bytes written from it. */
class TransportCcFeedbackTest {

    /**
     * Fourteen statuses from 0xFFFA (wrapping to 0x0007) in three chunks of the three kinds: a run of four small
     * deltas, a two-bit vector of seven, and a one-bit vector of which only three count.
     */
    static final int[] SPEC_PACKET = {
        0x8F, 0xCD, 0x00, 0x09, // V=2 P=0 FMT=15 | PT=205 | length 9 (40 bytes)
        0x11, 0x11, 0x11, 0x11, // SSRC of packet sender
        0x22, 0x22, 0x22, 0x22, // SSRC of media source
        0xFF, 0xFA, 0x00, 0x0E, // base sequence number 65530 | packet status count 14
        0x00, 0x00, 0x10, 0x05, // reference time 16 (x 64 ms = 1.024 s) | feedback packet count 5
        0x20, 0x04,             // run length: T=0 S=01 (small delta) length 4
        0xC9, 0x06,             // 2-bit vector: T=1 S=1 00 10 01 00 00 01 10 (lost large small lost lost small large)
        0xA8, 0x00,             // 1-bit vector: T=1 S=0 1 0 1, then 11 unused zero bits
        0x04, 0x00, 0xFF, 0x01, // small deltas: 1 ms, 0, 63.75 ms, 0.25 ms (the run)
        0xFF, 0x38,             // large delta: -200 ticks = -50 ms (0xFFFF)
        0x08,                   // small delta: 2 ms (0x0000)
        0x10,                   // small delta: 4 ms (0x0003)
        0x10, 0x00,             // large delta: 4096 ticks = 1.024 s (0x0004)
        0x02,                   // small delta: 0.5 ms (0x0005)
        0x03,                   // small delta: 0.75 ms (0x0007)
        0x00, 0x00,             // zero padding
    };

    static final List<Status> SPEC_STATUSES = List.of(
            new Status(0xFFFA, true, 1_000),
            new Status(0xFFFB, true, 1_000),
            new Status(0xFFFC, true, 64_750),
            new Status(0xFFFD, true, 65_000),
            new Status(0xFFFE, false, 0),
            new Status(0xFFFF, true, 15_000),
            new Status(0x0000, true, 17_000),
            new Status(0x0001, false, 0),
            new Status(0x0002, false, 0),
            new Status(0x0003, true, 21_000),
            new Status(0x0004, true, 1_045_000),
            new Status(0x0005, true, 1_045_500),
            new Status(0x0006, false, 0),
            new Status(0x0007, true, 1_046_250));

    static List<Status> visit(ByteBuf buf, int len, int[] result) {
        List<Status> statuses = new ArrayList<>();
        result[0] = TransportCcFeedback.parse(buf, 0, len,
                (seq, received, fromReferenceUs) -> statuses.add(new Status(seq, received, fromReferenceUs)));
        return statuses;
    }

    static void withSpecPacket(Consumer<ByteBuf> test) {
        ByteBuf buf = buffer(SPEC_PACKET);
        try {
            test.accept(buf);
        } finally {
            buf.release();
        }
    }

    @Test
    void parsesRunLengthAndBothStatusVectorsWrittenFromTheDraft() {
        withSpecPacket(buf -> {
            assertTrue(TransportCcFeedback.isTransportCc(buf, 0));
            assertEquals(40, TransportCcFeedback.lengthBytes(buf, 0));
            assertEquals(0x11111111L, TransportCcFeedback.senderSsrc(buf, 0));
            assertEquals(0x22222222L, TransportCcFeedback.mediaSsrc(buf, 0));
            assertEquals(0xFFFA, TransportCcFeedback.baseSequence(buf, 0));
            assertEquals(14, TransportCcFeedback.statusCount(buf, 0));
            assertEquals(16, TransportCcFeedback.referenceTicks(buf, 0));
            assertEquals(1_024_000, TransportCcFeedback.referenceTimeUs(buf, 0));
            assertEquals(5, TransportCcFeedback.feedbackPacketCount(buf, 0));
            int[] result = new int[1];
            assertEquals(SPEC_STATUSES, visit(buf, 40, result));
            assertEquals(14, result[0]);
            assertEquals(0, buf.readerIndex());
        });
    }

    @Test
    void offsetsAreFromTheReaderIndexAndLenMayExceedThePacket() {
        int[] bytes = new int[SPEC_PACKET.length + 8];
        System.arraycopy(SPEC_PACKET, 0, bytes, 4, SPEC_PACKET.length);
        ByteBuf buf = buffer(bytes);
        try {
            buf.readerIndex(2); // the packet is at offset 2 from here
            List<Status> statuses = new ArrayList<>();
            int n = TransportCcFeedback.parse(buf, 2, buf.readableBytes() - 2,
                    (seq, received, fromReferenceUs) -> statuses.add(new Status(seq, received, fromReferenceUs)));
            assertEquals(14, n);
            assertEquals(SPEC_STATUSES, statuses);
        } finally {
            buf.release();
        }
    }

    @Test
    void referenceTimeIsSigned() {
        withSpecPacket(buf -> {
            buf.setMedium(16, 0xFFFFFF);
            assertEquals(-1, TransportCcFeedback.referenceTicks(buf, 0));
            assertEquals(-64_000, TransportCcFeedback.referenceTimeUs(buf, 0));
            buf.setMedium(16, 0x800000);
            assertEquals(-(1 << 23), TransportCcFeedback.referenceTicks(buf, 0));
        });
    }

    @Test
    void paddingBitWithCountIsHonoured() {
        withSpecPacket(buf -> {
            buf.setByte(0, 0xAF); // P=1
            buf.setByte(39, 2);   // the last two bytes are padding
            int[] result = new int[1];
            assertEquals(SPEC_STATUSES, visit(buf, 40, result));
            assertEquals(14, result[0]);

            buf.setByte(39, 0); // P set, but no padding count
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, 0, 40, (s, r, d) -> { }));
            buf.setByte(39, 21); // more than the packet after its fixed part
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, 0, 40, (s, r, d) -> { }));
            buf.setByte(39, 4); // eats the last two deltas
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, 0, 40, (s, r, d) -> { }));
        });
    }

    @Test
    void rejectsWithoutVisitingWhatDoesNotHold() {
        List<Consumer<ByteBuf>> breakages = List.of(
                buf -> buf.setShort(2, 8),         // length cut to 36 bytes: the deltas run past the end
                buf -> buf.setShort(2, 10),        // length beyond the 40 bytes given
                buf -> buf.setShort(14, 0xFFFF),   // status count far beyond the chunks
                buf -> buf.setShort(20, 0x6004),   // run length with the reserved symbol 11
                buf -> buf.setShort(22, 0xCD06),   // 2-bit vector with the reserved symbol 11 in second place
                buf -> buf.setByte(0, 0x4F),       // version 1
                buf -> buf.setByte(0, 0x81),       // FMT 1 (generic NACK)
                buf -> buf.setByte(1, 206));       // PSFB
        for (int i = 0; i < breakages.size(); i++) {
            ByteBuf buf = buffer(SPEC_PACKET);
            try {
                breakages.get(i).accept(buf);
                int[] result = new int[1];
                List<Status> seen = visit(buf, 40, result);
                assertEquals(TransportCcFeedback.MALFORMED, result[0], "breakage " + i);
                assertTrue(seen.isEmpty(), "breakage " + i + " visited " + seen);
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void rejectsTooShortAndBadArguments() {
        withSpecPacket(buf -> {
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, 0, 19, (s, r, d) -> { }));
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, 0, 39, (s, r, d) -> { }));
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, 0, 41, (s, r, d) -> { }));
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, -1, 40, (s, r, d) -> { }));
            assertEquals(TransportCcFeedback.MALFORMED, TransportCcFeedback.parse(buf, 24, 16, (s, r, d) -> { }));
            assertFalse(TransportCcFeedback.isTransportCc(buf, 24));
            assertFalse(TransportCcFeedback.isTransportCc(buf, -4));
            buf.setShort(2, 3); // 16 bytes: shorter than the fixed part
            assertFalse(TransportCcFeedback.isTransportCc(buf, 0));
        });
    }

    @Test
    void zeroStatusesIsAnEmptyPacket() {
        ByteBuf buf = Feedbacks.build(7, 0, 0, 0, new int[0], new int[0], 0);
        try {
            int[] result = new int[1];
            assertTrue(visit(buf, buf.readableBytes(), result).isEmpty());
            assertEquals(0, result[0]);
        } finally {
            buf.release();
        }
    }

    @Test
    void lastVectorChunkMayCarryUnusedSymbolsButRunsAreCutToTheCount() {
        // Three statuses from a run that claims 100: the run is cut at the count, and only three deltas follow.
        ByteBuf buf = Feedbacks.build(1, 3, 0, 0, new int[] {0x2000 | 100}, new int[] {1, 2, 3}, 0);
        try {
            int[] result = new int[1];
            List<Status> statuses = visit(buf, buf.readableBytes(), result);
            assertEquals(3, result[0]);
            assertEquals(List.of(new Status(1, true, 250), new Status(2, true, 750), new Status(3, true, 1500)),
                    statuses);
        } finally {
            buf.release();
        }
    }
}
