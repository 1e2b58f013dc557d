package io.cascadesfu.core.media;

import io.cascadesfu.core.bwe.TransportCcRecorder;
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
    private final long rtcpSsrc = ThreadLocalRandom.current().nextInt() & 0xFFFF_FFFFL;
    private final String cname;

    private final LongObjectHashMap<ProducerStream> streamsBySsrc = new LongObjectHashMap<>();
    private final Map<String, Producer> producersByMid = new HashMap<>();
    private final List<Producer> producers = new ArrayList<>();
    private final LongObjectHashMap<Consumer> consumersBySsrc = new LongObjectHashMap<>();
    private final List<Consumer> consumers = new ArrayList<>();
    private PeerListener listener;
    private boolean closed;
    /** Arrival times of what the peer publishes, for its congestion control; null until a producer negotiates it. */
    private TransportCcRecorder transportCc;
    private int transportCcExtensionId;

    MediaPeer(String id, MediaTransport transport, Router router, SfuMetrics metrics) {
        this.id = id;
        this.transport = transport;
        this.router = router;
        this.metrics = metrics;
        this.cname = "sfu-" + id;
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
        if (twcc > 0 && transportCc == null) {
            transportCc = new TransportCcRecorder();
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
        consumers.add(c);
        for (int i = 0; i < c.ssrcCount(); i++) {
            consumersBySsrc.put((c.ssrc() + i) & 0xFFFF_FFFFL, c);
        }
    }

    void removeConsumer(Consumer c) {
        consumers.remove(c);
        for (int i = 0; i < c.ssrcCount(); i++) {
            consumersBySsrc.remove((c.ssrc() + i) & 0xFFFF_FFFFL);
        }
    }

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
            if (s == null) {
                metrics.drop(DropReason.UNKNOWN_SSRC);
                return;
            }
        }
        if (transportCc != null) {
            int at = RtpPacket.findExtension(packet, transportCcExtensionId);
            if (at >= 0 && RtpPacket.extensionLength(packet, at) == 2) {
                transportCc.onPacket(packet.getUnsignedShort(packet.readerIndex() + at), nowNs);
            }
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
                if (RtcpPacket.isNack(packet, off)) {
                    Consumer c = consumersBySsrc.get(RtcpPacket.mediaSsrc(packet, off));
                    if (c != null) {
                        c.onNack(packet, off, nowNs);
                    }
                }
            }
            default -> {
                // RR, SDES, BYE, REMB, transport-cc: not acted on yet.
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
