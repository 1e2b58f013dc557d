package io.cascadesfu.core.bwe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.bwe.Feedbacks.Packet;
import io.cascadesfu.core.bwe.Feedbacks.Status;
import io.netty.buffer.ByteBuf;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Recorder to bytes to parser: what the sender reads back is what the receiver saw. */
class TransportCcRecorderTest {
    static final long MS = 1_000_000L;
    static final long SECOND = 1_000 * MS;
    /** One wrap of the 24-bit reference time, in microseconds. */
    static final long REFERENCE_WRAP_US = (1L << 24) * TransportCcFeedback.REFERENCE_TICK_US;

    /** Arrivals by sequence number (16 bits), in the order recorded; absent ones were lost. */
    final Map<Integer, Long> arrivals = new LinkedHashMap<>();
    final TransportCcRecorder recorder = new TransportCcRecorder();

    void arrive(int seq, long arrivalNs) {
        recorder.onPacket(seq & 0xFFFF, arrivalNs);
        arrivals.putIfAbsent(seq & 0xFFFF, arrivalNs);
    }

    /** Flushes and checks that statuses run contiguously from {@code firstSeq}, each as recorded. */
    List<Packet> flushAndCheck(int firstSeq, int expectedStatuses) {
        ByteBuf out = Feedbacks.flush(recorder);
        try {
            List<Packet> packets = Feedbacks.packets(out);
            List<Status> statuses = Feedbacks.statuses(out);
            assertEquals(expectedStatuses, statuses.size());
            int expectedBase = firstSeq & 0xFFFF;
            for (Packet p : packets) {
                assertTrue(p.length() <= TransportCcRecorder.MAX_PACKET_BYTES, "packet of " + p.length() + " bytes");
                assertEquals(expectedBase, p.baseSeq());
                expectedBase = (expectedBase + p.statusCount()) & 0xFFFF;
            }
            for (int i = 0; i < statuses.size(); i++) {
                Status s = statuses.get(i);
                assertEquals((firstSeq + i) & 0xFFFF, s.seq());
                Long arrivalNs = arrivals.get(s.seq());
                assertEquals(arrivalNs != null, s.received(), "status of " + s.seq());
                if (arrivalNs != null) {
                    long errorUs = Math.floorMod(s.arrivalUs() - arrivalNs / 1000, REFERENCE_WRAP_US);
                    errorUs = Math.min(errorUs, REFERENCE_WRAP_US - errorUs);
                    assertTrue(errorUs <= 250, "seq " + s.seq() + " off by " + errorUs + " us");
                }
            }
            assertFalse(recorder.hasPending());
            return packets;
        } finally {
            out.release();
        }
    }

    @Test
    void recoversArrivalTimesWithinATickAndReportsLosses() {
        Random random = new Random(1);
        long t = 5 * SECOND + 123_456;
        for (int seq = 100; seq < 400; seq++) {
            t += random.nextInt(3_000_000); // 0..3 ms, not on tick boundaries
            if (seq % 7 != 3) {
                arrive(seq, t);
            }
        }
        List<Packet> packets = flushAndCheck(100, 300);
        assertEquals(1, packets.size());
        assertEquals(0, recorder.duplicates() + recorder.late());
    }

    @Test
    void wrapsTheSixteenBitSequenceNumber() {
        long t = SECOND;
        for (int seq = 65_500; seq < 65_700; seq++) {
            t += 700_000;
            if (seq != 65_535 && seq != 65_536) {
                arrive(seq, t);
            }
        }
        flushAndCheck(65_500, 200);
    }

    @Test
    void longRunsOfLossCostOneChunk() {
        long t = SECOND;
        for (int seq = 0; seq < 10; seq++) {
            arrive(seq, t += MS);
        }
        for (int seq = 3_010; seq < 3_020; seq++) { // 3000 lost in between
            arrive(seq, t += MS);
        }
        List<Packet> packets = flushAndCheck(0, 3_020);
        assertEquals(1, packets.size());
        assertTrue(packets.get(0).length() <= 48, "3000 losses took " + packets.get(0).length() + " bytes");
    }

    @Test
    void longRunsOfSmallDeltasFillPacketsUpToTheLimit() {
        long t = SECOND;
        for (int seq = 0; seq < 2_000; seq++) {
            arrive(seq, t += MS);
        }
        List<Packet> packets = flushAndCheck(0, 2_000);
        assertEquals(2, packets.size());
        // Run-length chunks: almost every byte of the first packet is a delta.
        assertTrue(packets.get(0).statusCount() >= 1_070, "only " + packets.get(0).statusCount());
    }

