package io.cascadesfu.core.media;

import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.rtp.RedPayload;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.rtp.RtpRewriter;
import io.cascadesfu.core.rtp.Vp8Rewriter;
import io.netty.buffer.ByteBuf;

/**
 * A track as one subscriber negotiated it: one stream with its SSRC, payload type, header extension ids, sequence
 * numbers and timestamps rewritten; video starts on a keyframe (asked for when the subscriber connects).
 *
 * <p><b>Layers.</b> Of a simulcast track it forwards one layer at a time: the highest one that is flowing and
 * within the subscriber's preference ({@link #setPreference}: a maximum layer, or the height the video is shown
 * at, or paused) and the bandwidth cap ({@link #setBandwidthLayer}). It moves to another layer only on a keyframe
 * of that layer (asked for when needed) and keeps sequence numbers, timestamps and VP8 picture ids continuous, so
 * the receiver sees one stream without a glitch. A layer the publisher stops sending is left for the next lower
 * one that flows.
 *
 * <p>Threading: the router's worker loop only. No allocation per packet beyond the pooled copy sent.
 */
public final class SimpleConsumer extends Consumer {
    /**
     * Packets one NACK may ask for: a real receiver asks for a few; a hostile one listing hundreds must not make
     * the worker spend its time (and the other subscribers' latency) resending.
     */
    static final int MAX_PACKETS_PER_NACK = 64;
    /**
     * Resends per second may take as many bytes as the stream sent in the second before, and at least this many (a
     * burst lost on a low layer): a subscriber NACKing everything again and again gets no more than about twice
     * its stream's bitrate, and cannot slow the worker down for the others.
     */
    static final int MIN_RESEND_BYTES_PER_SECOND = 32 * 1024;
    private static final long RESEND_WINDOW_NS = 1_000_000_000L;
    /** Heights assumed for layers whose keyframes do not say (H264, VP9, AV1): the top layer 720, each lower half. */
    static final int ASSUMED_TOP_HEIGHT = 720;
    /** No limit on the layer. */
    public static final int ANY_LAYER = Integer.MAX_VALUE;

    private final byte[] extensionIds;
    /** The sdes:mid element every packet gets (RFC 8843): its subscriber-side id (0: none) and data. */
    private final int midId;
    private final byte[] mid;
    /** Bytes the header may grow by for it. */
    private final int headerGrowth;
    private final RtpRewriter rewriter;
    private final Vp8Rewriter vp8;
    /** Layer forwarded now; -1 while waiting for a keyframe (start, resume, reconnect). */
    private int currentLayer = -1;
    /** Subscriber's preference: highest layer wanted (-1: paused) and the height shown at (0: no preference). */
    private int maxLayer = ANY_LAYER;
    private int maxHeight;
    /** The bandwidth allocator's cap. */
    private int bandwidthLayer = ANY_LAYER;
    /**
     * Subscriber-side id of the transport-wide sequence number element, 0 if not negotiated or the publisher's
     * packets carry none: each packet sent gets the subscriber transport's next number there, for its estimator.
     */
    private final int transportCcId;
    /** Without rtx, a resent packet must be byte for byte what was sent (same SRTP index): its stamps, by out seq. */
    private final short[] stamps;
    private final int[] stampedSeq;
    private final int stampMask;
    // Retransmission budget: bytes sent and resent in the current one-second window, sent in the previous one.
    private long resendWindowStartNs;
    private long sentInWindow;
    private long sentInLastWindow;
    private long resentInWindow;
    /** Next sequence number of the rtx stream (RFC 4588: its own numbering). */
    private int rtxSeq = java.util.concurrent.ThreadLocalRandom.current().nextInt(0x10000);

