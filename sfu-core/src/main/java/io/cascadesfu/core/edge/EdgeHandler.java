package io.cascadesfu.core.edge;

import io.cascadesfu.core.ice.IceLiteAgent;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.stun.StunMessage;
import io.cascadesfu.core.stun.StunParseResult;
import io.cascadesfu.core.transport.TransportRegistry;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.cascadesfu.core.worker.WorkerStats;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First stop of every datagram on the media port: classify by first byte (RFC 7983), find the
 * transport by remote address (or, for a STUN check from a new address, by ICE username), hand
 * it over. Writes made while handling a burst of reads are flushed once at the end of the burst.
 *
 * <p>Threading: runs on the worker event loop that owns the channel, the registry and every
 * transport. Buffer ownership: the datagram is released here after the transport has used it.
 */
final class EdgeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(EdgeHandler.class);

    private final TransportRegistry registry;
    private final SfuMetrics metrics;
    private final WorkerStats stats;
    private final StunMessage stun = new StunMessage();
    /**
     * When the current recvmmsg batch came off the socket: its datagrams were all waiting together,
     * so each one's latency counts from there.
     */
    private long burstStartNs;

    EdgeHandler(TransportRegistry registry, SfuMetrics metrics, WorkerStats stats) {
        this.registry = registry;
        this.metrics = metrics;
        this.stats = stats;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket datagram)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        long nowNs = System.nanoTime();
        if (isFirstOfBatch(datagram.content())) {
            burstStartNs = nowNs;
        }
        stats.onDatagramIn();
        stats.setBatchStartNs(burstStartNs);
        try {
            onDatagram(datagram.content(), datagram.sender(), nowNs);
        } catch (RuntimeException e) {
            // A bug must cost one packet, never the node.
            log.warn("error handling a datagram from {}", datagram.sender(), e);
        } finally {
            datagram.release();
        }
        // What this datagram caused goes out now (one sendmmsg for its whole fan-out), not after the
        // rest of the read burst: the packets read with it wait in the burst, not behind its sends too.
        ctx.flush();
        metrics.datagramHandled(System.nanoTime() - burstStartNs);
    }

    /**
     * With recvmmsg every datagram of one system call is a slice of one buffer, the first at its start
     * (the pooled buffer object may be the same for consecutive calls, so identity would not tell).
     * Without it, each datagram is a buffer of its own.
     */
    private static boolean isFirstOfBatch(ByteBuf content) {
        ByteBuf batch = content.unwrap();
        if (batch == null || !content.hasMemoryAddress() || !batch.hasMemoryAddress()) {
            return true;
        }
        return content.memoryAddress() == batch.memoryAddress();
    }

    private void onDatagram(ByteBuf buf, InetSocketAddress from, long nowNs) {
        switch (PacketKind.of(buf)) {
            case STUN -> onStun(buf, from, nowNs);
            case DTLS -> {
                metrics.received(SfuMetrics.Kind.DTLS, buf.readableBytes());
                WebRtcTransport t = registry.byAddress(from);
                if (t == null) {
                    metrics.drop(DropReason.UNKNOWN_ADDRESS);
                } else {
                    t.onDtls(buf);
                }
            }
            case SRTP -> {
                metrics.received(isRtcp(buf) ? SfuMetrics.Kind.RTCP : SfuMetrics.Kind.RTP, buf.readableBytes());
                WebRtcTransport t = registry.byAddress(from);
                if (t == null) {
                    metrics.drop(DropReason.UNKNOWN_ADDRESS);
                } else {
                    t.onSrtp(buf, from, nowNs);
                }
            }
            case UNKNOWN -> metrics.drop(DropReason.UNKNOWN_PROTOCOL);
        }
    }

    static boolean isRtcp(ByteBuf buf) {
        if (buf.readableBytes() < 2) {
            return false;
        }
        int pt = buf.getUnsignedByte(buf.readerIndex() + 1);
        return pt >= 192 && pt <= 223;
    }

    private void onStun(ByteBuf buf, InetSocketAddress from, long nowNs) {
        metrics.received(SfuMetrics.Kind.STUN, buf.readableBytes());
        if (stun.parse(buf) != StunParseResult.OK) {
            metrics.drop(DropReason.STUN_MALFORMED);
            return;
        }
        if (stun.method() != StunMessage.METHOD_BINDING || stun.messageClass() != StunMessage.CLASS_REQUEST) {
            // Binding indications are keepalives (a sign of life from a selected address); anything else is not for
            // a lite agent.
            if (stun.method() == StunMessage.METHOD_BINDING && stun.messageClass() == StunMessage.CLASS_INDICATION) {
                WebRtcTransport t = registry.byAddress(from);
                if (t != null) {
                    t.onBindingIndication(from, nowNs);
                }
            } else {
                metrics.drop(DropReason.STUN_UNEXPECTED);
            }
            return;
        }
        WebRtcTransport t = registry.byUfrag(IceLiteAgent.localUfragOf(stun.username()));
        if (t == null) {
            // Unknown username: dropped rather than answered, so the port cannot be used to probe.
            metrics.drop(DropReason.STUN_UNAUTHORIZED);
            return;
        }
        t.onStunRequest(buf, stun, from, nowNs);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush();
    }

    /**
     * A send or receive error of the socket (e.g. EPERM when a firewall drops what we send): counted, and logged at
     * most once every {@link #ERROR_LOG_INTERVAL_NS} so that an error per packet cannot flood the log.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        metrics.drop(DropReason.SEND_FAILED);
        long nowNs = System.nanoTime();
        if (nowNs - lastErrorLogNs > ERROR_LOG_INTERVAL_NS) {
            lastErrorLogNs = nowNs;
            log.warn("media socket error (further ones for 10 s only counted in sfu_packets_dropped_total"
                    + "{reason=\"send_failed\"}): {}", cause.toString());
        }
    }

    static final long ERROR_LOG_INTERVAL_NS = 10_000_000_000L;
    private long lastErrorLogNs = Long.MIN_VALUE / 2;
}
