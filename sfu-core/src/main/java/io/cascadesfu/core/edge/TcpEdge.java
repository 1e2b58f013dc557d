package io.cascadesfu.core.edge;

import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.transport.UfragDirectory;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's ICE-TCP port (RFC 6544 passive host candidates, RFC 4571 framing), for clients whose network blocks
 * UDP. One port for all workers: a connection is accepted on this edge's own loop ({@code sfu-tcp}), which reads
 * only its first frame, a STUN check whose USERNAME names the transport, and then moves the connection onto the
 * worker loop that owns that transport ({@link TcpConnectionHandler}). From there on its frames take the same path
 * as the UDP edge's datagrams, on the same thread, and the transport's sends go framed over the connection.
 *
 * <p>Limits: at most {@link Limits#maxConnections} connections (more are closed at once), a first frame within
 * {@link Limits#firstFrameTimeout}, a frame at most {@link Limits#maxFrameBytes}, and no connection silent for
 * longer than {@link Limits#idleTimeout}. Each breach is counted in {@code sfu_packets_dropped_total}.
 *
 * <p>Threading: the accept loop owns the server channel and connections until they move. It uses the same I/O
 * transport (epoll or NIO) as the workers, so a connection can be re-registered on a worker's loop.
 */
public final class TcpEdge implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TcpEdge.class);

    /**
     * @param maxConnections    open ICE-TCP connections at once, over all workers
     * @param firstFrameTimeout a connection that has not sent a valid first check by then is closed
     * @param idleTimeout       a connection that sent nothing for this long is closed (browsers check every few
     *                          seconds; the consent timeout fits)
     * @param maxFrameBytes     largest frame accepted (RFC 4571 allows 65535; media and DTLS use far less)
     */
    public record Limits(int maxConnections, Duration firstFrameTimeout, Duration idleTimeout, int maxFrameBytes) {
        /** Above any datagram the UDP edge reads, with room for a client that does not fragment DTLS for TCP. */
        public static final int DEFAULT_MAX_FRAME_BYTES = 4096;

        public Limits {
            if (maxConnections < 1 || firstFrameTimeout.isNegative() || firstFrameTimeout.isZero()
                    || idleTimeout.isNegative() || idleTimeout.isZero()) {
                throw new IllegalArgumentException("invalid ICE-TCP limits");
            }
        }

        public static Limits defaults(Duration idleTimeout) {
            return new Limits(1024, Duration.ofSeconds(5), idleTimeout, DEFAULT_MAX_FRAME_BYTES);
        }
    }

    /** Bytes queued for one connection above which its media is dropped rather than queued. */
    static final int WRITE_HIGH_WATER_BYTES = 1 << 20;
    static final int WRITE_LOW_WATER_BYTES = 256 << 10;

    private final EventLoopGroup group;
    private final Channel channel;
    private final AtomicInteger connections;

    private TcpEdge(EventLoopGroup group, Channel channel, AtomicInteger connections) {
        this.group = group;
        this.channel = channel;
        this.connections = connections;
    }

    /** Binds the ICE-TCP port. Blocks until bound; throws if it cannot be bound. */
    public static TcpEdge bind(InetSocketAddress address, UfragDirectory directory, SfuMetrics metrics,
                               Limits limits) {
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sfu-tcp"),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        AtomicInteger connections = new AtomicInteger();
        try {
            ServerBootstrap b = new ServerBootstrap()
                    .group(group, group)
                    .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 256)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                            new WriteBufferWaterMark(WRITE_LOW_WATER_BYTES, WRITE_HIGH_WATER_BYTES))
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (connections.incrementAndGet() > limits.maxConnections()) {
                                connections.decrementAndGet();
                                metrics.drop(DropReason.TCP_CONNECTION_LIMIT);
                                ch.close();
                                return;
                            }
                            ch.closeFuture().addListener(f -> connections.decrementAndGet());
                            ch.pipeline().addLast(new TcpFrameDecoder(limits.maxFrameBytes(), metrics),
                                    new TcpConnectionHandler(directory, metrics, limits));
                        }
                    });
            Channel channel = b.bind(address).syncUninterruptibly().channel();
            io.micrometer.core.instrument.Gauge.builder("sfu.ice.tcp.connections", connections, AtomicInteger::get)
                    .description("Open ICE-TCP connections (accepted, not yet closed)")
                    .register(metrics.registry());
            log.info("media listening on tcp {} (ICE-TCP, {})", channel.localAddress(), epoll ? "epoll" : "nio");
            return new TcpEdge(group, channel, connections);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Open connections (accepted, not yet closed). Any thread. */
    public int connectionCount() {
        return connections.get();
    }

    /** Stops accepting; connections already on workers close with their transports or the workers. */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