    SimpleConsumer(String id, Producer producer, MediaPeer subscriber, ConsumerParams params) {
        super(id, producer, subscriber, params);
        this.extensionIds = params.extensionIds();
        this.midId = params.midExtensionId();
        this.mid = params.midBytes();
        this.headerGrowth = mid == null ? 0 : RtpPacket.addedHeaderBytes(mid.length);
        this.rewriter = new RtpRewriter(params.ssrc(), clockRate);
        this.vp8 = producer.params().codec() == Codec.VP8 ? new Vp8Rewriter() : null;
        if (producer.kind() == TrackKind.AUDIO) {
            currentLayer = 0;
        }
        int publisherId = producer.params().transportCcExtensionId();
        this.transportCcId = publisherId > 0 ? extensionIds[publisherId] & 0xFF : 0;
        boolean plainResends = transportCcId > 0 && resendsOnNack() && !params.hasRtx();
        // As many as the producer's cache keeps packets to resend: no more can be asked for.
        int slots = producer.kind() == TrackKind.VIDEO ? RtpRewriter.WINDOW : PacketCache.AUDIO_CAPACITY;
        this.stampMask = slots - 1;
        this.stamps = plainResends ? new short[slots] : null;
        this.stampedSeq = plainResends ? new int[slots] : null;
        if (stampedSeq != null) {
            java.util.Arrays.fill(stampedSeq, -1);
        }
    }

    /** Whether this subscriber's NACKs are answered: always for video, for audio when it negotiated NACK. */
    boolean resendsOnNack() {
        return producer.kind() == TrackKind.VIDEO || params.audioNack();
    }

    /** Whether every packet this consumer sends carries a transport-wide sequence number. */
    boolean stampsTransportCc() {
        return transportCcId > 0;
    }

    boolean hasRtx() {
        return params.hasRtx();
    }

    /** The layer chosen without the bandwidth cap (what the subscriber would like), -1 if paused. */
    int wantedLayer(long nowNs) {
        int cap = bandwidthLayer;
        bandwidthLayer = ANY_LAYER;
        int wanted = targetLayer(nowNs);
        bandwidthLayer = cap;
        return wanted;
    }

    int bandwidthLayer() {
        return bandwidthLayer;
    }

    /** The height the subscriber shows the video at, 0 if not given: larger videos get bandwidth first. */
    int preferredHeight() {
        return maxHeight;
    }

    /**
     * What the subscriber wants of a video: at most layer {@code maxLayer} ({@link #ANY_LAYER}: any; -1 pauses it:
     * nothing is sent until it is wanted again), and no more than the lowest layer that is at least {@code height}
     * lines tall (0: no size given).
     */
    public void setPreference(int maxLayer, int height) {
        if (this.maxLayer >= 0 && maxLayer < 0 && producer.kind() == TrackKind.VIDEO) {
            currentLayer = -1; // resumes on a keyframe
        }
        this.maxLayer = maxLayer;
        this.maxHeight = Math.max(0, height);
    }

    /** The bandwidth allocator's cap on the layer ({@link #ANY_LAYER}: none). */
    public void setBandwidthLayer(int layer) {
        this.bandwidthLayer = layer;
    }

    /** Layer forwarded now, -1 if none (waiting for a keyframe, or paused). */
    public int currentLayer() {
        return currentLayer;
    }

    @Override
    void onProducerPaused() {
        if (producer.kind() == TrackKind.VIDEO) {
            currentLayer = -1; // resumes on a keyframe
        }
        rewriter.switchSource(); // the numbers go on from the last sent, without a gap for the paused time
        if (vp8 != null) {
            vp8.switchSource();
        }
    }

    @Override
    int wantedLayerCap(long nowNs) {
        return maxLayer < 0 ? -1 : preferenceCap(maxLayer, producer.streamCount());
    }

    /** The highest layer within {@code limit} and the height the video is shown at. */
    private int preferenceCap(int limit, int streams) {
        int cap = Math.min(limit, streams - 1);
        if (maxHeight > 0) {
            for (int layer = 0; layer < cap; layer++) {
                if (layerHeight(layer, streams) * 10 >= maxHeight * 9) {
                    return layer;
                }
            }
        }
        return cap;
    }

