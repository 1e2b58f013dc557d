package io.cascadesfu.core.media;

import io.cascadesfu.core.bwe.SendSideEstimator;
import io.cascadesfu.core.bwe.TransportCcFeedback;
import io.cascadesfu.core.bwe.TransportCcRecorder;
import io.cascadesfu.core.bwe.TransportWide;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.TransportListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.collection.LongObjectHashMap;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One transport as the forwarding core sees it: the producers whose packets arrive on it and the
 * consumers whose packets leave on it. The core does not care whether the transport is a browser
 * or, later, a relay link to a peer node: a relay is a peer with both producers and consumers.
 *
 * <p>Threading: its router's worker loop only (asserted at the transport callbacks).
 */
public final class MediaPeer implements TransportListener {
    /** Largest RTCP compound the node writes. */
    static final int RTCP_BUFFER_BYTES = 1200;
    /** Report blocks per RR packet (5-bit count). */
    static final int MAX_REPORT_BLOCKS = 31;

    private final String id;
    private final MediaTransport transport;
    private final Router router;
    private final SfuMetrics metrics;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final long rtcpSsrc;
    private final String cname;

    private final LongObjectHashMap<ProducerStream> streamsBySsrc = new LongObjectHashMap<>();
    private final Map<String, Producer> producersByMid = new HashMap<>();
    private final List<Producer> producers = new ArrayList<>();
    private final LongObjectHashMap<Consumer> consumersBySsrc = new LongObjectHashMap<>();
    private final List<Consumer> consumers = new ArrayList<>();
    private PeerListener listener;
    private boolean closed;
    /**
     * The transport's numbering, estimate and arrival recorder: its own, or, on a relay link's channel, the link's,
     * shared with every other room's channel on it.
     */
    private final TransportWide wide;
    /** This peer's slot in a shared {@link TransportWide}, -1 when the state is its own. */
    private final int wideSlot;
    /** Arrival times of what the peer publishes, for its congestion control; null until a producer negotiates it. */
    private TransportCcRecorder transportCc;
    private int transportCcExtensionId;

    // Send side (what this peer receives): transport-wide numbering, the bandwidth estimate and its allocation.
    /** Estimates start here (a few layers' worth) and are bounded by these. */
    static final long START_BPS = 2_500_000;
    static final long MIN_BPS = 50_000;
    static final long MAX_BPS = 30_000_000;
    /** A layer is moved up to only if the budget has this much more than its bitrate (in percent). */
    static final int UP_HEADROOM_PERCENT = 115;
    private SendSideEstimator estimator;
    /** Consumers whose packets carry no transport-wide number: while any, the estimate undercounts; not used. */
    private int unstampedConsumers;
    /** Consumers carrying tracks over this peer as a relay link with the link's own transport-wide numbers. */
    private int linkConsumers;

    /**
     * The SSRC of the padding a node sends on a relay link to probe its bandwidth: link streams get SSRCs from
     * 0x1000_0000 up, so none is this. The far node records its transport-wide number (one-byte extension
     * {@link #LINK_PROBE_EXTENSION_ID}) for its feedback and drops it, uncounted.
     */
    public static final long LINK_PROBE_SSRC = 0x0C0F_FEE0L;
    static final int LINK_PROBE_EXTENSION_ID = 1;
    /** Bytes of zeros a link probe packet carries (it is dropped on arrival: a payload, not RTP padding). */
    static final int LINK_PROBE_BYTES = 1000;
    /**
     * On a relay link, while the far node reports (almost) nothing lost, the budget is at least what it acknowledged
     * lately, times this (percent): a receiving node starved of CPU delays its arrival times and its feedback then
     * reads as a queue on the link, which would cut layers a lossless link carries. Loss turns this floor off, and
     * a rate limit shows in the acknowledged bitrate itself.
     */
    static final int LOSSLESS_FLOOR_PERCENT = 120;
    /** The far node's loss fraction below which the floor above holds. */
    static final double LOSSLESS_FRACTION = 0.02;

