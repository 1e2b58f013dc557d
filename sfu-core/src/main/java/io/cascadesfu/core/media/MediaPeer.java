package io.cascadesfu.core.media;

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

    private final LongObjectHashMap<Producer> producersBySsrc = new LongObjectHashMap<>();
    private final Map<String, Producer> producersByMid = new HashMap<>();
    private final List<Producer> producers = new ArrayList<>();
    private final LongObjectHashMap<Consumer> consumersBySsrc = new LongObjectHashMap<>();
    private final List<Consumer> consumers = new ArrayList<>();
    private PeerListener listener;
    private boolean closed;

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
        producers.add(p);
        producersByMid.put(p.params().mid(), p);
        if (p.ssrc() >= 0) {
            producersBySsrc.put(p.ssrc(), p);
        }
    }

    void removeProducer(Producer p) {
        producers.remove(p);
        producersByMid.remove(p.params().mid(), p);
        producersBySsrc.values().removeIf(x -> x == p);
    }

    void addConsumer(Consumer c) {
        consumers.add(c);
        consumersBySsrc.put(c.ssrc(), c);
    }

    void removeConsumer(Consumer c) {
        consumers.remove(c);
        consumersBySsrc.remove(c.ssrc());
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
        Producer p = producersBySsrc.get(ssrc);
        if (p == null) {
            p = bindBySsrcOrMid(packet, ssrc);
            if (p == null) {
                metrics.drop(DropReason.UNKNOWN_SSRC);
                return;
            }
        }
        p.onRtp(packet, payloadOffset, nowNs);
    }

    /**
     * A packet from an SSRC not announced in the SDP: bind it to the producer its MID header
     * extension names (RFC 8843 9.2), if that producer has no SSRC yet.
     */
    private Producer bindBySsrcOrMid(ByteBuf packet, long ssrc) {
        for (int i = 0; i < producers.size(); i++) {
            Producer p = producers.get(i);
            int extId = p.params().midExtensionId();
            if (p.ssrc() >= 0 || extId <= 0) {
                continue;
            }
            int at = RtpPacket.findExtension(packet, extId);
            if (at < 0) {
                continue;
            }
            int len = RtpPacket.extensionLength(packet, at);
            String mid = packet.toString(packet.readerIndex() + at, len, StandardCharsets.US_ASCII);
            Producer named = producersByMid.get(mid);
            if (named != null && named.ssrc() < 0) {
                named.bindSsrc(ssrc);
                producersBySsrc.put(ssrc, named);
                return named;
            }
            return null;
        }
        return null;
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
                    Producer p = producersBySsrc.get(RtcpPacket.senderSsrc(packet, off));
                    if (p != null) {
                        int base = packet.readerIndex() + off;
                        p.onSenderReport(packet.getLong(base + 8), packet.getUnsignedInt(base + 16), nowNs);
                    }
                }
            }
            case RtcpPacket.PSFB -> {
                if (RtcpPacket.isPli(packet, off)) {
                    Consumer c = consumersBySsrc.get(RtcpPacket.mediaSsrc(packet, off));
                    if (c != null) {
                        c.onKeyframeRequest(nowNs);
                    }
                } else if (RtcpPacket.isFir(packet, off)) {
                    Consumer c = consumersBySsrc.get(RtcpPacket.firSsrc(packet, off));
                    if (c != null) {
                        c.onKeyframeRequest(nowNs);
                    }
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
     * Sends this peer its periodic RTCP: a receiver report about every producer it publishes and a
     * sender report (+ SDES) for every consumer it receives.
     */
    void sendReports(long nowNs) {
        if (closed || !transport.isConnected()) {
            return;
        }
        boolean sent = false;
        for (int from = 0; from < producers.size(); from += MAX_REPORT_BLOCKS) {
            int to = Math.min(producers.size(), from + MAX_REPORT_BLOCKS);
            ByteBuf out = allocRtcp();
            int start = RtcpWriter.writeReceiverReport(out, rtcpSsrc);
            int count = 0;
            for (int i = from; i < to; i++) {
                Producer p = producers.get(i);
                if (p.ssrc() >= 0 && p.receiveStats().hasReceived()) {
                    p.receiveStats().writeReportBlock(out, p.ssrc(), nowNs);
                    count++;
                }
            }
            RtcpWriter.finishReport(out, start, count);
            RtcpWriter.writeSdesCname(out, rtcpSsrc, cname);
            transport.sendRtcp(out);
            sent = true;
        }
        for (int i = 0; i < consumers.size(); i++) {
            Consumer c = consumers.get(i);
            ByteBuf out = allocRtcp();
            if (c.writeSenderReport(out, nowNs)) {
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