    /** The layer this consumer should forward now, -1 if paused. */
    int targetLayer(long nowNs) {
        if (maxLayer < 0 || bandwidthLayer < 0) {
            return -1;
        }
        int streams = producer.streamCount();
        if (streams == 1) {
            return 0;
        }
        int cap = preferenceCap(Math.min(maxLayer, bandwidthLayer), streams);
        for (int layer = cap; layer >= 0; layer--) {
            if (producer.isLayerActive(layer, nowNs)) {
                return layer;
            }
        }
        for (int layer = cap + 1; layer < streams; layer++) {
            if (producer.isLayerActive(layer, nowNs)) {
                return layer; // nothing flows within the cap: the lowest that flows beats a frozen picture
            }
        }
        return cap;
    }

    private int layerHeight(int layer, int streams) {
        int seen = producer.layerHeight(layer);
        return seen > 0 ? seen : ASSUMED_TOP_HEIGHT >> (streams - 1 - layer);
    }

    @Override
    void onProducerRtp(ByteBuf packet, int payloadOffset, int payloadLength, int layer, boolean keyframe,
                       long nowNs) {
        if (isClosed() || !subscriber.transport().isConnected()) {
            return;
        }
        if (producer.paused) {
            if (producer.kind() == TrackKind.VIDEO) {
                currentLayer = -1; // resumes on a keyframe
            }
            return;
        }
        if (layer != currentLayer || producer.streamCount() > 1) {
            int target = targetLayer(nowNs);
            if (target < 0) {
                currentLayer = producer.kind() == TrackKind.VIDEO ? -1 : currentLayer;
                return; // paused
            }
            if (layer != currentLayer) {
                if (layer != target) {
                    if (target != currentLayer) {
                        producer.requestKeyframe(target, nowNs);
                    }
                    return; // a layer this subscriber does not get
                }
                if (!keyframe) {
                    if (currentLayer < 0) {
                        subscriber.metrics().drop(DropReason.WAITING_FOR_KEYFRAME);
                    }
                    producer.requestKeyframe(target, nowNs);
                    return;
                }
                if (currentLayer >= 0) {
                    subscriber.metrics().layerSwitched();
                }
                currentLayer = layer;
                rewriter.switchSource();
                if (vp8 != null) {
                    vp8.switchSource();
                }
            } else if (target != currentLayer) {
                producer.requestKeyframe(target, nowNs); // keep this layer until the target's keyframe comes
            }
        }
        int length = packet.readableBytes();
        ByteBuf out = subscriber.allocRtp(length + headerGrowth);
        // Header with the subscriber's extension ids (and its mid element); the payload follows at outPayloadOffset.
        int outPayloadOffset = RtpPacket.writeHeader(packet, payloadOffset, out, extensionIds, midId, mid);
        int outPayloadType = writePayload(packet, payloadOffset, payloadLength, out, outPayloadOffset);
        if (outPayloadType < 0) {
            out.release();
            subscriber.metrics().drop(DropReason.RTP_MALFORMED);
            return;
        }
        payloadLength = RtpPacket.payloadLength(out, outPayloadOffset);
        long inTimestamp = RtpPacket.timestamp(out);
        if (!rewriter.rewrite(out, nowNs)) {
            out.release();
            subscriber.metrics().drop(DropReason.RTP_TOO_OLD);
            return;
        }
        RtpPacket.setPayloadType(out, outPayloadType);
        if (vp8 != null) {
            vp8.rewrite(out, outPayloadOffset, payloadLength, false);
        }
        timestampOffset = RtpPacket.timestamp(out) - inTimestamp;
        forwardedAny = true;
        if (transportCcId > 0) {
            int stamp = stampTransportSeq(out, transportCcId, nowNs);
            if (stamps != null && stamp >= 0) {
                int outSeq = RtpPacket.sequenceNumber(out);
                stamps[outSeq & stampMask] = (short) stamp;
                stampedSeq[outSeq & stampMask] = outSeq;
            }
        }
        sendStats.onPacketSent(payloadLength, RtpPacket.timestamp(out), nowNs);
        sentInWindow += length;
        subscriber.transport().sendRtp(out);
    }