    MediaPeer(String id, MediaTransport transport, Router router, SfuMetrics metrics) {
        this.id = id;
        this.transport = transport;
        this.router = router;
        this.metrics = metrics;
        this.cname = "sfu-" + id;
        TransportWide shared = transport.sharedTransportWide();
        this.wide = shared != null ? shared : new TransportWide();
        this.wideSlot = shared != null ? transport.sharedSlot() : -1;
        if (wideSlot >= 0) {
            wide.join(wideSlot);
            if (transport.carriesTransportWideNumbers()) {
                transportCc = wide.recorder(); // the link's probes arrive on some channel before any track does
                router.transportFeedbackNeeded();
            }
        }
        long chosen = transport.rtcpSsrc();
        this.rtcpSsrc = chosen >= 0 ? chosen : ThreadLocalRandom.current().nextInt() & 0xFFFF_FFFFL;
        transport.setListener(this);
    }

    public String id() {
        return id;
    }

    public MediaTransport transport() {
        return transport;
    }

    public void setListener(PeerListener listener) {
        this.listener = listener;
    }

    public List<Producer> producers() {
        return producers;
    }

    public List<Consumer> consumers() {
        return consumers;
    }

    long rtcpSsrc() {
        return rtcpSsrc;
    }

    SfuMetrics metrics() {
        return metrics;
    }

    ByteBuf allocRtp(int length) {
        return alloc.directBuffer(length + io.cascadesfu.core.srtp.SrtpSession.MAX_RTP_OVERHEAD);
    }

    ByteBuf allocRtcp() {
        return alloc.directBuffer(RTCP_BUFFER_BYTES + io.cascadesfu.core.srtp.SrtpSession.MAX_RTCP_OVERHEAD);
    }

    void addProducer(Producer p) {
        int twcc = p.params().transportCcExtensionId();
        if (twcc > 0 && transportCc == null && transport.carriesTransportWideNumbers()) {
            transportCc = wide.recorder();
            transportCcExtensionId = twcc;
            router.transportFeedbackNeeded();
        }
        producers.add(p);
        producersByMid.put(p.params().mid(), p);
        for (int i = 0; i < p.streamCount(); i++) {
            ProducerStream s = p.stream(i);
            if (s.ssrc >= 0) {
                streamsBySsrc.put(s.ssrc, s);
            }
        }
    }

    void removeProducer(Producer p) {
        producers.remove(p);
        producersByMid.remove(p.params().mid(), p);
        streamsBySsrc.values().removeIf(x -> x.producer == p);
    }

    void addConsumer(Consumer c) {
        if (c instanceof SimpleConsumer simple) {
            if (simple.stampsTransportCc()) {
                needEstimator();
            } else {
                unstampedConsumers++;
            }
        } else if (c instanceof PipeConsumer pipe && pipe.stampsTransportCc()) {
            linkConsumers++;
            needEstimator(); // a relay link: the far node's feedback measures the link
        }
        consumers.add(c);
        for (int i = 0; i < c.ssrcCount(); i++) {
            consumersBySsrc.put((c.ssrc() + i) & 0xFFFF_FFFFL, c);
        }
    }

    void removeConsumer(Consumer c) {
        if (c instanceof SimpleConsumer simple && !simple.stampsTransportCc() && consumers.contains(c)) {
            unstampedConsumers--;
        } else if (c instanceof PipeConsumer pipe && pipe.stampsTransportCc() && consumers.contains(c)) {
            linkConsumers--;
        }
        consumers.remove(c);
        for (int i = 0; i < c.ssrcCount(); i++) {
            consumersBySsrc.remove((c.ssrc() + i) & 0xFFFF_FFFFL);
        }
    }