    @Test
    void largeNegativeAndReorderedDeltas() {
        long t = 2 * SECOND;
        arrive(0, t);
        arrive(1, t += 100 * MS);       // > 64 ms: a large delta
        arrive(2, t += SECOND);         // 1 s
        arrive(3, t += 5 * SECOND);     // 5 s: still fits 16 bits of 250 us
        arrive(5, t + 3 * MS);          // 5 overtakes 4 and is recorded first,
        arrive(4, t + 4 * MS);          // so 5 comes 1 ms before 4: a negative delta
        arrive(6, t + MS);              // and 6 another 2 ms before that
        arrive(7, t - 8 * SECOND);      // 8 s before 6: the most negative a delta holds is -8.192 s
        t += 2 * MS;
        for (int seq = 8; seq < 30; seq++) {
            arrive(seq, t += 300_000);
        }
        List<Packet> packets = flushAndCheck(0, 30);
        assertEquals(1, packets.size());
    }

    @Test
    void gapOfMoreThanEightSecondsStartsANewPacketWithANewReferenceTime() {
        arrive(0, SECOND);
        arrive(1, SECOND + MS);
        arrive(2, 10 * SECOND);
        arrive(3, 10 * SECOND + MS);
        List<Packet> packets = flushAndCheck(0, 4);
        assertEquals(2, packets.size());
        assertEquals(2, packets.get(0).statusCount());
        assertNotEquals(packets.get(0).referenceUs(), packets.get(1).referenceUs());
        assertEquals((packets.get(0).feedbackCount() + 1) & 0xFF, packets.get(1).feedbackCount());
    }

    @Test
    void splitsIntoPacketsThatFitAndCountsThem() {
        Random random = new Random(7);
        long t = SECOND;
        for (int seq = 0; seq < 4_000; seq++) {
            int r = random.nextInt(100);
            t += r < 5 ? 70 * MS : r < 10 ? -random.nextInt(5_000_000) : random.nextInt(2_000_000);
            if (r % 9 != 0 || seq == 0 || seq == 3_999) { // the first and last arrive: 4000 statuses
                arrive(seq, t);
            }
        }
        List<Packet> packets = flushAndCheck(0, 4_000);
        assertTrue(packets.size() >= 4, packets.size() + " packets");
        for (int i = 1; i < packets.size(); i++) {
            assertEquals((packets.get(i - 1).feedbackCount() + 1) & 0xFF, packets.get(i).feedbackCount());
        }
    }

    @Test
    void periodicFlushesContinueWhereTheLastStopped() {
        long t = SECOND;
        int seq = 60_000;
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < 300; i++, seq++) {
                t += 400_000;
                if (seq % 11 != 0) {
                    arrive(seq, t);
                }
            }
            arrive(seq - 1, t); // each round's last arrives, so each flush covers exactly its round
            flushAndCheck(seq - 300, 300);
            arrivals.clear();
        }
    }

    @Test
    void ignoresDuplicatesAndPacketsAlreadyReported() {
        arrive(10, SECOND);
        arrive(12, SECOND + 2 * MS);
        arrive(12, SECOND + 3 * MS);
        assertEquals(1, recorder.duplicates());
        flushAndCheck(10, 3);
        recorder.onPacket(11, SECOND + 4 * MS); // reported lost already
        recorder.onPacket(9, SECOND + 4 * MS);  // before anything reported
        assertEquals(2, recorder.late());
        assertFalse(recorder.hasPending());
        arrivals.clear();
        arrive(13, SECOND + 5 * MS);
        flushAndCheck(13, 1);
    }

    @Test
    void keepsOnlyTheNewestCapacityPending() {
        long t = SECOND;
        arrive(0, t);
        arrive(TransportCcRecorder.CAPACITY + 100, t + MS);
        assertEquals(1, recorder.overrun());
        arrivals.remove(0);
        flushAndCheck(101, TransportCcRecorder.CAPACITY);
    }

    @Test
    void referenceTimeWrapsInTheReceiversClock() {
        long wrapNs = REFERENCE_WRAP_US * 1000;
        long t = wrapNs - 30 * MS;
        for (int seq = 0; seq < 100; seq++) {
            arrive(seq, t += 7 * MS); // crosses the wrap of the 24-bit reference time
            if (seq % 10 == 9) {
                flushAndCheck(seq - 9, 10);
                arrivals.clear();
            }
        }
    }

    @Test
    void nothingPendingWritesNothing() {
        ByteBuf out = Feedbacks.flush(recorder);
        try {
            assertEquals(0, out.readableBytes());
        } finally {
            out.release();
        }
    }
}