    /**
     * Writes the payload of {@code packet} (at {@code payloadOffset}, {@code payloadLength} bytes, then its padding)
     * into {@code out} after its header, as this subscriber takes it: red with the subscriber's block payload types,
     * or only red's primary block when it did not take red. Returns the payload type to send with, -1 if the red
     * payload is malformed.
     */
    private int writePayload(ByteBuf packet, int payloadOffset, int payloadLength, ByteBuf out, int outPayloadOffset) {
        ConsumerParams.RedMapping red = params.red();
        boolean isRed = red != null && RtpPacket.payloadType(packet) == red.publisherRed();
        if (isRed && red.subscriberRed() < 0) {
            // The subscriber did not take red: only the primary block goes, as plain Opus.
            int primary = RedPayload.primaryOffset(packet, payloadOffset, payloadLength);
            if (primary < 0) {
                return -1;
            }
            out.writeBytes(packet, packet.readerIndex() + primary, payloadOffset + payloadLength - primary);
            if ((out.getByte(out.readerIndex()) & 0x20) != 0) {
                out.setByte(out.readerIndex(), out.getByte(out.readerIndex()) & ~0x20); // its padding is gone
            }
            return params.payloadType();
        }
        out.writeBytes(packet, packet.readerIndex() + payloadOffset, packet.readableBytes() - payloadOffset);
        if (!isRed) {
            return params.payloadType();
        }
        return RedPayload.rewriteBlockPayloadTypes(out, outPayloadOffset, payloadLength, red.publisherPrimary(),
                red.subscriberPrimary()) ? red.subscriberRed() : -1;
    }

    /** Whether {@code bytes} more may be resent now (see {@link #MIN_RESEND_BYTES_PER_SECOND}). */
    private boolean withinResendBudget(int bytes, long nowNs) {
        if (nowNs - resendWindowStartNs >= RESEND_WINDOW_NS) {
            sentInLastWindow = nowNs - resendWindowStartNs >= 2 * RESEND_WINDOW_NS ? 0 : sentInWindow;
            sentInWindow = 0;
            resentInWindow = 0;
            resendWindowStartNs = nowNs;
        }
        if (resentInWindow + bytes > Math.max(MIN_RESEND_BYTES_PER_SECOND, sentInLastWindow)) {
            return false;
        }
        resentInWindow += bytes;
        return true;
    }

    @Override
    void onKeyframeRequest(long ssrc, long nowNs) {
        int layer = currentLayer >= 0 ? currentLayer : targetLayer(nowNs);
        producer.requestKeyframe(Math.max(0, layer), nowNs);
    }

