package io.cascadesfu.core.bwe;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayDeque;
import java.util.Random;

/**
 * A deterministic sender / bottleneck / receiver loop on a simulated clock, for {@link SendSideEstimator}: the
 * sender makes a frame every {@link #FRAME_NS} at min(estimate, {@link #maxSendBps}) (plus padding while the
 * estimator probes), the bottleneck is a FIFO of {@link #capacityBps} with a drop-tail byte limit and optional random
 * loss in front, the receiver records arrivals in a {@link TransportCcRecorder} and sends feedback every
 * {@link #FEEDBACK_NS} over an uncongested return path. The receiver's clock is offset from the sender's (across a
 * wrap of the 24-bit reference time) so nothing depends on shared time bases. No sleeping, no sockets.
 */
final class LinkSimulation {
    static final long MS = 1_000_000L;
    static final long SECOND = 1_000 * MS;
    static final long STEP_NS = MS;
    static final long FRAME_NS = 20 * MS;
    static final long FEEDBACK_NS = 50 * MS;
    static final int MAX_PACKET_BYTES = 1200;
    static final int PADDING_BYTES = 1000;
    /** The receiver's clock: 3 s before the signed 24-bit reference time wraps. */
    static final long RECEIVER_OFFSET_NS = (1L << 23) * TransportCcFeedback.REFERENCE_TICK_US * 1000 - 3 * SECOND;

    final SendSideEstimator estimator;
    final TransportCcRecorder recorder = new TransportCcRecorder();
    final Random random;

    long capacityBps;
    double lossRate;
    long maxSendBps = 5_000_000;
    long propagationNs = 20 * MS;
    long returnDelayNs = 20 * MS;
    long queueLimitBytes = 100_000;
    boolean probing = true;
    /** Up to this much extra delay after the bottleneck, random per packet (order kept). */
    long jitterNs;
    private long lastArrivalNs;

    long nowNs = 10 * SECOND;
    private long nextFrameNs = nowNs;
    private long nextFeedbackNs = nowNs + FEEDBACK_NS;
    private int seq = 65_000; // wraps early on
    private long probeEndNs;
    private long probeBps;
    private double paddingBudgetBytes;

    // Bottleneck queue and the packets on the wire after it: {seq, bytes, enqueue or arrival time}.
    private final ArrayDeque<long[]> queue = new ArrayDeque<>();
    private long queuedBytes;
    private long linkFreeNs;
    private final ArrayDeque<long[]> wire = new ArrayDeque<>();
    private final ArrayDeque<Object[]> feedback = new ArrayDeque<>();
    private final ByteBuf scratch = Unpooled.buffer(2048);

    long sentPackets;
    long droppedPackets;
    long feedbackPackets;

    LinkSimulation(SendSideEstimator estimator, long capacityBps, long seed) {
        this.estimator = estimator;
        this.capacityBps = capacityBps;
        this.random = new Random(seed);
    }

    /** Advances the simulation by {@code durationNs}. */
    void run(long durationNs) {
        long end = nowNs + durationNs;
        while (nowNs < end) {
            step();
            nowNs += STEP_NS;
        }
    }

    /** Runs {@code durationNs}, and returns the first time (ns from the start of this call) the estimate exceeds
     * {@code bps}, or -1. */
    long runUntilAbove(long bps, long durationNs) {
        long start = nowNs;
        long end = nowNs + durationNs;
        while (nowNs < end) {
            step();
            nowNs += STEP_NS;
            if (estimator.estimateBps() > bps) {
                return nowNs - start;
            }
        }
        return -1;
    }

    long runUntilBelow(long bps, long durationNs) {
        long start = nowNs;
        long end = nowNs + durationNs;
        while (nowNs < end) {
            step();
            nowNs += STEP_NS;
            if (estimator.estimateBps() < bps) {
                return nowNs - start;
            }
        }
        return -1;
    }

