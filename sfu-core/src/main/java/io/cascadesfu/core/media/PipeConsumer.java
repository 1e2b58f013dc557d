package io.cascadesfu.core.media;

import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.RtpPacket;
import io.netty.buffer.ByteBuf;

/**
 * A track carried over a pipe to another router (a worker of this node today, a relay link to another node
 * later): every stream (simulcast layer) of the producer goes, layer {@code i} on the pipe SSRC
 * {@code ssrc + i}, so that streams of publishers whose SSRCs collide stay apart; sequence numbers, timestamps,
 * payload type and every header extension (audio level, MID/RID, abs-capture-time, dependency descriptor) pass
 * unchanged, so the far router sees the publisher's streams as they were sent and gaps stay gaps. No keyframe
 * gating: the far side's consumers gate and choose layers. The far end asks (RTCP APP "LAYR", every
 * {@code Router.LAYER_REQUEST_INTERVAL_MS}) for the layers up to the highest any of its subscribers wants, and only
 * those cross; the lowest layer always does, and without a recent request every layer does. Over a relay link the
 * serving node's bandwidth allocator caps them lower still when its estimate of the link cannot carry them all
 * ({@code MediaPeer.allocateLink}).
 *
 * <p>Over a relay link (a transport whose far end reports transport-wide numbers back) the transport-cc number is
 * hop by hop: each packet gets the link's next one, the far node's feedback feeds this node's estimate of the link,
 * and a NACKed packet is resent with the number it first had (the same SRTP index must carry the same bytes).
 *
 * <p>Threading: the router's worker loop only.
 */
public final class PipeConsumer extends Consumer {

    /** A layer request older than this is forgotten: every layer goes again (the far end may not send them). */
    static final long LAYER_REQUEST_TTL_NS = 3_000_000_000L;

    /**
     * The link's bandwidth allocator's cap ({@link SimpleConsumer#ANY_LAYER}: none): layers above it do not cross
     * even if the far end asks for them; the lowest layer always does. Set by the serving node's
     * {@code MediaPeer.allocateLink}, with {@link #allocating} its working value.
     */
    private int bandwidthLayer = SimpleConsumer.ANY_LAYER;
    int allocating;

    /** The far end's last layer request (-1: none; ANY_LAYER: all) and when it came. */
    private int requestedMaxLayer = SimpleConsumer.ANY_LAYER;
    private long requestedAtNs;

    private static final int STAMP_SLOTS = io.cascadesfu.core.rtp.RtpRewriter.WINDOW;

    /** The transport-cc extension id of the producer's packets, 0 if none or not stamped per hop. */
    private final int transportCcId;
    /** Per layer, by sequence number slot: the RTP sequence number stamped there and the number it got. */
    private final int[] stampedSeq;
    private final int[] stamps;

    PipeConsumer(String id, Producer producer, MediaPeer subscriber, ConsumerParams params) {
        super(id, producer, subscriber, params);
        int twcc = producer.params().transportCcExtensionId();
        this.transportCcId = twcc > 0 && subscriber.transport().carriesTransportWideNumbers() ? twcc : 0;
        int slots = transportCcId > 0 ? STAMP_SLOTS * producer.streamCount() : 0;
        this.stampedSeq = new int[slots];
        this.stamps = new int[slots];
        java.util.Arrays.fill(stampedSeq, -1);
    }

    /** Whether what this consumer sends carries the link's own transport-wide numbers (a relay link). */
    boolean stampsTransportCc() {
        return transportCcId > 0;
    }

    @Override
    void onLayerRequest(int maxLayer, long nowNs) {
        requestedMaxLayer = maxLayer;
        requestedAtNs = nowNs;
    }

    /** The highest layer the far end asked for, if it asked lately; else all. */
    private int requestedMaxLayer(long nowNs) {
        return nowNs - requestedAtNs < LAYER_REQUEST_TTL_NS ? requestedMaxLayer : SimpleConsumer.ANY_LAYER;
    }

    /** The highest layer the far end asks for now, within the producer's layers (0 at least). */
    int requestedTopLayer(long nowNs) {
        return Math.max(0, Math.min(requestedMaxLayer(nowNs), producer.streamCount() - 1));
    }

    int bandwidthLayer() {
        return bandwidthLayer;
    }

    /**
     * The allocator's cap. Layers it stops are said ended at once (an RTCP BYE on each one's pipe SSRC), so that
     * the far side's consumers move down now rather than when the layer has been quiet for a while; a layer that
     * comes back needs a keyframe before they can move up to it: asked for here, once.
     */
    void setBandwidthLayer(int layer, long nowNs) {
        int was = Math.min(bandwidthLayer, producer.streamCount() - 1);
        int now = Math.min(layer, producer.streamCount() - 1);
        bandwidthLayer = layer;
        if (now > was) {
            producer.requestKeyframe(now, nowNs);
        } else if (now < was && forwardedAny && subscriber.transport().isConnected()) {
            ByteBuf out = subscriber.allocRtcp();
            RtcpWriter.finishReport(out, RtcpWriter.writeReceiverReport(out, subscriber.rtcpSsrc()), 0);
            for (int stopped = now + 1; stopped <= was; stopped++) {
                RtcpWriter.writeBye(out, (params.ssrc() + stopped) & 0xFFFF_FFFFL);
            }
            subscriber.transport().sendRtcp(out);
            subscriber.transport().flush();
        }
    }

