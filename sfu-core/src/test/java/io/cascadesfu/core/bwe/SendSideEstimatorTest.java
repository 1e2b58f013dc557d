package io.cascadesfu.core.bwe;

import static io.cascadesfu.core.bwe.LinkSimulation.MS;
import static io.cascadesfu.core.bwe.LinkSimulation.SECOND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.rtp.TestBytes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The estimator against a simulated bottleneck (see {@link LinkSimulation}) and against bad feedback. */
class SendSideEstimatorTest {
    static final long MIN_BPS = 50_000;
    static final long MAX_BPS = 10_000_000;

    static void simulate(long startBps, long capacityBps, long seed, Consumer<LinkSimulation> scenario) {
        LinkSimulation sim = new LinkSimulation(new SendSideEstimator(startBps, MIN_BPS, MAX_BPS), capacityBps, seed);
        try {
            scenario.accept(sim);
            assertEquals(0, sim.estimator.ignoredFeedback(), "honest feedback was ignored");
        } finally {
            sim.release();
        }
    }

    /** Estimates sampled every 100 ms over {@code durationNs}: {min, max}. */
    static long[] range(LinkSimulation sim, long durationNs) {
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (long t = 0; t < durationNs; t += 100 * MS) {
            sim.run(100 * MS);
            min = Math.min(min, sim.estimator.estimateBps());
            max = Math.max(max, sim.estimator.estimateBps());
        }
        return new long[] {min, max};
    }

    static void assertSettled(LinkSimulation sim, long capacityBps, long durationNs) {
        long[] range = range(sim, durationNs);
        assertTrue(range[0] >= 0.7 * capacityBps && range[1] <= 1.15 * capacityBps,
                "estimate ranged " + range[0] + ".." + range[1] + " on a link of " + capacityBps);
    }

    @Test
    void risesFromALowStartAndSettlesAtTheBottleneck() {
        long capacity = 1_500_000;
        simulate(300_000, capacity, 1, sim -> {
            sim.run(20 * SECOND);
            assertSettled(sim, capacity, 20 * SECOND);
            assertEquals(0, sim.droppedPackets, "the queue overflowed");
        });
    }

    @Test
    void settlesWithoutProbingToo() {
        long capacity = 1_500_000;
        simulate(300_000, capacity, 2, sim -> {
            sim.probing = false;
            sim.run(20 * SECOND);
            assertTrue(sim.estimator.estimateBps() > 1_000_000, "only " + sim.estimator.estimateBps());
            sim.run(5 * SECOND);
            assertSettled(sim, capacity, 20 * SECOND);
        });
    }

    @Test
    void settlesOnALongerPath() {
        long capacity = 1_500_000;
        simulate(300_000, capacity, 3, sim -> {
            sim.propagationNs = 80 * MS;
            sim.returnDelayNs = 80 * MS;
            sim.run(20 * SECOND);
            assertSettled(sim, capacity, 20 * SECOND);
        });
    }

    @Test
    void settlesDespiteArrivalJitter() {
        long capacity = 1_500_000;
        simulate(300_000, capacity, 11, sim -> {
            sim.jitterNs = 15 * MS;
            sim.run(20 * SECOND);
            assertSettled(sim, capacity, 20 * SECOND);
        });
    }

    /** C = 2.5 Mbps for 20 s, then 600 kbps. */
    static void capacityDrop(LinkSimulation sim) {
        sim.run(20 * SECOND);
        assertTrue(sim.estimator.estimateBps() > 1_800_000, "before the drop: " + sim.estimator.estimateBps());
        sim.capacityBps = 600_000;
        long tookNs = sim.runUntilBelow(700_000, 2 * SECOND);
        assertTrue(tookNs >= 0, "still " + sim.estimator.estimateBps() + " after 2 s");
    }

    @Test
    void fallsBelowTheNewCapacityWithinTwoSecondsOfADrop() {
        simulate(300_000, 2_500_000, 4, SendSideEstimatorTest::capacityDrop);
    }

    @Test
    void risesAgainWhenTheCapacityComesBack() {
        simulate(300_000, 2_500_000, 5, sim -> {
            capacityDrop(sim);
            sim.run(10 * SECOND);
            assertTrue(sim.estimator.estimateBps() < 700_000, "at 600 kbps: " + sim.estimator.estimateBps());
            sim.capacityBps = 2_500_000;
            long tookNs = sim.runUntilAbove(1_500_000, 15 * SECOND);
            assertTrue(tookNs >= 0, "still " + sim.estimator.estimateBps() + " after 15 s");
            assertSettled(sim, 2_500_000, 10 * SECOND);
        });
    }

