package io.cascadesfu.core.media;

import io.cascadesfu.core.rtcp.NtpTime;
import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.RtpSendStats;
import io.netty.buffer.ByteBuf;

/**
 * One producer's stream as sent to one subscriber peer. The kinds differ in what they rewrite:
 * {@link SimpleConsumer} makes the stream what was negotiated with a browser (SSRC, sequence numbers,
 * timestamps, payload type, header extension ids); {@link PipeConsumer} carries it to another router
 * with only the SSRC mapped, every end-to-end header extension and sequence number kept.
 *
 * <p>Lifecycle: made by {@link Router#consume} or {@link Router#pipeConsume}; closed when the subscriber stops
 * receiving the stream, when the producer closes, or when the subscriber's transport goes.
 *
 * <p>Threading: the router's worker loop only. Buffers: each forwarded packet is a pooled copy owned by the
 * consumer until {@code sendRtp} takes it.
 */
public abstract sealed class Consumer permits SimpleConsumer, PipeConsumer {
    private final String id;
    final Producer producer;
    final MediaPeer subscriber;
    final ConsumerParams params;
    final RtpSendStats sendStats = new RtpSendStats();
    final int clockRate;
    /** Output minus input RTP timestamp of the last packet forwarded, for sender reports. */
    long timestampOffset;
    boolean forwardedAny;
    private boolean closed;

    Consumer(String id, Producer producer, MediaPeer subscriber, ConsumerParams params) {
        this.id = id;
        this.producer = producer;
        this.subscriber = subscriber;
        this.params = params;
        this.clockRate = producer.params().clockRate();
    }

    public final String id() {
        return id;
    }

    public final Producer producer() {
        return producer;
    }

    public final MediaPeer subscriber() {
        return subscriber;
    }

    public final long ssrc() {
        return params.ssrc();
    }

    public final boolean isClosed() {
        return closed;
    }

    public final long packetsSent() {
        return sendStats.packetCount();
    }

    /**
     * One packet of the producer, validated once by the transport it arrived on: its payload starts at
     * {@code payloadOffset} and is {@code payloadLength} bytes without padding (rewrites change header fields in
     * place, never their length). Borrowed: copy what is sent.
     */
    abstract void onProducerRtp(ByteBuf packet, int payloadOffset, int payloadLength, boolean keyframe, long nowNs);

    /** The subscriber asked for a keyframe (PLI or FIR). */
    final void onKeyframeRequest(long nowNs) {
        producer.requestKeyframe(nowNs);
    }

    /**
     * The subscriber NACKed packets (RFC 4585 generic NACK at {@code off} in {@code rtcp}, already validated
     * as a whole compound). Borrowed.
     */
    abstract void onNack(ByteBuf rtcp, int off, long nowNs);

    /** The subscriber's transport (re)connected. */
    abstract void onSubscriberConnected(long nowNs);

    /**
     * Appends a sender report for this stream (RFC 3550 6.4.1) if one can be made consistent with
     * the publisher's clocks: NTP and RTP times are extrapolated from the publisher's last SR so
     * that audio and video of one publisher stay in sync at the subscriber.
     *
     * @return true if a report was written
     */
    final boolean writeSenderReport(ByteBuf out, long nowNs) {
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

    final void close() {
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
        return getClass().getSimpleName() + "[" + id + " of " + producer.id() + " ssrc=" + params.ssrc() + "]";
    }
}