    @Override
    int wantedLayerCap(long nowNs) {
        return requestedMaxLayer(nowNs); // what is behind the pipe wants: a chain of pipes asks upstream for it
    }

    @Override
    int ssrcCount() {
        return producer.streamCount();
    }

    @Override
    void onProducerRtp(ByteBuf packet, int payloadOffset, int payloadLength, int layer, boolean keyframe,
                       long nowNs) {
        if (isClosed() || !subscriber.transport().isConnected() || producer.paused
                || (layer > 0 && (layer > requestedMaxLayer(nowNs) || layer > bandwidthLayer))) {
            return; // the far side's subscribers want no layer this high, or the link cannot carry it
        }
        int length = packet.readableBytes();
        ByteBuf out = subscriber.allocRtp(length);
        out.writeBytes(packet, packet.readerIndex(), length);
        RtpPacket.setSsrc(out, (params.ssrc() + layer) & 0xFFFF_FFFFL);
        if (transportCcId > 0) {
            int stamp = stampTransportSeq(out, transportCcId, nowNs);
            if (stamp >= 0) {
                int seq = RtpPacket.sequenceNumber(out);
                int slot = layer * STAMP_SLOTS + (seq & (STAMP_SLOTS - 1));
                stampedSeq[slot] = seq;
                stamps[slot] = stamp;
            }
        }
        forwardedAny = true;
        sendStats.onPacketSent(payloadLength, RtpPacket.timestamp(out), nowNs);
        subscriber.transport().sendRtp(out, payloadOffset);
    }

    @Override
    void onKeyframeRequest(long ssrc, long nowNs) {
        producer.requestKeyframe((int) ((ssrc - params.ssrc()) & 0xFFFF_FFFFL), nowNs);
    }

    /**
     * Nothing is lost inside a pipe between workers; over a relay link to another node, the far node NACKs what
     * it lost, by the publisher's own numbers: each is resent from the producer's cache with the layer's pipe
     * SSRC, byte for byte as first sent (so the same SRTP index carries the same plaintext), at most
     * {@link SimpleConsumer#MAX_PACKETS_PER_NACK} per NACK.
     */
    @Override
    void onNack(ByteBuf rtcp, int off, long nowNs) {
        if (isClosed() || !subscriber.transport().isConnected() || producer.paused) {
            return;
        }
        long layerIndex = (RtcpPacket.mediaSsrc(rtcp, off) - params.ssrc()) & 0xFFFF_FFFFL;
        if (layerIndex >= producer.streamCount()) {
            return;
        }
        int layer = (int) layerIndex;
        int items = RtcpPacket.nackCount(rtcp, off);
        int budget = SimpleConsumer.MAX_PACKETS_PER_NACK;
        for (int i = 0; i < items && budget > 0; i++) {
            int pid = RtcpPacket.nackPid(rtcp, off, i);
            int blp = RtcpPacket.nackBlp(rtcp, off, i);
            resend(layer, pid);
            budget--;
            for (int bit = 0; bit < 16 && budget > 0; bit++) {
                if ((blp & (1 << bit)) != 0) {
                    resend(layer, (pid + bit + 1) & 0xFFFF);
                    budget--;
                }
            }
        }
    }

    private void resend(int layer, int seq) {
        subscriber.metrics().nackRequested();
        ByteBuf cached = producer.cached(layer, seq);
        if (cached == null) {
            subscriber.metrics().nackMissed();
            return;
        }
        int length = cached.readableBytes();
        ByteBuf out = subscriber.allocRtp(length);
        out.writeBytes(cached, cached.readerIndex(), length);
        RtpPacket.setSsrc(out, (params.ssrc() + layer) & 0xFFFF_FFFFL);
        if (transportCcId > 0) {
            // The same bytes as first sent, or none: the SRTP index is the same, so must be the plaintext.
            int slot = layer * STAMP_SLOTS + (seq & (STAMP_SLOTS - 1));
            int at = RtpPacket.findExtension(out, transportCcId);
            if (at >= 0 && RtpPacket.extensionLength(out, at) == 2) {
                if (stampedSeq[slot] != seq) {
                    out.release();
                    subscriber.metrics().nackMissed();
                    return;
                }
                out.setShort(out.readerIndex() + at, stamps[slot]);
            }
        }
        subscriber.metrics().retransmitted();
        subscriber.transport().sendRtp(out);
    }

    /** One report per layer, on its pipe SSRC, with the publisher's own timestamps (a pipe does not move them). */
    @Override
    boolean writeSenderReports(ByteBuf out, long nowNs) {
        if (!forwardedAny) {
            return false;
        }
        boolean any = false;
        for (int layer = 0; layer < producer.streamCount(); layer++) {
            any |= writeSenderReport(out, (params.ssrc() + layer) & 0xFFFF_FFFFL, producer.stream(layer), 0, nowNs);
        }
        return any;
    }

    @Override
    void onSubscriberConnected(long nowNs) {
        // Nothing to wait for: the far side's consumers start on keyframes and ask for them through the pipe.
    }
}
