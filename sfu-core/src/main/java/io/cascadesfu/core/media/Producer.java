package io.cascadesfu.core.media;

import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.Keyframes;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.rtp.RtpReceiveStats;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One published track as it arrives at the node, and its fan-out to {@link Consumer}s.
 *
 * <p>Lifecycle: made by {@link Router#produce} when a publisher's SDP is accepted; closed when the
 * publisher unpublishes or leaves, which closes its consumers.
 *
 * <p>Threading: its router's worker loop only. The consumer list is only changed on that loop, so the
 * fan-out iterates it without copying or locking.
 */
public final class Producer {
    /** Keyframe requests to a publisher are spaced at least this far apart, unless the router says otherwise. */
    public static final long DEFAULT_KEYFRAME_REQUEST_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(300);

    private final String id;
    private final MediaPeer publisher;
    private final ProducerParams params;
    private final RtpReceiveStats receiveStats;
    private final List<Consumer> consumers = new ArrayList<>();
    /** Video only: what a subscriber may NACK. */
    private final PacketCache cache;
    /** Video only: what the node asks the publisher again for. */
    private final NackGenerator nacks;
    private long ssrc;
    private long lastKeyframeRequestNs = Long.MIN_VALUE / 2;
    private boolean closed;

    // The publisher's last sender report: its NTP/RTP clock pair, for the subscribers' reports.
    private boolean hasSenderReport;
    private long srNtp;
    private long srRtpTimestamp;
    private long srArrivalNs;

    private final long keyframeRequestIntervalNs;
    // Audio level (RFC 6464) since the last sample: the loudest packet (127 - level in -dBov), -1 if none carried one.
    // The peak, not the mean: speech comes in syllables with pauses between them.
    private int loudnessPeak = -1;

    Producer(String id, MediaPeer publisher, ProducerParams params, long keyframeRequestIntervalNs) {
        this.keyframeRequestIntervalNs = keyframeRequestIntervalNs;
        this.id = id;
        this.publisher = publisher;
        this.params = params;
        this.ssrc = params.ssrc();
        this.receiveStats = new RtpReceiveStats(params.clockRate());
        this.cache = params.kind() == TrackKind.VIDEO ? new PacketCache() : null;
        this.nacks = params.kind() == TrackKind.VIDEO && params.askForLoss() ? new NackGenerator() : null;
    }

    public String id() {
        return id;
    }

    public ProducerParams params() {
        return params;
    }

    public TrackKind kind() {
        return params.kind();
    }

    public MediaPeer publisher() {
        return publisher;
    }

    public long ssrc() {
        return ssrc;
    }

    void bindSsrc(long ssrc) {
        this.ssrc = ssrc;
    }

    public boolean isClosed() {
        return closed;
    }

    public int consumerCount() {
        return consumers.size();
    }

    public RtpReceiveStats receiveStats() {
        return receiveStats;
    }

    void addConsumer(Consumer consumer) {
        consumers.add(consumer);
    }

    void removeConsumer(Consumer consumer) {
        consumers.remove(consumer);
    }

    /**
     * One decrypted RTP packet from the publisher, validated by its transport (payload at {@code payloadOffset}).
     * Borrowed: each consumer copies what it sends.
     */
    void onRtp(ByteBuf packet, int payloadOffset, long nowNs) {
        if (closed) {
            return;
        }
        receiveStats.onPacket(RtpPacket.sequenceNumber(packet), RtpPacket.timestamp(packet), nowNs);
        int payloadLength = RtpPacket.payloadLength(packet, payloadOffset);
        boolean keyframe = params.kind() == TrackKind.VIDEO
                && Keyframes.isKeyframe(packet, payloadOffset, payloadLength, params.codec());
        if (cache != null) {
            cache.put(packet, publisher.allocRtp(packet.readableBytes()));
        }
        if (params.audioLevelExtensionId() > 0) {
            int at = RtpPacket.findExtension(packet, params.audioLevelExtensionId());
            if (at >= 0) {
                int loudness = 127 - (packet.getUnsignedByte(packet.readerIndex() + at) & 0x7F);
                if (loudness > loudnessPeak) {
                    loudnessPeak = loudness;
                }
            }
        }
        if (nacks != null) {
            nacks.onPacket(RtpPacket.sequenceNumber(packet), nowNs);
            if (nacks.missing() > 0 && nacks.isDue(nowNs)) {
                askAgain(nowNs);
            }
        }
        List<Consumer> list = consumers;
        for (int i = 0, n = list.size(); i < n; i++) {
            list.get(i).onProducerRtp(packet, payloadOffset, payloadLength, keyframe, nowNs);
        }
    }

    /** NACKs to the publisher for what is missing and due (a gap the publisher's transport lost). */
    private void askAgain(long nowNs) {
        if (!publisher.transport().isConnected()) {
            return;
        }
        ByteBuf out = publisher.allocRtcp();
        int asked = nacks.writeDue(out, publisher.rtcpSsrc(), ssrc, nowNs);
        if (asked == 0) {
            out.release();
            return;
        }
        publisher.metrics().nackSent(asked);
        publisher.transport().sendRtcp(out);
    }

    /**
     * Peak loudness (0 silence .. 127 loudest, from the RFC 6464 level of each packet) since the last call, and a
     * fresh start; -1 if no packet carried a level. Worker loop only.
     */
    public double takeLoudness() {
        int peak = loudnessPeak;
        loudnessPeak = -1;
        return peak;
    }

    /** A cached packet of this track (publisher's numbering), borrowed; null if absent or not video. */
    ByteBuf cached(int seq) {
        return cache == null ? null : cache.get(seq);
    }

    void onSenderReport(long ntpTimestamp, long rtpTimestamp, long nowNs) {
        receiveStats.onSenderReport(ntpTimestamp, nowNs);
        hasSenderReport = true;
        srNtp = ntpTimestamp;
        srRtpTimestamp = rtpTimestamp;
        srArrivalNs = nowNs;
    }

    boolean hasSenderReport() {
        return hasSenderReport;
    }

    long senderReportNtp() {
        return srNtp;
    }

    long senderReportRtpTimestamp() {
        return srRtpTimestamp;
    }

    long senderReportArrivalNs() {
        return srArrivalNs;
    }

    /**
     * Asks the publisher for a keyframe (PLI), at most once per keyframe request interval however many subscribers
     * ask: the requests of a whole audience are merged into one.
     */
    public void requestKeyframe(long nowNs) {
        if (closed || params.kind() != TrackKind.VIDEO || ssrc < 0 || !publisher.transport().isConnected()
                || nowNs - lastKeyframeRequestNs < keyframeRequestIntervalNs) {
            return;
        }
        lastKeyframeRequestNs = nowNs;
        ByteBuf out = publisher.allocRtcp();
        RtcpWriter.writePli(out, publisher.rtcpSsrc(), ssrc);
        publisher.transport().sendRtcp(out);
        publisher.transport().flush();
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Consumer c : new ArrayList<>(consumers)) {
            c.close();
        }
        consumers.clear();
        if (cache != null) {
            cache.clear();
        }
    }

    @Override
    public String toString() {
        return "Producer[" + id + " " + params.kind() + " ssrc=" + ssrc + "]";
    }
}
