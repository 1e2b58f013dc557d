package io.cascadesfu.core.rtp;

import io.cascadesfu.core.rtcp.NtpTime;
import io.netty.buffer.ByteBuf;

/**
 * RFC 3550 receiver statistics for one incoming stream: extended highest sequence number with cycles, expected
 * and lost packets (A.1, A.3), interarrival jitter (A.8) and the LSR/DLSR of the last sender report (6.4.1), and
 * the report block that carries them:
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 SSRC_1 (SSRC of first source)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | fraction lost |       cumulative number of packets lost       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           extended highest sequence number received           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      interarrival jitter                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         last SR (LSR)                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   delay since last SR (DLSR)                  |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * </pre>
 *
 * <p>Sequence tracking follows A.1 without the probation period: the first packet starts the stream; a jump of
 * {@link #MAX_DROPOUT} or more ahead (or more than {@link #MAX_MISORDER} behind) is ignored unless the next packet
 * follows it, which restarts the counts. Duplicates count as received, as in A.3, so the loss can go negative.
 * Jitter is kept as a double in timestamp units (the floating-point form of A.8).
 *
 * <p>Lifecycle: one per received stream, lives as long as the stream. Not thread-safe: only the event loop that
 * owns the stream may call it. No allocation.
 */
public final class RtpReceiveStats {

    public static final int MAX_DROPOUT = 3000;
    public static final int MAX_MISORDER = 100;
    /** Bytes written by {@link #writeReportBlock}. */
    public static final int REPORT_BLOCK_LENGTH = 24;

    private static final int SEQ_MOD = 1 << 16;
    private static final long TIMESTAMP_MASK = 0xFFFF_FFFFL;
    private static final double NANOS_PER_SECOND = 1e9;
    private static final int MIN_CUMULATIVE_LOST = -0x80_0000;
    private static final int MAX_CUMULATIVE_LOST = 0x7F_FFFF;

    private final int clockRate;

    private boolean started;
    private int maxSeq;
    private long cycles;
    private int baseSeq;
    /** RFC 3550 A.1 bad_seq: the sequence number that would confirm a restart; -1 if none. */
    private int badSeq = -1;
    private long received;
    private long expectedPrior;
    private long receivedPrior;

    private double jitter;
    private long lastArrivalNs;
    private long lastRtpTimestamp;

    private boolean haveSenderReport;
    private long lastSrNtp;
    private long lastSrArrivalNs;

    /** {@code clockRate} of the stream's RTP timestamps in Hz. */
    public RtpReceiveStats(int clockRate) {
        if (clockRate <= 0) {
            throw new IllegalArgumentException("clockRate must be positive: " + clockRate);
        }
        this.clockRate = clockRate;
    }