    private void needEstimator() {
        if (estimator == null) {
            estimator = wide.estimator(START_BPS, MIN_BPS, MAX_BPS);
            router.transportFeedbackNeeded();
        }
    }

    /** The next transport-wide sequence number of what this peer is sent (the link's, on a relay channel). */
    int nextTransportSeq() {
        return wide.nextSeq();
    }

    void onStampedPacketSent(int transportSeq, int bytes, long nowNs) {
        if (estimator != null) {
            estimator.onPacketSent(transportSeq, bytes, nowNs);
        }
    }

    /** The bandwidth estimate toward this peer, -1 if none (it gives no transport-cc feedback). */
    public long estimatedBps() {
        return estimator == null || unstampedConsumers > 0 ? -1 : estimator.estimateBps();
    }

    /**
     * Shares the bandwidth estimate among what this peer receives: audio first (what it arrives at), then video,
     * the videos shown largest first, each the highest layer it wants that fits what is left (the lowest layer
     * always), then the tracks this peer carries as a relay link ({@link #allocateLink}). Probes for more (padding
     * on a video's rtx stream, or on the link's probe SSRC) while some video gets less than it wants. Every
     * {@link Router#ALLOCATION_INTERVAL_MS}.
     */
    void allocate(long nowNs) {
        if (closed || estimator == null || unstampedConsumers > 0 || !transport.isConnected()) {
            return;
        }
        long budget = estimator.estimateBps();
        if (linkConsumers > 0 && estimator.lossFraction() < LOSSLESS_FRACTION) {
            budget = Math.max(budget, estimator.ackedBps() * LOSSLESS_FLOOR_PERCENT / 100);
        }
        if (wideSlot >= 0) {
            budget = wide.share(wideSlot, linkDemandBps(nowNs), budget); // the link's other rooms take their part
        }
        for (int i = 0; i < consumers.size(); i++) {
            Consumer c = consumers.get(i);
            if (c.producer.kind() == TrackKind.AUDIO) {
                budget -= c.producer.layerBitrateBps(0, nowNs);
            }
        }
        boolean wantsMore = false;
        SimpleConsumer probeOn = null;
        // Largest first, without sorting: each round takes the unallocated video shown largest.
        long allocatedMask = 0;
        int videos = 0;
        for (int i = 0; i < consumers.size() && i < 64; i++) {
            if (consumers.get(i) instanceof SimpleConsumer v && v.producer.kind() == TrackKind.VIDEO) {
                videos++;
            }
        }
        for (int round = 0; round < videos; round++) {
            SimpleConsumer next = null;
            int nextIndex = -1;
            for (int i = 0; i < consumers.size() && i < 64; i++) {
                if ((allocatedMask & (1L << i)) == 0 && consumers.get(i) instanceof SimpleConsumer v
                        && v.producer.kind() == TrackKind.VIDEO
                        && (next == null || v.preferredHeight() > next.preferredHeight())) {
                    next = v;
                    nextIndex = i;
                }
            }
            if (next == null) {
                break;
            }
            allocatedMask |= 1L << nextIndex;
            int wanted = next.wantedLayer(nowNs);
            if (wanted < 0) {
                continue; // paused: costs nothing
            }
            int chosen = 0;
            for (int layer = wanted; layer > 0; layer--) {
                long bps = next.producer.layerBitrateBps(layer, nowNs);
                long need = layer > next.bandwidthLayer() ? bps * UP_HEADROOM_PERCENT / 100 : bps;
                if (need <= budget) {
                    chosen = layer;
                    break;
                }
            }
            budget -= next.producer.layerBitrateBps(chosen, nowNs);
            next.setBandwidthLayer(chosen == next.producer.streamCount() - 1 ? SimpleConsumer.ANY_LAYER : chosen);
            if (chosen < wanted) {
                wantsMore = true;
                if (next.hasRtx()) {
                    probeOn = next;
                }
            }
        }
        boolean linkWantsMore = linkConsumers > 0 && allocateLink(budget, nowNs);
        if ((wantsMore && probeOn != null || linkWantsMore) && estimator.wantsProbe(nowNs)) {
            SimpleConsumer on = probeOn;
            if (on != null) {
                probe(on::sendPadding, SimpleConsumer.MAX_PADDING, estimator.probeTargetBps(), estimator.probeEndNs(),
                        nowNs);
            } else {
                probe(this::sendLinkProbe, LINK_PROBE_BYTES, estimator.probeTargetBps(), estimator.probeEndNs(),
                        nowNs);
            }
        }
    }

