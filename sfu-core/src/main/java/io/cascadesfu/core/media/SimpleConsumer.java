package io.cascadesfu.core.media;

import io.cascadesfu.core.metrics.DropReason;
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

    @Override
    void onSubscriberConnected(long nowNs) {
        if (producer.kind() == TrackKind.VIDEO) {
            waitingForKeyframe = true;
            producer.requestKeyframe(nowNs);
        }
    }
}
