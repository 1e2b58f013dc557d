package io.cascadesfu.load;

import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What every simulated participant of a run adds to: packet and byte counters (striped adders) and
 * latency/jitter recorders (HdrHistogram {@link Recorder}: wait-free for the recording threads, the
 * reporter takes interval snapshots). No lock on the per-packet path.
 *
 * <p>Threading: {@code record*} and the adders from any thread (the clients' event loops);
 * {@link #takeInterval()} and the cumulative histograms from the one reporting thread only.
 */
final class LoadStats {
    /** One-way latency above this (60 s) is clamped: it only happens when clocks or packets are broken. */
    static final long MAX_LATENCY_US = 60_000_000L;
    static final long MAX_JITTER_US = 10_000_000L;

    final LongAdder packetsSent = new LongAdder();
    final LongAdder bytesSent = new LongAdder();
    final LongAdder packetsReceived = new LongAdder();
    final LongAdder bytesReceived = new LongAdder();
    /** RTP without our probe header, or malformed. */
    final LongAdder foreignPackets = new LongAdder();
    final LongAdder keyframesSent = new LongAdder();
    final LongAdder keyframeRequests = new LongAdder();
    /** Packets asked for again by subscribers (each NACKed sequence number, retries included). */
    final LongAdder nacksSent = new LongAdder();
    /** Packets resent by publishers answering NACKs. */
    final LongAdder retransmissionsSent = new LongAdder();

    private final Recorder latencyUs = new Recorder(MAX_LATENCY_US, 3);
    private final Recorder jitterUs = new Recorder(MAX_JITTER_US, 3);

    /** Everything since the start; reporter thread only. */
    final Histogram latencyTotal = new Histogram(MAX_LATENCY_US, 3);
    final Histogram jitterTotal = new Histogram(MAX_JITTER_US, 3);

    /** The same per kind, [0] audio, [1] video, since {@link #resetTotals()}; read by {@link #kindTotals}. */
    private final Recorder[] latencyByKindUs = {new Recorder(MAX_LATENCY_US, 3), new Recorder(MAX_LATENCY_US, 3)};
    private final Recorder[] jitterByKindUs = {new Recorder(MAX_JITTER_US, 3), new Recorder(MAX_JITTER_US, 3)};

    private Histogram latencyInterval;
    private Histogram jitterInterval;

    void recordLatencyUs(long us) {
        latencyUs.recordValue(Math.max(0, Math.min(MAX_LATENCY_US, us)));
    }

    void recordJitterUs(long us) {
        jitterUs.recordValue(Math.max(0, Math.min(MAX_JITTER_US, us)));
    }

    void recordLatencyUs(long us, boolean video) {
        recordLatencyUs(us);
        latencyByKindUs[video ? 1 : 0].recordValue(Math.max(0, Math.min(MAX_LATENCY_US, us)));
    }

    void recordJitterUs(long us, boolean video) {
        recordJitterUs(us);
        jitterByKindUs[video ? 1 : 0].recordValue(Math.max(0, Math.min(MAX_JITTER_US, us)));
    }

    /** Latency and jitter of one kind since {@link #resetTotals()} (call once, at the end). Reporter thread. */
    Interval kindTotals(boolean video) {
        int k = video ? 1 : 0;
        return new Interval(latencyByKindUs[k].getIntervalHistogram(), jitterByKindUs[k].getIntervalHistogram());
    }

    /** The latency and jitter of the interval since the last call, also added to the totals. Reporter thread. */
    Interval takeInterval() {
        latencyInterval = latencyUs.getIntervalHistogram(latencyInterval);
        jitterInterval = jitterUs.getIntervalHistogram(jitterInterval);
        latencyTotal.add(latencyInterval);
        jitterTotal.add(jitterInterval);
        return new Interval(latencyInterval, jitterInterval);
    }

    /** Starts the totals afresh (the interval so far is dropped). Reporter thread. */
    void resetTotals() {
        takeInterval();
        latencyTotal.reset();
        jitterTotal.reset();
        for (int k = 0; k < 2; k++) {
            latencyByKindUs[k].reset();
            jitterByKindUs[k].reset();
        }
    }

    /** Histograms of one reporting interval; valid until the next {@link #takeInterval()}. */
    record Interval(Histogram latencyUs, Histogram jitterUs) {
    }
}