    /**
     * What this peer's tracks would cost the link with every layer the far side asks for: audio, and each relayed
     * video's layers up to its request (a pipe sends every layer up to its cap).
     */
    private long linkDemandBps(long nowNs) {
        long bps = 0;
        for (int i = 0; i < consumers.size(); i++) {
            Consumer c = consumers.get(i);
            if (c.producer.kind() == TrackKind.AUDIO) {
                bps += c.producer.layerBitrateBps(0, nowNs);
            } else if (c instanceof PipeConsumer p) {
                int top = Math.min(p.requestedTopLayer(nowNs), p.producer.streamCount() - 1);
                for (int layer = 0; layer <= top; layer++) {
                    bps += p.producer.layerBitrateBps(layer, nowNs);
                }
            }
        }
        return bps;
    }

    /**
     * The video tracks carried over this relay link share what is left of {@code budget}: every layer up to a
     * track's cap crosses, so a layer costs its own bitrate on top of those below it. Breadth first: every track's
     * lowest layer (always), then each track's next layer while it fits and the far side asks for it, round by
     * round, so that one track's top layer never starves another's middle one. True if a track gets less than the
     * far side asks for.
     */
    private boolean allocateLink(long budget, long nowNs) {
        int top = 0;
        for (int i = 0; i < consumers.size(); i++) {
            if (consumers.get(i) instanceof PipeConsumer p && p.stampsTransportCc()
                    && p.producer.kind() == TrackKind.VIDEO) {
                p.allocating = 0;
                budget -= p.producer.layerBitrateBps(0, nowNs);
                top = Math.max(top, p.requestedTopLayer(nowNs));
            }
        }
        boolean wantsMore = false;
        for (int layer = 1; layer <= top; layer++) {
            for (int i = 0; i < consumers.size(); i++) {
                if (consumers.get(i) instanceof PipeConsumer p && p.stampsTransportCc()
                        && p.producer.kind() == TrackKind.VIDEO && p.allocating == layer - 1
                        && layer <= p.requestedTopLayer(nowNs)) {
                    long bps = p.producer.layerBitrateBps(layer, nowNs);
                    long need = layer > p.bandwidthLayer() ? bps * UP_HEADROOM_PERCENT / 100 : bps;
                    if (need <= budget) {
                        p.allocating = layer;
                        budget -= bps;
                    } else {
                        wantsMore = true;
                    }
                }
            }
        }
        for (int i = 0; i < consumers.size(); i++) {
            if (consumers.get(i) instanceof PipeConsumer p && p.stampsTransportCc()
                    && p.producer.kind() == TrackKind.VIDEO) {
                p.setBandwidthLayer(p.allocating >= p.producer.streamCount() - 1 ? SimpleConsumer.ANY_LAYER
                        : p.allocating, nowNs);
            }
        }
        return wantsMore;
    }

    /** Something that sends padding of about {@code bytes} now, false when it cannot. */
    @FunctionalInterface
    interface Padder {
        boolean pad(int bytes, long nowNs);
    }

