package io.cascadesfu.signaling.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Caps the HTTP/WebSocket connections the node holds: in total and per source address, so that one host
 * opening connections by the thousand (and never joining) cannot exhaust the node's file descriptors and lock
 * out everyone else. A connection over a cap is closed as soon as it is accepted and counted in
 * {@code sfu_signaling_connections_refused_total{reason}}.
 *
 * <p>Threading: shared by every connection's pipeline (the HTTP threads); the counts are concurrent.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {
    private static final AttributeKey<InetAddress> COUNTED = AttributeKey.valueOf("cascadesfu.counted");

    private final int maxConnections;
    private final int maxPerAddress;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    private final Counter refusedTotal;
    private final Counter refusedPerAddress;

    ConnectionLimiter(int maxConnections, int maxPerAddress, MeterRegistry registry) {
        this.maxConnections = maxConnections;
        this.maxPerAddress = maxPerAddress;
        Gauge.builder("sfu.signaling.connections", total, AtomicInteger::get)
                .description("Open HTTP/WebSocket connections").register(registry);
        refusedTotal = Counter.builder("sfu.signaling.connections.refused").tag("reason", "node_limit")
                .description("Connections closed at once because a cap was reached").register(registry);
        refusedPerAddress = Counter.builder("sfu.signaling.connections.refused").tag("reason", "address_limit")
                .register(registry);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        InetAddress from = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
        if (total.incrementAndGet() > maxConnections) {
            total.decrementAndGet();
            refusedTotal.increment();
            ctx.close();
            return;
        }
        if (from != null) {
            AtomicInteger n = perAddress.computeIfAbsent(from, k -> new AtomicInteger());
            if (n.incrementAndGet() > maxPerAddress) {
                release(from, n);
                total.decrementAndGet();
                refusedPerAddress.increment();
                ctx.close();
                return;
            }
            ctx.channel().attr(COUNTED).set(from);
        }
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        InetAddress from = ctx.channel().attr(COUNTED).getAndSet(null);
        if (from != null) {
            total.decrementAndGet();
            AtomicInteger n = perAddress.get(from);
            if (n != null) {
                release(from, n);
            }
        }
        super.channelInactive(ctx);
    }

    private void release(InetAddress from, AtomicInteger n) {
        if (n.decrementAndGet() <= 0) {
            perAddress.remove(from, n);
        }
    }

    int open() {
        return total.get();
    }
}
