package io.cascadesfu.core.bwe;

import static io.cascadesfu.core.rtp.TestBytes.guarded;
import static io.cascadesfu.core.rtp.TestBytes.guardsIntact;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.bwe.Feedbacks.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/** The parser on arbitrary and feedback-shaped bytes; the recorder and parser on arbitrary arrival patterns. */
class TransportCcPropertyTest {

    private static final int GUARD = 16;

    /** A transport-cc header (sometimes with P set) whose length field is usually right, over random bytes. */
    @Provide
    Arbitrary<byte[]> feedbackLike() {
        return Arbitraries.integers().between(5, 40).flatMap(words ->
                Arbitraries.bytes().array(byte[].class).ofSize(4 * words).map(b -> {
                    b[0] = (byte) (0x8F | (b[0] & 0x20));
                    b[1] = (byte) 205;
                    if (b[2] % 5 != 0) {
                        b[2] = 0;
                        b[3] = (byte) (words - 1);
                    }
                    if (b[14] % 3 != 0) { // mostly a small status count
                        b[14] = 0;
                    }
                    return b;
                }));
    }

    @Provide
    Arbitrary<byte[]> anyBytes() {
        return Arbitraries.oneOf(feedbackLike(), Arbitraries.bytes().array(byte[].class).ofMaxSize(120));
    }

    static int parse(ByteBuf buf, int len, int[] visits) {
        visits[0] = 0;
        return TransportCcFeedback.parse(buf, 0, len, (seq, received, fromReferenceUs) -> {
            assertTrue(seq >= 0 && seq <= 0xFFFF);
            visits[0]++;
        });
    }

    @Property(tries = 3000)
    void parseNeverThrowsNorReadsOutsideAndVisitsWhatItCounts(@ForAll("anyBytes") byte[] bytes) {
        ByteBuf exact = Unpooled.buffer(bytes.length, bytes.length).writeBytes(bytes);
        ByteBuf zeros = guarded(bytes, GUARD, 0x00);
        ByteBuf ones = guarded(bytes, GUARD, 0xFF);
        try {
            int[] visits = new int[1];
            int n = parse(exact, bytes.length, visits);
            assertTrue(n == TransportCcFeedback.MALFORMED || n >= 0 && n <= TransportCcFeedback.MAX_STATUS_COUNT);
            assertEquals(Math.max(n, 0), visits[0]);
            if (n >= 0) {
                assertTrue(TransportCcFeedback.isTransportCc(exact, 0));
            }
            assertEquals(n, parse(zeros, bytes.length, visits));
            assertEquals(n, parse(ones, bytes.length, visits));
            // A shorter len never reads further.
            if (bytes.length > 0) {
                int cut = parse(exact, bytes.length - 1, visits);
                assertTrue(cut == TransportCcFeedback.MALFORMED || cut >= 0);
            }
            assertTrue(guardsIntact(zeros, GUARD, 0x00) && guardsIntact(ones, GUARD, 0xFF));
        } finally {
            exact.release();
            zeros.release();
            ones.release();
        }
    }

    /** Steps between recorded packets: a sequence number step (0: a duplicate) and an arrival time step in us. */
    @Provide
    Arbitrary<List<int[]>> arrivalPatterns() {
        Arbitrary<Integer> seqStep = Arbitraries.frequencyOf(
                Tuple.of(80, Arbitraries.just(1)),
                Tuple.of(15, Arbitraries.integers().between(2, 20)),
                Tuple.of(3, Arbitraries.integers().between(21, 2_000)),
                Tuple.of(2, Arbitraries.just(0)));
        Arbitrary<Integer> timeStep = Arbitraries.frequencyOf(
                Tuple.of(70, Arbitraries.integers().between(0, 3_000)),
                Tuple.of(15, Arbitraries.integers().between(-20_000, 0)),
                Tuple.of(12, Arbitraries.integers().between(60_000, 2_000_000)),
                Tuple.of(3, Arbitraries.integers().between(8_000_000, 30_000_000)));
        return Combinators.combine(seqStep, timeStep).as((s, t) -> new int[] {s, t}).list().ofMinSize(1).ofMaxSize(600);
    }

    @Property(tries = 300)
    void everyStatusComesBackOnceInOrderWithItsArrivalTime(@ForAll("arrivalPatterns") List<int[]> steps,
                                                           @ForAll("startSeq") int startSeq) {
        TransportCcRecorder recorder = new TransportCcRecorder();
        Map<Integer, Long> arrivals = new HashMap<>();
        long seq = startSeq;
        long timeUs = 1_000_000_000L;
        long firstPending = seq + steps.get(0)[0]; // the first packet recorded
        long highest = firstPending;
        int repeats = 0;
        for (int i = 0; i < steps.size(); i++) {
            seq += steps.get(i)[0];
            timeUs += steps.get(i)[1];
            recorder.onPacket((int) (seq & 0xFFFF), timeUs * 1000 + 77);
            arrivals.putIfAbsent((int) (seq & 0xFFFF), timeUs);
            highest = Math.max(highest, seq);
            if (i > 0 && steps.get(i)[0] == 0) {
                repeats++;
            }
            // Flush like a periodic timer would, and before the ring could overflow.
            if (i % 50 == 49 || highest - firstPending > 2_000 || i == steps.size() - 1) {
                ByteBuf out = Feedbacks.flush(recorder);
                try {
                    List<Status> statuses = Feedbacks.statuses(out);
                    for (Feedbacks.Packet p : Feedbacks.packets(out)) {
                        assertTrue(p.length() <= TransportCcRecorder.MAX_PACKET_BYTES);
                    }
                    assertEquals(highest - firstPending + 1, statuses.size());
                    for (int k = 0; k < statuses.size(); k++) {
                        Status s = statuses.get(k);
                        int expected = (int) ((firstPending + k) & 0xFFFF);
                        assertEquals(expected, s.seq());
                        Long at = arrivals.get(expected);
                        assertEquals(at != null, s.received());
                        if (at != null) {
                            assertTrue(Math.abs(s.arrivalUs() - at) <= 250, s + " recorded at " + at);
                        }
                    }
                } finally {
                    out.release();
                }
                arrivals.clear();
                firstPending = highest + 1;
            }
        }
        // A repeat is a duplicate, or late if its first copy was already reported.
        assertEquals(repeats, recorder.duplicates() + recorder.late());
        assertEquals(0, recorder.overrun());
    }

    @Provide
    Arbitrary<Integer> startSeq() {
        return Arbitraries.oneOf(Arbitraries.integers().between(0, 0xFFFF), Arbitraries.integers().between(65_000, 65_535));
    }
}
