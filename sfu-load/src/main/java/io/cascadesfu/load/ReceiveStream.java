package io.cascadesfu.load;

/**
 * Receive statistics of one stream at one subscriber (subscriber × remote SSRC): packets received, packets
 * expected from the extended highest sequence number (RFC 3550 A.3, with wrap-around), and interarrival
 * jitter (RFC 3550 A.8).
 *
 * <p>Threading: {@link #onPacket} on the subscriber client's event loop only (single writer); the counters
 * are volatile so the reporter may read them from its thread.
 */
final class ReceiveStream {
    final long ssrc;
    final int senderIndex;
    final boolean video;
    final int clockRate;

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

    ReceiveStream(long ssrc, int senderIndex, boolean video, int clockRate) {
        this.ssrc = ssrc;
        this.senderIndex = senderIndex;
        this.video = video;
        this.clockRate = clockRate;
    }

    /**
     * Accounts one packet.
     *
     * @return the interarrival jitter after this packet, microseconds
     */
    long onPacket(int sequenceNumber, long rtpTimestamp, long arrivalNs, int length) {
        if (!started) {
            started = true;
            baseSeq = sequenceNumber;
            highestSeq = sequenceNumber;
        } else {
            // Signed 16-bit distance from the highest so far: works across the wrap, and a late
            // (reordered) packet does not move the highest back.
            long extended = highestSeq + (short) (sequenceNumber - (int) (highestSeq & 0xFFFF));
            if (extended > highestSeq) {
                highestSeq = extended;
            }
            long arrivalDelta = (arrivalNs - lastArrivalNs) * clockRate / 1_000_000_000L;
            long timestampDelta = (int) (rtpTimestamp - lastRtpTimestamp); // 32-bit wrap
            double d = Math.abs(arrivalDelta - timestampDelta);
            jitter += (d - jitter) / 16.0;
        }
        lastRtpTimestamp = rtpTimestamp;
        lastArrivalNs = arrivalNs;
        received = received + 1;
        expected = highestSeq - baseSeq + 1;
        bytes = bytes + length;
        return (long) (jitter * 1_000_000.0 / clockRate);
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
