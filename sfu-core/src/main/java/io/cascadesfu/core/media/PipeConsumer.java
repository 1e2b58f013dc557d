package io.cascadesfu.core.media;

import io.cascadesfu.core.rtp.RtpPacket;
import io.netty.buffer.ByteBuf;

/**
 * A stream carried over a pipe to another router (a worker of this node today, a relay link to another node
 * later): only the SSRC is mapped to the pipe's own, so that streams of publishers whose SSRCs collide stay
 * apart; sequence numbers, timestamps, payload type and every header extension (audio level, MID/RID,
 * abs-capture-time, dependency descriptor) pass unchanged, so the far router sees the publisher's stream
 * as it was sent and gaps stay gaps. No keyframe gating: every packet goes, the far side's consumers gate.
 *
 * <p>Threading: the router's worker loop only.
 */
public final class PipeConsumer extends Consumer {

    PipeConsumer(String id, Producer producer, MediaPeer subscriber, ConsumerParams params) {
        super(id, producer, subscriber, params);
    }

    @Override
    void onProducerRtp(ByteBuf packet, int payloadOffset, int payloadLength, boolean keyframe, long nowNs) {
        if (isClosed() || !subscriber.transport().isConnected()) {
            return;
        }
        int length = packet.readableBytes();
        ByteBuf out = subscriber.allocRtp(length);
        out.writeBytes(packet, packet.readerIndex(), length);
        RtpPacket.setSsrc(out, params.ssrc());
        forwardedAny = true;
        sendStats.onPacketSent(payloadLength, RtpPacket.timestamp(out), nowNs);
        subscriber.transport().sendRtp(out, payloadOffset);
    }

    @Override
    void onNack(ByteBuf rtcp, int off, long nowNs) {
        // The far router answers NACKs from its own copy of the stream: nothing is lost inside a pipe.
    }

    @Override
    void onSubscriberConnected(long nowNs) {
        // Nothing to wait for: the far side's consumers start on keyframes and ask for them through the pipe.
    }
}