    @Test
    void heavyRandomLossLowersTheEstimateDespiteAmpleCapacity() {
        simulate(2_000_000, 50_000_000, 6, sim -> {
            sim.lossRate = 0.2;
            double lossSum = 0;
            int samples = 0;
            for (int i = 0; i < 20; i++) {
                sim.run(500 * MS);
                lossSum += sim.estimator.lossFraction();
                samples++;
            }
            SendSideEstimator e = sim.estimator;
            assertTrue(e.estimateBps() < 1_000_000, "still " + e.estimateBps());
            assertTrue(e.lossBasedBps() < e.delayBasedBps(), "the loss-based estimate should be what limits");
            double meanLoss = lossSum / samples;
            assertTrue(meanLoss > 0.12 && meanLoss < 0.3, "mean loss fraction " + meanLoss);
        });
    }

    @Test
    void lightRandomLossDoesNotHoldTheEstimateDown() {
        simulate(1_000_000, 50_000_000, 7, sim -> {
            sim.lossRate = 0.01;
            sim.run(15 * SECOND);
            assertTrue(sim.estimator.estimateBps() > 4_000_000, "only " + sim.estimator.estimateBps());
        });
    }

    @Test
    void garbageFeedbackIsCountedAndChangesNothing() {
        LinkSimulation sim = new LinkSimulation(new SendSideEstimator(300_000, MIN_BPS, MAX_BPS), 1_500_000, 8);
        try {
            sim.run(8 * SECOND);
            SendSideEstimator e = sim.estimator;
            int last = sim.lastSeq();
            Random random = new Random(8);
            byte[] noise = new byte[48];
            random.nextBytes(noise);
            List<Supplier<ByteBuf>> garbage = List.of(
                    () -> TestBytes.buffer(noise),
                    // A generic NACK (RTPFB FMT 1), not transport-cc.
                    () -> TestBytes.buffer(0x81, 205, 0x00, 0x03, 0, 0, 0x11, 0x11, 0, 0, 0x22, 0x22, 0, 1, 0, 0),
                    // Length field one word beyond the bytes given.
                    () -> Feedbacks.build(last, 3, 0, 0, new int[] {0x2003}, new int[] {1, 1, 1}, 1),
                    // More statuses (9000, all lost) than the history holds.
                    () -> Feedbacks.build((last - 8_999) & 0xFFFF, 9_000, 0, 0,
                            new int[] {0x1FFF, 9_000 - 0x1FFF}, new int[0], 0),
                    // Received packets that were never sent.
                    () -> Feedbacks.build((last + 1_000) & 0xFFFF, 3, 0, 0, new int[] {0x2003}, new int[] {1, 1, 1}, 0),
                    // Received packets older than the history.
                    () -> Feedbacks.build((last - 9_000) & 0xFFFF, 3, 0, 0, new int[] {0x2003}, new int[] {1, 1, 1}, 0),
                    // Two packets sent a frame apart said to arrive 8 s apart.
                    () -> Feedbacks.build((last - 1) & 0xFFFF, 2, 0, 0, new int[] {0xE800},
                            new int[] {0x00, 0x00, 0x7D, 0x00}, 0),
                    // A reference time days away from the receiver's clock.
                    () -> Feedbacks.build(last, 1, 0x400000, 0, new int[] {0x2001}, new int[] {0}, 0));
            for (int i = 0; i < garbage.size(); i++) {
                long[] before = {e.estimateBps(), e.delayBasedBps(), e.lossBasedBps(), e.ackedBps(), e.rttHintNs(),
                        Double.doubleToLongBits(e.lossFraction())};
                ByteBuf buf = garbage.get(i).get();
                try {
                    e.onFeedback(buf, 0, buf.readableBytes(), sim.nowNs);
                } finally {
                    buf.release();
                }
                assertEquals(i + 1, e.ignoredFeedback(), "garbage " + i + " was not counted");
                long[] after = {e.estimateBps(), e.delayBasedBps(), e.lossBasedBps(), e.ackedBps(), e.rttHintNs(),
                        Double.doubleToLongBits(e.lossFraction())};
                assertEquals(List.of(before[0], before[1], before[2], before[3], before[4], before[5]),
                        List.of(after[0], after[1], after[2], after[3], after[4], after[5]), "garbage " + i);
            }
            // And honest feedback goes on working.
            sim.run(10 * SECOND);
            assertEquals(garbage.size(), e.ignoredFeedback());
            assertSettled(sim, 1_500_000, 5 * SECOND);
        } finally {
            sim.release();
        }
    }

