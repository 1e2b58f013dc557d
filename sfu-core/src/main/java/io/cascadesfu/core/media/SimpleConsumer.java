package io.cascadesfu.core.media;

import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.rtp.RtpRewriter;
import io.netty.buffer.ByteBuf;

/**
 * A stream as one subscriber negotiated it: SSRC, payload type, header extension ids, sequence numbers and
 * timestamps rewritten; video starts on a keyframe (asked for when the subscriber connects).
 *
 * <p>Threading: the router's worker loop only.
 */
public final class SimpleConsumer extends Consumer {
    /**
     * Packets one NACK may ask for: a real receiver asks for a few; a hostile one listing hundreds must not make
     * the worker spend its time (and the other subscribers' latency) resending.
     */
    static final int MAX_PACKETS_PER_NACK = 64;
    private final byte[] extensionIds;
    private final RtpRewriter rewriter;
    private boolean waitingForKeyframe;

    SimpleConsumer(String id, Producer producer, MediaPeer subscriber, ConsumerParams params) {
        super(id, producer, subscriber, params);
        this.extensionIds = params.extensionIds();
        this.rewriter = new RtpRewriter(params.ssrc(), clockRate);
        this.waitingForKeyframe = producer.kind() == TrackKind.VIDEO;
    }

    @Override
    void onProducerRtp(ByteBuf packet, int payloadOffset, int payloadLength, boolean keyframe, long nowNs) {
        if (isClosed() || !subscriber.transport().isConnected()) {
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

    /**
     * Resends each NACKed packet still in the producer's cache, numbered as when it was first sent (plain
     * retransmission in the stream, RFC 4585 with no RTX negotiated).
     */
    @Override
    void onNack(ByteBuf rtcp, int off, long nowNs) {
        if (isClosed() || !subscriber.transport().isConnected()) {
            return;
        }
        int items = RtcpPacket.nackCount(rtcp, off);
        int budget = MAX_PACKETS_PER_NACK;
        for (int i = 0; i < items && budget > 0; i++) {
            int pid = RtcpPacket.nackPid(rtcp, off, i);
            int blp = RtcpPacket.nackBlp(rtcp, off, i);
            retransmit(pid, nowNs);
            budget--;
            for (int bit = 0; bit < 16 && budget > 0; bit++) {
                if ((blp & (1 << bit)) != 0) {
                    retransmit((pid + bit + 1) & 0xFFFF, nowNs);
                    budget--;
                }
            }
        }
    }

    private void retransmit(int outSeq, long nowNs) {
        SfuMetrics metrics = subscriber.metrics();
        metrics.nackRequested();
        int in = rewriter.inputSequenceOf(outSeq);
        ByteBuf cached = in < 0 ? null : producer.cached(in);
        if (cached == null) {
            metrics.nackMissed();
            return;
        }
        int length = cached.readableBytes();
        ByteBuf out = subscriber.allocRtp(length);
        out.writeBytes(cached, cached.readerIndex(), length);
        if (!rewriter.rewriteRetransmission(out, outSeq)) {
            out.release();
            metrics.nackMissed();
            return;
        }
        RtpPacket.setPayloadType(out, params.payloadType());
        RtpPacket.rewriteExtensionIds(out, extensionIds);
        metrics.retransmitted();
        subscriber.transport().sendRtp(out);
    }

    @Override
    void onSubscriberConnected(long nowNs) {
        if (producer.kind() == TrackKind.VIDEO) {
            waitingForKeyframe = true;
            producer.requestKeyframe(nowNs);
        }
    }
}