    /**
     * Sends padding through {@code padder}, {@code packetBytes} a packet, so that this peer's traffic reaches
     * {@code targetBps} until then.
     */
    private void probe(Padder padder, int packetBytes, long targetBps, long endNs, long nowNs) {
        long extraBps = Math.max(0, targetBps - estimator.ackedBps());
        long durationNs = Math.max(0, endNs - nowNs);
        long bytes = extraBps * durationNs / 8_000_000_000L;
        int steps = (int) Math.max(1, Math.min(20, durationNs / 5_000_000L)); // every 5 ms
        int packetsPerStep = (int) Math.min(20, bytes / packetBytes / steps + 1);
        for (int step = 0; step < steps; step++) {
            router.loop().schedule(() -> {
                long at = System.nanoTime();
                for (int k = 0; k < packetsPerStep && padder.pad(packetBytes, at); k++) {
                    metrics.probePacketSent();
                }
                transport.flush();
            }, step * 5L, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /**
     * One probe packet on a relay link: RTP on {@link #LINK_PROBE_SSRC} with the link's next transport-wide number
     * and {@code bytes} of zeros, which the far node records and drops. False if this peer is no longer a link.
     */
    private boolean sendLinkProbe(int bytes, long nowNs) {
        if (closed || linkConsumers == 0 || !transport.isConnected()) {
            return false;
        }
        ByteBuf out = allocRtp(RtpPacket.HEADER_LENGTH + 8 + bytes);
        out.writeByte(0x90); // V=2, X=1
        out.writeByte(PROBE_PAYLOAD_TYPE);
        out.writeShort(wide.nextProbeSeq());
        out.writeInt(0);
        out.writeInt((int) LINK_PROBE_SSRC);
        out.writeShort(0xBEDE).writeShort(1);
        int seq = nextTransportSeq();
        out.writeByte(LINK_PROBE_EXTENSION_ID << 4 | 1).writeShort(seq).writeByte(0);
        out.writeZero(bytes);
        onStampedPacketSent(seq, out.readableBytes(), nowNs);
        transport.sendRtp(out);
        return true;
    }

    /** The payload type of link probes: dynamic, and dropped by SSRC before it matters. */
    static final int PROBE_PAYLOAD_TYPE = 127;

    @Override
    public void onTransportConnected(MediaTransport t) {
        assert router.loop().inEventLoop();
        long nowNs = System.nanoTime();
        for (Consumer c : consumers) {
            c.onSubscriberConnected(nowNs);
        }
        if (listener != null) {
            listener.onPeerConnected(this);
        }
    }

    @Override
    public void onTransportRtp(MediaTransport t, ByteBuf packet, int payloadOffset, long nowNs) {
        assert router.loop().inEventLoop();
        long ssrc = RtpPacket.ssrc(packet);
        ProducerStream s = streamsBySsrc.get(ssrc);
        if (s == null) {
            s = bindByMid(packet, ssrc);
        }
        // Transport-wide numbers cover every packet of the transport, whatever its SSRC: the publisher's bandwidth
        // probes (padding on streams the node does not forward, e.g. unsignaled rtx) must be reported arrived, or its
        // congestion control reads them as lost and never raises its estimate. The extension id is the stream's own
        // (a relay link carries streams of publishers that chose different ids), else the transport's.
        if (transportCc != null) {
            int id = s != null && s.producer.params().transportCcExtensionId() > 0
                    ? s.producer.params().transportCcExtensionId()
                    : ssrc == LINK_PROBE_SSRC ? LINK_PROBE_EXTENSION_ID : transportCcExtensionId;
            int at = RtpPacket.findExtension(packet, id);
            if (at >= 0 && RtpPacket.extensionLength(packet, at) == 2) {
                transportCc.onPacket(packet.getUnsignedShort(packet.readerIndex() + at), nowNs);
            }
        }
        if (s == null) {
            if (ssrc != LINK_PROBE_SSRC || !transport.carriesTransportWideNumbers()) {
                metrics.drop(DropReason.UNKNOWN_SSRC);
            }
            return;
        }
        s.producer.onRtp(s, packet, payloadOffset, nowNs);
    }

    /**
     * Sends the publisher transport-cc feedback for what arrived since the last call (draft-holmer-rmcat-transport-
     * wide-cc-extensions-01: its congestion control reads the arrival times and finds the bandwidth). Called by the
     * router every {@link Router#TRANSPORT_FEEDBACK_INTERVAL_MS}.
     */
    void sendTransportFeedback() {
        if (closed || transportCc == null || !transportCc.hasPending() || !transport.isConnected()) {
            return;
        }
        long mediaSsrc = producers.isEmpty() ? 0 : Math.max(0, producers.get(0).ssrc());
        for (int i = 0; i < 8 && transportCc.hasPending(); i++) { // bounded: 8 packets cover the whole ring
            ByteBuf out = allocRtcp();
            if (transportCc.writeFeedback(out, rtcpSsrc, mediaSsrc) == 0) {
                out.release();
                break;
            }
            transport.sendRtcp(out);
        }
        transport.flush();
    }

    /**
     * A packet from an SSRC not announced in the SDP: bind it to the stream of the producer its MID header
     * extension names (RFC 8843 9.2), the one its RID extension names (RFC 8852) if the producer has several, if
     * that stream has no SSRC yet. Once per stream: the bound SSRC is looked up directly from then on.
     */
    private ProducerStream bindByMid(ByteBuf packet, long ssrc) {
        for (int i = 0; i < producers.size(); i++) {
            Producer p = producers.get(i);
            int extId = p.params().midExtensionId();
            if (extId <= 0) {
                continue;
            }
            String mid = extensionText(packet, extId);
            if (mid == null) {
                continue;
            }
            Producer named = producersByMid.get(mid);
            if (named == null) {
                return null;
            }
            ProducerStream stream;
            if (named.streamCount() == 1) {
                stream = named.stream(0);
            } else {
                int ridExt = named.params().ridExtensionId();
                String rid = ridExt <= 0 ? null : extensionText(packet, ridExt);
                stream = rid == null ? null : named.streamByRid(rid);
            }
            if (stream == null || stream.ssrc >= 0) {
                return null;
            }
            stream.ssrc = ssrc;
            streamsBySsrc.put(ssrc, stream);
            return stream;
        }
        return null;
    }

    private static String extensionText(ByteBuf packet, int extId) {
        int at = RtpPacket.findExtension(packet, extId);
        if (at < 0) {
            return null;
        }
        int len = RtpPacket.extensionLength(packet, at);
        return packet.toString(packet.readerIndex() + at, len, StandardCharsets.US_ASCII);
    }

    @Override
    public void onTransportRtcp(MediaTransport t, ByteBuf packet, long nowNs) {
        assert router.loop().inEventLoop();
        int off = 0;
        int end = packet.readableBytes();
        while (off + 4 <= end) {
            int len = RtcpPacket.lengthBytes(packet, off);
            if (len <= 0 || off + len > end) {
                metrics.drop(DropReason.RTCP_MALFORMED);
                return;
            }
            onRtcpPacket(packet, off, len, nowNs);
            off += len;
        }
    }

    private void onRtcpPacket(ByteBuf packet, int off, int len, long nowNs) {
        int type = RtcpPacket.packetType(packet, off);
        switch (type) {
            case RtcpPacket.SR -> {
                if (len >= 28) {
                    ProducerStream s = streamsBySsrc.get(RtcpPacket.senderSsrc(packet, off));
                    if (s != null) {
                        int base = packet.readerIndex() + off;
                        s.onSenderReport(packet.getLong(base + 8), packet.getUnsignedInt(base + 16), nowNs);
                    }
                }
            }
            case RtcpPacket.PSFB -> {
                long media = RtcpPacket.isPli(packet, off) ? RtcpPacket.mediaSsrc(packet, off)
                        : RtcpPacket.isFir(packet, off) ? RtcpPacket.firSsrc(packet, off) : -1;
                Consumer c = media < 0 ? null : consumersBySsrc.get(media);
                if (c != null) {
                    c.onKeyframeRequest(media, nowNs);
                }
            }
            case RtcpPacket.RTPFB -> {
                if (TransportCcFeedback.isTransportCc(packet, off)) {
                    // On a relay link's channel the far node's feedback may come from any of its channels, so to
                    // any of ours: it measures the one wire, whichever channel reads it.
                    SendSideEstimator e = estimator != null ? estimator : wide.estimatorOrNull();
                    if (e != null) {
                        e.onFeedback(packet, off, len, nowNs);
                    }
                } else if (RtcpPacket.isNack(packet, off)) {
                    Consumer c = consumersBySsrc.get(RtcpPacket.mediaSsrc(packet, off));
                    if (c != null) {
                        c.onNack(packet, off, nowNs);
                    }
                }
            }
            case RtcpPacket.APP -> {
                if (RtcpPacket.isLayerRequest(packet, off)) {
                    Consumer c = consumersBySsrc.get(RtcpPacket.layerRequestSsrc(packet, off));
                    if (c != null) {
                        c.onLayerRequest(RtcpPacket.layerRequestMaxLayer(packet, off), nowNs);
                    }
                }
            }
            case RtcpPacket.BYE -> {
                // A stream ended (a relay link stopped a layer for bandwidth; a browser dropped one): its
                // consumers move to another layer now instead of waiting for it to go quiet.
                int sources = Math.min(RtcpPacket.count(packet, off), (len - 4) / 4);
                for (int i = 0; i < sources; i++) {
                    ProducerStream s = streamsBySsrc.get(packet.getUnsignedInt(packet.readerIndex() + off + 4 + 4 * i));
                    if (s != null) {
                        s.onBye(nowNs);
                    }
                }
            }
            default -> {
                // RR, SDES, REMB: not acted on.
            }
        }
    }

    @Override
    public void onTransportClosed(MediaTransport t, String reason) {
        if (listener != null) {
            listener.onPeerClosed(this, reason);
        }
    }

    /**
     * Sends this peer its periodic RTCP: a receiver report about every stream it publishes and
     * sender reports (+ SDES) for every consumer it receives.
     */
    void sendReports(long nowNs) {
        if (closed || !transport.isConnected()) {
            return;
        }
        boolean sent = false;
        ByteBuf out = null;
        int start = 0;
        int count = 0;
        for (int i = 0; i < producers.size(); i++) {
            Producer p = producers.get(i);
            for (int layer = 0; layer < p.streamCount(); layer++) {
                ProducerStream s = p.stream(layer);
                if (s.ssrc < 0 || !s.receiveStats.hasReceived()) {
                    continue;
                }
                if (out == null) {
                    out = allocRtcp();
                    start = RtcpWriter.writeReceiverReport(out, rtcpSsrc);
                    count = 0;
                }
                s.receiveStats.writeReportBlock(out, s.ssrc, nowNs);
                if (++count == MAX_REPORT_BLOCKS) {
                    sent |= finishReceiverReport(out, start, count);
                    out = null;
                }
            }
        }
        if (out != null) {
            sent |= finishReceiverReport(out, start, count);
        } else if (!sent && !producers.isEmpty()) {
            ByteBuf empty = allocRtcp();
            sent = finishReceiverReport(empty, RtcpWriter.writeReceiverReport(empty, rtcpSsrc), 0);
        }
        for (int i = 0; i < consumers.size(); i++) {
            Consumer c = consumers.get(i);
            out = allocRtcp();
            if (c.writeSenderReports(out, nowNs)) {
                RtcpWriter.writeSdesCname(out, c.ssrc(), cname);
                transport.sendRtcp(out);
                sent = true;
            } else {
                out.release();
            }
        }
        if (sent) {
            transport.flush();
        }
    }

    /** Counters summed over this peer's streams (see LinkStats). Worker loop. */
    public io.cascadesfu.core.room.LinkStats stats(long nowNs) {
        long in = 0;
        long lost = 0;
        long bps = 0;
        long jitterNs = 0;
        for (int i = 0; i < producers.size(); i++) {
            Producer p = producers.get(i);
            for (int layer = 0; layer < p.streamCount(); layer++) {
                ProducerStream s = p.stream(layer);
                if (!s.receiveStats.hasReceived()) {
                    continue;
                }
                in += s.receiveStats.packetsReceived();
                lost += Math.max(0, s.receiveStats.cumulativeLost());
                bps += s.bitrateBps(nowNs);
                jitterNs = Math.max(jitterNs, s.receiveStats.jitterNs());
            }
        }
        long out = 0;
        long bytes = 0;
        int capped = 0;
        for (int i = 0; i < consumers.size(); i++) {
            Consumer c = consumers.get(i);
            out += c.sendStats.packetCount();
            bytes += c.sendStats.octetCount();
            if (c instanceof PipeConsumer p && p.bandwidthLayer() < p.requestedTopLayer(nowNs)) {
                capped++;
            }
        }
        SendSideEstimator e = wide.estimatorOrNull(); // the link's, on a relay channel, even with nothing sent here
        return new io.cascadesfu.core.room.LinkStats(transport.isConnected(), in, lost, bps, jitterNs / 1e6, out,
                bytes, e == null ? -1 : e.estimateBps(), e == null ? 0 : e.ackedBps(), capped);
    }

    /**
     * A layer request is repeated this often even when it has not changed: the far end forgets it after 3 s, and a
     * relay that starts after the request was first sent learns it within this.
     */
    static final long LAYER_REQUEST_REFRESH_NS = 500_000_000L;

    /**
     * Over a pipe or relay link: asks the far end for each simulcast track's layers up to the highest any consumer
     * here wants (RTCP APP "LAYR"), when that changed or once a second, so layers nobody here shows do not cross.
     */
    void sendLayerRequests(long nowNs) {
        if (closed || !transport.understandsLayerRequests() || !transport.isConnected()) {
            return;
        }
        ByteBuf out = null;
        for (int i = 0; i < producers.size(); i++) {
            Producer p = producers.get(i);
            if (p.streamCount() < 2) {
                continue;
            }
            int cap = p.wantedLayerCap(nowNs);
            if (cap == p.lastLayerRequest && nowNs - p.lastLayerRequestNs < LAYER_REQUEST_REFRESH_NS) {
                continue;
            }
            if (out == null) {
                out = allocRtcp();
                RtcpWriter.finishReport(out, RtcpWriter.writeReceiverReport(out, rtcpSsrc), 0);
            }
            if (out.writableBytes() < RtcpPacket.LAYER_REQUEST_LENGTH) {
                break; // the rest next time
            }
            RtcpWriter.writeLayerRequest(out, rtcpSsrc, p.ssrc(), cap);
            p.lastLayerRequest = cap;
            p.lastLayerRequestNs = nowNs;
        }
        if (out != null) {
            transport.sendRtcp(out);
            transport.flush();
        }
    }

    private boolean finishReceiverReport(ByteBuf out, int start, int count) {
        RtcpWriter.finishReport(out, start, count);
        RtcpWriter.writeSdesCname(out, rtcpSsrc, cname);
        transport.sendRtcp(out);
        return true;
    }

    /** Closes this peer's producers and consumers and its transport. Idempotent. */
    void close(String reason) {
        if (closed) {
            return;
        }
        closed = true;
        if (wideSlot >= 0) {
            wide.leave(wideSlot);
        }
        for (Producer p : new ArrayList<>(producers)) {
            router.closeProducer(p);
        }
        for (Consumer c : new ArrayList<>(consumers)) {
            c.close();
        }
        transport.close(reason);
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "MediaPeer[" + id + "]";
    }
}