    /**
     * 1 Mbps of 1250-byte packets every 10 ms, one in five lost, 30 ms (+ up to 2 ms jitter) to the receiver,
     * feedback every 50 ms: the estimator hears 800 kbps acknowledged and 20 % lost.
     */
    @Test
    void measuresAcknowledgedBitrateAndLoss() {
        SendSideEstimator e = new SendSideEstimator(500_000, MIN_BPS, MAX_BPS);
        TransportCcRecorder recorder = new TransportCcRecorder();
        Random random = new Random(9);
        ArrayDeque<long[]> wire = new ArrayDeque<>();
        ByteBuf out = Unpooled.buffer();
        try {
            int seq = 0;
            for (long now = 0; now < 3 * SECOND; now += MS) {
                if (now % (10 * MS) == 0) {
                    e.onPacketSent(seq, 1250, now);
                    if (seq % 5 != 2) {
                        wire.add(new long[] {seq, now + 30 * MS + random.nextInt(2_000_000)});
                    }
                    seq++;
                }
                while (!wire.isEmpty() && wire.peek()[1] <= now) {
                    long[] p = wire.poll();
                    recorder.onPacket((int) p[0], p[1] + 777 * SECOND);
                }
                if (now % (50 * MS) == 0) {
                    out.clear();
                    while (recorder.hasPending()) {
                        int start = out.writerIndex();
                        int len = recorder.writeFeedback(out, 1, 2);
                        e.onFeedback(out, start, len, now + 20 * MS);
                    }
                }
            }
            assertEquals(0, e.ignoredFeedback());
            assertTrue(Math.abs(e.ackedBps() - 800_000) < 40_000, "acked " + e.ackedBps());
            assertEquals(0.2, e.lossFraction(), 0.05);
            assertTrue(e.rttHintNs() >= 50 * MS && e.rttHintNs() <= 110 * MS, "rtt hint " + e.rttHintNs());
        } finally {
            out.release();
        }
    }

    @Test
    void asksForProbesAtMostEveryIntervalAndNotAboveTheMaximum() {
        SendSideEstimator e = new SendSideEstimator(300_000, MIN_BPS, MAX_BPS);
        assertFalse(e.wantsProbe(0), "nothing sent yet");
        e.onPacketSent(0, 1000, 0);
        assertTrue(e.wantsProbe(MS));
        assertEquals(600_000, e.probeTargetBps());
        assertTrue(e.probeEndNs() > MS && e.probeEndNs() <= MS + 100 * MS);
        assertFalse(e.wantsProbe(2 * MS), "one at a time");
        // Its feedback never comes: it times out, and the next waits for the interval.
        assertFalse(e.wantsProbe(SendSideEstimator.PROBE_INTERVAL_NS - MS));
        assertEquals(0, e.probeTargetBps());
        assertTrue(e.wantsProbe(SendSideEstimator.PROBE_INTERVAL_NS + 2 * MS));

        SendSideEstimator high = new SendSideEstimator(8_000_000, MIN_BPS, MAX_BPS);
        high.onPacketSent(0, 1000, 0);
        assertTrue(high.wantsProbe(0));
        assertEquals(MAX_BPS, high.probeTargetBps());
        SendSideEstimator top = new SendSideEstimator(MAX_BPS, MIN_BPS, MAX_BPS);
        top.onPacketSent(0, 1000, 0);
        assertFalse(top.wantsProbe(0));
    }

    @Test
    void estimateStaysWithinTheBounds() {
        assertEquals(MAX_BPS, new SendSideEstimator(50 * MAX_BPS, MIN_BPS, MAX_BPS).estimateBps());
        assertEquals(MIN_BPS, new SendSideEstimator(1, MIN_BPS, MAX_BPS).estimateBps());
        simulate(300_000, 100_000, 10, sim -> {
            sim.run(20 * SECOND);
            assertTrue(sim.estimator.estimateBps() >= MIN_BPS && sim.estimator.estimateBps() < 150_000,
                    "on a 100 kbps link: " + sim.estimator.estimateBps());
        });
    }
}