    /**
     * Resends each NACKed packet still in the producer's cache, numbered as when it was first sent (plain
     * retransmission in the stream, RFC 4585 with no RTX negotiated).
     */
    @Override
    void onNack(ByteBuf rtcp, int off, long nowNs) {
        if (isClosed() || !subscriber.transport().isConnected() || currentLayer < 0 || !resendsOnNack()) {
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
        ByteBuf cached = in < 0 ? null : producer.cached(currentLayer, in);
        if (cached == null) {
            metrics.nackMissed();
            return;
        }
        int length = cached.readableBytes();
        int payloadOffset = RtpPacket.validate(cached);
        if (payloadOffset < 0) {
            metrics.nackMissed();
            return;
        }
        if (!withinResendBudget(length, nowNs)) {
            metrics.drop(DropReason.RESEND_BUDGET);
            return;
        }
        boolean rtx = params.hasRtx();
        ByteBuf out = subscriber.allocRtp(length + (rtx ? 2 : 0) + headerGrowth);
        int outPayloadOffset = RtpPacket.writeHeader(cached, payloadOffset, out, extensionIds, midId, mid);
        if (rtx) {
            // RFC 4588 4: the header, the original sequence number, then the original payload (and padding).
            out.writeShort(0);
        }
        int outPayloadType = writePayload(cached, payloadOffset, RtpPacket.payloadLength(cached, payloadOffset), out,
                outPayloadOffset + (rtx ? 2 : 0));
        if (outPayloadType < 0 || !rewriter.rewriteRetransmission(out, outSeq)) {
            out.release();
            metrics.nackMissed();
            return;
        }
        RtpPacket.setPayloadType(out, outPayloadType);
        int mediaAt = outPayloadOffset + (rtx ? 2 : 0);
        if (vp8 != null) {
            vp8.rewrite(out, mediaAt, RtpPacket.payloadLength(out, mediaAt), true);
        }
        if (rtx) {
            out.setShort(out.readerIndex() + outPayloadOffset, outSeq);
            RtpPacket.setSequenceNumber(out, nextRtxSeq());
            RtpPacket.setSsrc(out, params.rtxSsrc());
            RtpPacket.setPayloadType(out, params.rtxPayloadType());
            if (transportCcId > 0) {
                stampTransportSeq(out, transportCcId, nowNs); // a new packet on the wire: it counts for the estimate
            }
        } else if (stamps != null) {
            // The same bytes as first sent, or none: the SRTP index is the same, so must be the plaintext.
            int slot = outSeq & stampMask;
            int at = RtpPacket.findExtension(out, transportCcId);
            if (stampedSeq[slot] != outSeq || at < 0) {
                out.release();
                metrics.nackMissed();
                return;
            }
            out.setShort(out.readerIndex() + at, stamps[slot]);
        }
        metrics.retransmitted();
        subscriber.transport().sendRtp(out);
    }

    private int nextRtxSeq() {
        int seq = rtxSeq;
        rtxSeq = (rtxSeq + 1) & 0xFFFF;
        return seq;
    }

    /** Most padding bytes one RTP packet carries (the padding count is one byte). */
    static final int MAX_PADDING = 255;

    /**
     * Sends one padding-only packet of {@code bytes} (at most {@link #MAX_PADDING}) on the rtx stream, stamped,
     * for the estimator's probe: the receiver discards it (RFC 4588 8: rtx without payload) after its transport
     * feedback counted it. False if this consumer has no rtx or no transport-cc, or sent nothing yet.
     */
    boolean sendPadding(int bytes, long nowNs) {
        if (!params.hasRtx() || transportCcId <= 0 || !forwardedAny || isClosed()
                || !subscriber.transport().isConnected()) {
            return false;
        }
        int padding = Math.max(1, Math.min(MAX_PADDING, bytes));
        ByteBuf out = subscriber.allocRtp(RtpPacket.HEADER_LENGTH + 8 + padding);
        out.writeByte(0xB0); // V=2, P=1, X=1
        out.writeByte(params.rtxPayloadType());
        out.writeShort(nextRtxSeq());
        out.writeInt((int) rewriter.lastOutTimestamp());
        out.writeInt((int) params.rtxSsrc());
        out.writeShort(0xBEDE).writeShort(1);
        out.writeByte(transportCcId << 4 | 1).writeShort(0).writeByte(0);
        out.writeZero(padding - 1);
        out.writeByte(padding);
        stampTransportSeq(out, transportCcId, nowNs);
        subscriber.transport().sendRtp(out);
        return true;
    }

    @Override
    boolean writeSenderReports(ByteBuf out, long nowNs) {
        return forwardedAny && currentLayer >= 0
                && writeSenderReport(out, params.ssrc(), producer.stream(currentLayer), timestampOffset, nowNs);
    }

    @Override
    void onSubscriberConnected(long nowNs) {
        if (producer.kind() == TrackKind.VIDEO) {
            currentLayer = -1;
            int target = targetLayer(nowNs);
            if (target >= 0) {
                producer.requestKeyframe(target, nowNs);
            }
        }
    }
}
