package io.cascadesfu.core.media;

import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.rtcp.NtpTime;
import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.rtp.RtpRewriter;
import io.cascadesfu.core.rtp.RtpSendStats;
import io.netty.buffer.ByteBuf;

/**
 * One producer's track as sent to one subscriber: SSRC, payload type, header extension ids,
 * sequence numbers and timestamps rewritten to what was negotiated with that subscriber.
 *
 * <p>Lifecycle: made by {@link Router#consume}; closed when the subscriber stops receiving the
 * track, when the producer closes, or when the subscriber's transport goes.
 *
 * <p>Threading: media event loop only. Buffers: each forwarded packet is a pooled copy owned by
 * this consumer until {@code sendRtp} takes it.
 */
public final class Consumer {
    private final String id;
    private final Producer producer;
    private final MediaPeer subscriber;
    private final ConsumerParams params;
    private final byte[] extensionIds;
    private final RtpRewriter rewriter;
    private final RtpSendStats sendStats = new RtpSendStats();
    private final int clockRate;
    private boolean waitingForKeyframe;
    private boolean closed;
    /** Output minus input RTP timestamp of the last packet forwarded, for sender reports. */
    private long timestampOffset;
    private boolean forwardedAny;

    Consumer(String id, Producer producer, MediaPeer subscriber, ConsumerParams params) {
        this.id = id;
        this.producer = producer;
        this.subscriber = subscriber;
        this.params = params;
        this.extensionIds = params.extensionIds();
        this.clockRate = producer.params().clockRate();
        this.rewriter = new RtpRewriter(params.ssrc(), clockRate);
        this.waitingForKeyframe = producer.kind() == TrackKind.VIDEO;
    }

    public String id() {
        return id;
    }

    public Producer producer() {
        return producer;
    }

    public MediaPeer subscriber() {
        return subscriber;
    }

    public long ssrc() {
        return params.ssrc();
    }

    public boolean isClosed() {
        return closed;
    }

    public long packetsSent() {
        return sendStats.packetCount();
    }

    /**
     * One packet of the producer, validated there: {@code payloadLength} is its payload without padding
     * (the rewrite below changes header fields in place, never their length).
     */
    void onProducerRtp(ByteBuf packet, int payloadLength, boolean keyframe, long nowNs) {
        if (closed || !subscriber.transport().isConnected()) {
            return;
        }
        if (waitingForKeyframe) {
            if (!keyframe) {
                subscriber.metrics().drop(DropReason.WAITING_FOR_KEYFRAME);
                producer.requestKeyframe(nowNs);
                return;
            }
            waitingForKeyframe = false;
        }
        int length = packet.readableBytes();
        ByteBuf out = subscriber.allocRtp(length);
        out.writeBytes(packet, packet.readerIndex(), length);
        long inTimestamp = RtpPacket.timestamp(out);
        if (!rewriter.rewrite(out, nowNs)) {
            out.release();
            subscriber.metrics().drop(DropReason.RTP_TOO_OLD);
            return;
        }
        RtpPacket.setPayloadType(out, params.payloadType());
        RtpPacket.rewriteExtensionIds(out, extensionIds);
        timestampOffset = RtpPacket.timestamp(out) - inTimestamp;
        forwardedAny = true;
        sendStats.onPacketSent(payloadLength, RtpPacket.timestamp(out), nowNs);
        subscriber.transport().sendRtp(out);
    }

    /** The subscriber asked for a keyframe (PLI or FIR). */
    void onKeyframeRequest(long nowNs) {
        producer.requestKeyframe(nowNs);
    }

    /** The subscriber's transport (re)connected: start on a keyframe. */
    void onSubscriberConnected(long nowNs) {
        if (producer.kind() == TrackKind.VIDEO) {
            waitingForKeyframe = true;
            producer.requestKeyframe(nowNs);
        }
    }

    /**
     * Appends a sender report for this stream (RFC 3550 6.4.1) if one can be made consistent with
     * the publisher's clocks: NTP and RTP times are extrapolated from the publisher's last SR so
     * that audio and video of one publisher stay in sync at the subscriber.
     *
     * @return true if a report was written
     */
    boolean writeSenderReport(ByteBuf out, long nowNs) {
        if (!forwardedAny || !producer.hasSenderReport()) {
            return false;
        }
        long sinceSrNs = nowNs - producer.senderReportArrivalNs();
        long inRtpNow = producer.senderReportRtpTimestamp() + sinceSrNs * clockRate / 1_000_000_000L;
        long outRtpNow = (inRtpNow + timestampOffset) & 0xFFFF_FFFFL;
        long ntpNow = NtpTime.fromUnixNanos(NtpTime.toUnixNanos(producer.senderReportNtp()) + sinceSrNs);
        RtcpWriter.writeSenderReport(out, params.ssrc(), ntpNow, outRtpNow, sendStats.packetCount(),
                sendStats.octetCount());
        return true;
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        producer.removeConsumer(this);
        subscriber.removeConsumer(this);
        subscriber.transport().onSsrcRetired(params.ssrc());
    }

    @Override
    public String toString() {
        return "Consumer[" + id + " of " + producer.id() + " ssrc=" + params.ssrc() + "]";
    }
}
