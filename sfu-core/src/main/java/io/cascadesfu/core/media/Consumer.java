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

    /** SSRCs this consumer sends on, from {@link #ssrc()} up: one, or one per layer where every layer goes. */
    int ssrcCount() {
        return 1;
    }

    /**
     * One packet of the producer's stream {@code layer}, validated once by the transport it arrived on: its payload
     * starts at {@code payloadOffset} and is {@code payloadLength} bytes without padding (rewrites change header
     * fields in place, never their length). Borrowed: copy what is sent.
     */
    abstract void onProducerRtp(ByteBuf packet, int payloadOffset, int payloadLength, int layer, boolean keyframe,
                                long nowNs);

    /** The subscriber asked for a keyframe (PLI or FIR) on {@code ssrc}, one of this consumer's. */
    abstract void onKeyframeRequest(long ssrc, long nowNs);

    /**
     * The highest layer this consumer may want to forward whatever flows (its subscriber's preference, not the
     * bandwidth of the moment), -1 for none; what a pipe asks upstream for. {@link SimpleConsumer#ANY_LAYER}: all.
     */
    int wantedLayerCap(long nowNs) {
        return SimpleConsumer.ANY_LAYER;
    }

    /** The producer stopped forwarding (an operator's mute); what comes after it starts a new source. */
    void onProducerPaused() {
    }

    /** The far end of a pipe asks for layers up to {@code maxLayer} (-1: none). */
    void onLayerRequest(int maxLayer, long nowNs) {
    }

    /**
     * The subscriber NACKed packets (RFC 4585 generic NACK at {@code off} in {@code rtcp}, already validated
     * as a whole compound). Borrowed.
     */
    abstract void onNack(ByteBuf rtcp, int off, long nowNs);

    /** The subscriber's transport (re)connected. */
    abstract void onSubscriberConnected(long nowNs);

    /**
     * Appends this consumer's sender reports (RFC 3550 6.4.1), where they can be made consistent with the
     * publisher's clocks.
     *
     * @return true if a report was written
     */
    abstract boolean writeSenderReports(ByteBuf out, long nowNs);

    /**
     * Writes the subscriber transport's next transport-wide sequence number into {@code out}'s extension
     * {@code extensionId} and counts the packet for the bandwidth estimate; -1 if {@code out} has no such extension.
     */
    final int stampTransportSeq(ByteBuf out, int extensionId, long nowNs) {
        int at = io.cascadesfu.core.rtp.RtpPacket.findExtension(out, extensionId);
        if (at < 0 || io.cascadesfu.core.rtp.RtpPacket.extensionLength(out, at) != 2) {
            return -1;
        }
        int seq = subscriber.nextTransportSeq();
        out.setShort(out.readerIndex() + at, seq);
        subscriber.onStampedPacketSent(seq, out.readableBytes(), nowNs);
        return seq;
    }

    /**
     * Appends a sender report on {@code ssrc} for what is forwarded from {@code stream}, whose timestamps are moved
     * by {@code tsOffset}: NTP and RTP times are extrapolated from the publisher's last SR of that stream, so that
     * audio and video of one publisher stay in sync at the subscriber. False if the stream had no SR yet.
     */
    final boolean writeSenderReport(ByteBuf out, long ssrc, ProducerStream stream, long tsOffset, long nowNs) {
        if (!stream.hasSenderReport) {
            return false;
        }
        long sinceSrNs = nowNs - stream.srArrivalNs;
        long inRtpNow = stream.srRtpTimestamp + sinceSrNs * clockRate / 1_000_000_000L;
        long outRtpNow = (inRtpNow + tsOffset) & 0xFFFF_FFFFL;
        long ntpNow = NtpTime.fromUnixNanos(NtpTime.toUnixNanos(stream.srNtp) + sinceSrNs);
        RtcpWriter.writeSenderReport(out, ssrc, ntpNow, outRtpNow, sendStats.packetCount(), sendStats.octetCount());
        return true;
    }

    final void close() {
        if (closed) {
            return;
        }
        closed = true;
        producer.removeConsumer(this);
        subscriber.removeConsumer(this);
        for (int i = 0; i < ssrcCount(); i++) {
            subscriber.transport().onSsrcRetired((params.ssrc() + i) & 0xFFFF_FFFFL);
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + id + " of " + producer.id() + " ssrc=" + params.ssrc() + "]";
    }
}