    private void step() {
        if (probing && estimator.wantsProbe(nowNs)) {
            probeEndNs = estimator.probeEndNs();
            probeBps = estimator.probeTargetBps();
        }
        long mediaBps = Math.min(estimator.estimateBps(), maxSendBps);
        if (nowNs >= nextFrameNs) {
            long frameBytes = mediaBps * FRAME_NS / SECOND / 8;
            int packets = (int) Math.max(1, (frameBytes + MAX_PACKET_BYTES - 1) / MAX_PACKET_BYTES);
            for (int i = 0; i < packets; i++) {
                send((int) Math.max(100, frameBytes / packets), nowNs + i * 10_000L);
            }
            nextFrameNs += FRAME_NS;
        }
        if (nowNs < probeEndNs && probeBps > mediaBps) {
            paddingBudgetBytes += (probeBps - mediaBps) / 8.0 * STEP_NS / SECOND;
            int k = 0;
            while (paddingBudgetBytes >= PADDING_BYTES) {
                send(PADDING_BYTES, nowNs + 500_000L + k++ * 10_000L);
                paddingBudgetBytes -= PADDING_BYTES;
            }
        } else {
            paddingBudgetBytes = 0;
        }
        serveLink(nowNs + STEP_NS);
        while (!wire.isEmpty() && wire.peekFirst()[2] < nowNs + STEP_NS) {
            long[] p = wire.pollFirst();
            recorder.onPacket((int) p[0], p[2] + RECEIVER_OFFSET_NS);
        }
        if (nowNs >= nextFeedbackNs) {
            while (recorder.hasPending()) {
                scratch.clear();
                recorder.writeFeedback(scratch, 1, 2);
                byte[] bytes = new byte[scratch.readableBytes()];
                scratch.getBytes(scratch.readerIndex(), bytes);
                feedback.addLast(new Object[] {nowNs + returnDelayNs, bytes});
                feedbackPackets++;
            }
            nextFeedbackNs += FEEDBACK_NS;
        }
        while (!feedback.isEmpty() && (long) feedback.peekFirst()[0] <= nowNs) {
            Object[] f = feedback.pollFirst();
            byte[] bytes = (byte[]) f[1];
            ByteBuf buf = Unpooled.wrappedBuffer(bytes);
            try {
                estimator.onFeedback(buf, 0, bytes.length, (long) f[0]);
            } finally {
                buf.release();
            }
        }
    }

    private void send(int bytes, long sendNs) {
        int s = seq & 0xFFFF;
        seq++;
        sentPackets++;
        estimator.onPacketSent(s, bytes, sendNs);
        serveLink(sendNs);
        if (lossRate > 0 && random.nextDouble() < lossRate || queuedBytes + bytes > queueLimitBytes) {
            droppedPackets++;
            return;
        }
        queue.addLast(new long[] {s, bytes, sendNs});
        queuedBytes += bytes;
    }

    /** Moves every packet whose transmission ends before {@code untilNs} from the queue to the wire. */
    private void serveLink(long untilNs) {
        while (!queue.isEmpty()) {
            long[] p = queue.peekFirst();
            long start = Math.max(p[2], linkFreeNs);
            long done = start + p[1] * 8 * SECOND / capacityBps;
            if (done > untilNs) {
                return;
            }
            queue.pollFirst();
            queuedBytes -= p[1];
            linkFreeNs = done;
            long arrivalNs = done + propagationNs;
            if (jitterNs > 0) {
                arrivalNs = Math.max(lastArrivalNs, arrivalNs + (long) (random.nextDouble() * jitterNs));
            }
            lastArrivalNs = arrivalNs;
            wire.addLast(new long[] {p[0], p[1], arrivalNs});
        }
    }

    /** The transport-wide sequence number sent last. */
    int lastSeq() {
        return (seq - 1) & 0xFFFF;
    }

    void release() {
        scratch.release();
    }
}
