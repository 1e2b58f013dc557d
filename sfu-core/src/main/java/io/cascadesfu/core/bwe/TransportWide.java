package io.cascadesfu.core.bwe;

/**
 * The transport-wide state of one transport on the wire: the sequence numbers stamped on what it sends, the
 * estimate their feedback drives, the arrival times of what it receives, and the numbering of its probe packets.
 * A browser's transport has one of its own; a relay link between two nodes has one that every room's channel on
 * it shares, so the link has one numbering, one estimate and one feedback stream whatever the number of rooms.
 *
 * <p>Sharing the estimate: each channel states what it would send ({@link #share}); while the whole demand fits
 * the estimate, every channel gets what it asks and the slack, else the estimate is split in proportion to demand.
 * Demands are those of each channel's last allocation (a round of {@code Router.ALLOCATION_INTERVAL_MS}).
 *
 * <p>Threading: the transport's worker loop only. No allocation after the estimator and recorder exist.
 */
public final class TransportWide {
    /** At most this many channels share one transport (a relay link: 2 × 2048 room channels, bounded lower here). */
    public static final int MAX_SHARERS = 4096;

    private int nextSeq;
    private int nextProbeSeq;
    private SendSideEstimator estimator;
    private TransportCcRecorder recorder;
    private final long[] demands = new long[MAX_SHARERS];
    private final boolean[] joined = new boolean[MAX_SHARERS];
    private int sharers;
    /** The sum of {@link #demands}. */
    private long totalDemand;

    /** The next transport-wide sequence number of what this transport sends. */
    public int nextSeq() {
        int seq = nextSeq;
        nextSeq = (nextSeq + 1) & 0xFFFF;
        return seq;
    }

    /** The next RTP sequence number of this transport's probe packets (one SSRC for all: SRTP needs them unique). */
    public int nextProbeSeq() {
        int seq = nextProbeSeq;
        nextProbeSeq = (nextProbeSeq + 1) & 0xFFFF;
        return seq;
    }

    /** The send-side estimate, made on first use with these bounds. */
    public SendSideEstimator estimator(long startBps, long minBps, long maxBps) {
        if (estimator == null) {
            estimator = new SendSideEstimator(startBps, minBps, maxBps);
        }
        return estimator;
    }

    /** The estimate if one was made, else null. */
    public SendSideEstimator estimatorOrNull() {
        return estimator;
    }

    /** The arrival recorder for feedback, made on first use. */
    public TransportCcRecorder recorder() {
        if (recorder == null) {
            recorder = new TransportCcRecorder();
        }
        return recorder;
    }

    /** Takes slot {@code slot} for a channel's demand (its channel key). */
    public void join(int slot) {
        if (!joined[slot]) {
            joined[slot] = true;
            demands[slot] = 0;
            sharers++;
        }
    }

    /** Gives the slot up. */
    public void leave(int slot) {
        if (joined[slot]) {
            joined[slot] = false;
            totalDemand -= demands[slot];
            demands[slot] = 0;
            sharers--;
        }
    }

    public int sharers() {
        return sharers;
    }

    /**
     * Records that the channel in {@code slot} would send {@code demandBps} and returns its part of {@code budget}:
     * the budget less what the others ask, while everything fits (it may then grow into the slack); else the
     * budget in proportion to its demand.
     */
    public long share(int slot, long demandBps, long budget) {
        long demand = Math.max(0, demandBps);
        totalDemand += demand - demands[slot];
        demands[slot] = demand;
        if (sharers <= 1) {
            return budget;
        }
        long total = totalDemand;
        if (total <= budget) {
            return budget - (total - demands[slot]);
        }
        return total == 0 ? budget / sharers : (long) ((double) budget * demands[slot] / total);
    }
}
