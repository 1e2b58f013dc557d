package io.cascadesfu.core.media;

import io.cascadesfu.core.rtp.RtpReceiveStats;

/**
 * One RTP stream of a producer: the only one of a plain track, one simulcast layer (one {@code rid}) of a
 * simulcast track. Each has its own SSRC, sequence numbers, loss statistics, NACK state, packet cache, sender
 * reports and keyframe requests.
 *
 * <p>Threading: its producer's worker loop only.
 */
final class ProducerStream {
    /** A layer that sent nothing for this long is taken as stopped (the publisher dropped it for bandwidth or CPU). */
    static final long ACTIVE_NS = 1_200_000_000L;
    /** Bitrate window. */
    private static final long RATE_WINDOW_NS = 1_000_000_000L;

    final Producer producer;
    /** 0 = lowest quality. */
    final int layer;
    final String rid;
    final RtpReceiveStats receiveStats;
    /** What a subscriber or a far node may NACK. Video: from the start; audio: once a pipe or link consumes it. */
    PacketCache cache;
    /** Where the publisher's transport can lose packets (audio: only over a relay link): what the node asks again for. */
    final NackGenerator nacks;
    long ssrc;
    long lastPacketNs = Long.MIN_VALUE / 2;
    long lastKeyframeRequestNs = Long.MIN_VALUE / 2;
    /** Frame size seen in the last keyframe that carried one (VP8), 0 if unknown. */
    int width;
    int height;

    // Bitrate: bytes in the current and the previous window.
    private long windowStartNs;
    private long windowBytes;
    private long bitrateBps;

    // The publisher's last sender report for this stream: its NTP/RTP clock pair, for the subscribers' reports.
    boolean hasSenderReport;
    long srNtp;
    long srRtpTimestamp;
    long srArrivalNs;

    /**
     * @param askForLoss NACK the publisher for gaps: video from anyone who asked, audio only from a node over a relay
     *                   link (browsers do not answer NACKs for Opus; the far node answers from its audio cache)
     */
    ProducerStream(Producer producer, int layer, String rid, long ssrc, int clockRate, boolean video,
                   boolean askForLoss) {
        this.producer = producer;
        this.layer = layer;
        this.rid = rid;
        this.ssrc = ssrc;
        this.receiveStats = new RtpReceiveStats(clockRate);
        this.cache = video ? new PacketCache() : null;
        this.nacks = askForLoss ? new NackGenerator() : null;
    }

    /** Audio: keeps the last packets from now on, for a relay link's NACKs (see {@link Producer#addConsumer}). */
    void keepAudio() {
        if (cache == null) {
            cache = new PacketCache(PacketCache.AUDIO_CAPACITY);
        }
    }

    /** The sender said the stream ended (RTCP BYE): stopped now, until its next packet. */
    void onBye(long nowNs) {
        lastPacketNs = nowNs - ACTIVE_NS;
        if (nacks != null) {
            nacks.restart(); // a relay link stopped this layer: the numbers it skips on resuming were never sent
        }
    }

    boolean isActive(long nowNs) {
        return nowNs - lastPacketNs < ACTIVE_NS;
    }

    void countBytes(int bytes, long nowNs) {
        lastPacketNs = nowNs;
        if (nowNs - windowStartNs >= RATE_WINDOW_NS) {
            long elapsed = nowNs - windowStartNs;
            bitrateBps = elapsed >= 2 * RATE_WINDOW_NS ? 0 : windowBytes * 8_000_000_000L / elapsed;
            windowStartNs = nowNs;
            windowBytes = 0;
        }
        windowBytes += bytes;
    }

    /** Bits per second received over the last full window (0 before one, or if the stream stopped). */
    long bitrateBps(long nowNs) {
        return isActive(nowNs) ? bitrateBps : 0;
    }

    void onSenderReport(long ntpTimestamp, long rtpTimestamp, long nowNs) {
        receiveStats.onSenderReport(ntpTimestamp, nowNs);
        hasSenderReport = true;
        srNtp = ntpTimestamp;
        srRtpTimestamp = rtpTimestamp;
        srArrivalNs = nowNs;
    }

    @Override
    public String toString() {
        return producer.id() + "/" + (rid.isEmpty() ? "" : rid + "/") + layer + " ssrc=" + ssrc;
    }
}
