package io.cascadesfu.load;

/**
 * Receive statistics of one stream at one subscriber (subscriber × remote SSRC): packets received, packets
 * expected from the extended highest sequence number (RFC 3550 A.3, with wrap-around), interarrival
 * jitter (RFC 3550 A.8), and packets delivered in time: a distinct sequence number that arrived (first, or as a
 * retransmission) within the deadline of its send time, as an interactive call's jitter buffer would still play
 * it. Packets older than the highest (retransmissions, reordering) count as received but leave the jitter
 * alone, as a browser's do; with a {@link NackRequester} they also answer its open requests.
 *
 * <p>Threading: {@link #onPacket} on the subscriber client's event loop only (single writer); the counters
 * are volatile so the reporter may read them from its thread.
 */
final class ReceiveStream {
    /** Sequence numbers back from the highest whose in-time delivery is remembered (a power of two). */
    static final int WINDOW = 4096;

    final long ssrc;
    final int senderIndex;
    final boolean video;
    final int clockRate;
    /** Null: this stream is not NACKed. */
    final NackRequester nacks;
    private final long deadlineNs;
    /** Bit per extended sequence number modulo {@link #WINDOW}: delivered in time. */
    private final long[] inTimeBits = new long[WINDOW / 64];

    private boolean started;
    private long baseSeq;
    private long highestSeq;
    private long lastRtpTimestamp;
    private long lastArrivalNs;
    /** RFC 3550 J, in RTP timestamp units. */
    private double jitter;

    private volatile long received;
    private volatile long expected;
    private volatile long bytes;
    private volatile long inTime;

    ReceiveStream(long ssrc, int senderIndex, boolean video, int clockRate) {
        this(ssrc, senderIndex, video, clockRate, Long.MAX_VALUE, null);
    }

    /**
     * @param deadlineNs a packet is delivered in time if it arrives at most this long after its send time
     * @param nacks      told of gaps and late arrivals; null for none
     */
    ReceiveStream(long ssrc, int senderIndex, boolean video, int clockRate, long deadlineNs, NackRequester nacks) {
        this.ssrc = ssrc;
        this.senderIndex = senderIndex;
        this.video = video;
        this.clockRate = clockRate;
        this.deadlineNs = deadlineNs;
        this.nacks = nacks;
    }

    /** Accounts one packet without a send time (every one counts as in time). */
    long onPacket(int sequenceNumber, long rtpTimestamp, long arrivalNs, int length) {
        return onPacket(sequenceNumber, rtpTimestamp, arrivalNs, length, arrivalNs);
    }

    /**
     * Accounts one packet.
     *
     * @param sendTimeNs when the publisher sent it (its probe header), same clock as {@code arrivalNs}
     * @return the interarrival jitter after this packet, microseconds
     */
    long onPacket(int sequenceNumber, long rtpTimestamp, long arrivalNs, int length, long sendTimeNs) {
        long extended;
        if (!started) {
            started = true;
            baseSeq = sequenceNumber;
            highestSeq = sequenceNumber;
            extended = sequenceNumber;
            lastRtpTimestamp = rtpTimestamp;
            lastArrivalNs = arrivalNs;
        } else {
            // Signed 16-bit distance from the highest so far: works across the wrap, and a late
            // (reordered or retransmitted) packet does not move the highest back.
            extended = highestSeq + (short) (sequenceNumber - (int) (highestSeq & 0xFFFF));
            if (extended > highestSeq) {
                for (long s = Math.max(highestSeq + 1, extended - WINDOW + 1); s <= extended; s++) {
                    inTimeBits[(int) (s & (WINDOW - 1)) >>> 6] &= ~(1L << (s & 63)); // a new number's slot
                }
                if (nacks != null) {
                    nacks.onGap(highestSeq, extended, arrivalNs);
                }
                highestSeq = extended;
                long arrivalDelta = (arrivalNs - lastArrivalNs) * clockRate / 1_000_000_000L;
                long timestampDelta = (int) (rtpTimestamp - lastRtpTimestamp); // 32-bit wrap
                double d = Math.abs(arrivalDelta - timestampDelta);
                jitter += (d - jitter) / 16.0;
                lastRtpTimestamp = rtpTimestamp;
                lastArrivalNs = arrivalNs;
            } else if (nacks != null) {
                nacks.onLate(extended, arrivalNs);
            }
        }
        if (extended >= baseSeq && extended > highestSeq - WINDOW && arrivalNs - sendTimeNs <= deadlineNs) {
            int word = (int) (extended & (WINDOW - 1)) >>> 6;
            long bit = 1L << (extended & 63);
            if ((inTimeBits[word] & bit) == 0) {
                inTimeBits[word] |= bit;
                inTime = inTime + 1;
            }
        }
        received = received + 1;
        expected = highestSeq - baseSeq + 1;
        bytes = bytes + length;
        return (long) (jitter * 1_000_000.0 / clockRate);
    }

    /** Distinct packets delivered within the deadline of their send time. */
    long inTime() {
        return inTime;
    }

    /** Expected minus delivered in time, never negative: what the listener or viewer missed. */
    long missedDeadline() {
        return Math.max(0, expected - inTime);
    }

    long received() {
        return received;
    }

    long expected() {
        return expected;
    }

    /** Expected minus received, never negative (duplicates would make it so). */
    long lost() {
        return Math.max(0, expected - received);
    }

    long bytes() {
        return bytes;
    }
}
