package io.cascadesfu.core.rtp;

/**
 * What an RTCP sender report says about one outgoing stream (RFC 3550 6.4.1): packets and payload octets sent,
 * and the last RTP timestamp with the monotonic time it was sent at, from which the RTP timestamp matching the
 * report's NTP time is extrapolated.
 *
 * <p>Lifecycle: one per outgoing stream. Not thread-safe: only the event loop that sends the stream may call it.
 */
public final class RtpSendStats {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private long packetCount;
    private long octetCount;
    private long lastRtpTimestamp;
    private long lastSentNs;
    private boolean sent;

    /** Accounts one sent packet; {@code payloadBytes} excludes header and padding, as the SR octet count does. */
    public void onPacketSent(int payloadBytes, long rtpTimestamp, long nowNs) {
        packetCount++;
        octetCount += payloadBytes;
        lastRtpTimestamp = rtpTimestamp & 0xFFFF_FFFFL;
        lastSentNs = nowNs;
        sent = true;
    }

    public boolean hasSent() {
        return sent;
    }

    /** Packets sent; the SR field keeps the low 32 bits. */
    public long packetCount() {
        return packetCount;
    }

    /** Payload octets sent; the SR field keeps the low 32 bits. */
    public long octetCount() {
        return octetCount;
    }

    public long lastRtpTimestamp() {
        return lastRtpTimestamp;
    }

    public long lastSentNs() {
        return lastSentNs;
    }

    /** RTP timestamp corresponding to {@code nowNs}: the last one advanced by the time since it was sent. */
    public long rtpTimestampAt(long nowNs, int clockRate) {
        long elapsedNs = nowNs - lastSentNs;
        long ticks = (elapsedNs / NANOS_PER_SECOND) * clockRate + (elapsedNs % NANOS_PER_SECOND) * clockRate / NANOS_PER_SECOND;
        return (lastRtpTimestamp + ticks) & 0xFFFF_FFFFL;
    }
}