    /** Accounts one received packet (after SRTP, before any reordering); {@code arrivalNs} is monotonic. */
    public void onPacket(int seq, long rtpTimestamp, long arrivalNs) {
        seq &= 0xFFFF;
        rtpTimestamp &= TIMESTAMP_MASK;
        if (!started) {
            started = true;
            restart(seq);
            received = 1;
            lastArrivalNs = arrivalNs;
            lastRtpTimestamp = rtpTimestamp;
            return;
        }
        int udelta = (seq - maxSeq) & 0xFFFF;
        if (udelta < MAX_DROPOUT) {
            if (seq < maxSeq) {
                cycles += SEQ_MOD;
            }
            maxSeq = seq;
        } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
            if (seq != badSeq) {
                badSeq = (seq + 1) & 0xFFFF;
                return;
            }
            // Two sequential packets after a big jump: the sender restarted (counted from this packet, as in
            // A.1). Its timestamps start afresh too, so the jitter estimate continues from this packet.
            restart(seq);
            received = 1;
            lastArrivalNs = arrivalNs;
            lastRtpTimestamp = rtpTimestamp;
            return;
        }
        // else: duplicate or reordered within MAX_MISORDER, counted as received.
        received++;
        updateJitter(rtpTimestamp, arrivalNs);
    }

    /** Records a sender report from this stream's sender: its NTP timestamp and when it arrived (monotonic). */
    public void onSenderReport(long ntpTimestamp, long arrivalNs) {
        haveSenderReport = true;
        lastSrNtp = ntpTimestamp;
        lastSrArrivalNs = arrivalNs;
    }

    private void restart(int seq) {
        baseSeq = seq;
        maxSeq = seq;
        badSeq = -1;
        cycles = 0;
        received = 0;
        expectedPrior = 0;
        receivedPrior = 0;
    }

    private void updateJitter(long rtpTimestamp, long arrivalNs) {
        // D(i-1,i) = (R_i - R_{i-1}) - (S_i - S_{i-1}); differences keep the numbers small and survive the wrap.
        double arrivalTicks = (arrivalNs - lastArrivalNs) * (double) clockRate / NANOS_PER_SECOND;
        int timestampTicks = (int) (rtpTimestamp - lastRtpTimestamp);
        double d = Math.abs(arrivalTicks - timestampTicks);
        jitter += (d - jitter) / 16.0;
        lastArrivalNs = arrivalNs;
        lastRtpTimestamp = rtpTimestamp;
    }

    public boolean hasReceived() {
        return started;
    }

    /** Sequence number wrap count shifted left 16 (the RFC's {@code cycles}). */
    public long cycles() {
        return cycles;
    }

    public int baseSequence() {
        return baseSeq;
    }

    /** Highest sequence number received, extended with the wrap count. */
    public long extendedHighestSequence() {
        return cycles + maxSeq;
    }

    public long packetsReceived() {
        return received;
    }

    public long packetsExpected() {
        return started ? extendedHighestSequence() - baseSeq + 1 : 0;
    }

    /** Cumulative packets lost (expected - received); negative with duplicates. */
    public long cumulativeLost() {
        return packetsExpected() - received;
    }

    /** Loss since the last report as a fixed-point fraction of 256, without resetting the interval. */
    public int fractionLost() {
        long expectedInterval = packetsExpected() - expectedPrior;
        long lostInterval = expectedInterval - (received - receivedPrior);
        if (expectedInterval <= 0 || lostInterval <= 0) {
            return 0;
        }
        return (int) Math.min(255, (lostInterval << 8) / expectedInterval);
    }

    /** Interarrival jitter estimate in timestamp units, as reported. */
    public long jitter() {
        return (long) jitter;
    }

    /** Interarrival jitter in nanoseconds. */
    public long jitterNs() {
        return (long) (jitter * NANOS_PER_SECOND / clockRate);
    }

    /** LSR: middle 32 bits of the last SR's NTP timestamp, 0 if none received. */
    public long lastSrNtpMiddle() {
        return haveSenderReport ? NtpTime.middle32(lastSrNtp) : 0;
    }

    /** DLSR in units of 1/65536 s, 0 if no SR was received. */
    public long delaySinceLastSr(long nowNs) {
        return haveSenderReport ? NtpTime.toShortFormat(nowNs - lastSrArrivalNs) : 0;
    }

    /**
     * Appends one 24-byte report block about this stream at {@code out.writerIndex()} and starts a new interval
     * for the fraction lost. The caller owns {@code out}; the block count of the enclosing SR/RR is the caller's
     * to set.
     *
     * @param ssrc the SSRC of the stream reported on (SSRC_1)
     */
    public void writeReportBlock(ByteBuf out, long ssrc, long nowNs) {
        int fraction = fractionLost();
        long lost = Math.max(MIN_CUMULATIVE_LOST, Math.min(MAX_CUMULATIVE_LOST, cumulativeLost()));
        out.writeInt((int) ssrc);
        out.writeInt((fraction << 24) | ((int) lost & 0xFF_FFFF));
        out.writeInt((int) extendedHighestSequence());
        out.writeInt((int) Math.min(jitter(), TIMESTAMP_MASK));
        out.writeInt((int) lastSrNtpMiddle());
        out.writeInt((int) delaySinceLastSr(nowNs));
        expectedPrior = packetsExpected();
        receivedPrior = received;
    }
}
