package io.cascadesfu.core.edge;

import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.transport.TransportRegistry;
import io.cascadesfu.core.worker.WorkerStats;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One media worker's UDP port: the ICE, DTLS and SRTP of every client placed on that worker arrives here.
 * Native epoll when the platform has it, NIO otherwise.
 *
 * <p>Threading: the worker's event loop owns the channel; the same loop owns the worker's transports,
 * registry and forwarding state, so the packet path needs no locks.
 */
public final class UdpEdge implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UdpEdge.class);
    /** Largest datagram read: above any WebRTC MTU, below the IPv4 fragmentation pain. */
    static final int MAX_DATAGRAM_BYTES = 2048;
    static final int SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
    /** Datagrams read per recvmmsg call with epoll. */
    static final int RECV_BATCH = 16;

    private final EventLoopGroup group;
    private final Channel channel;

    private UdpEdge(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Binds the media port. Blocks until bound; throws if the port cannot be bound. */
    public static UdpEdge bind(InetSocketAddress address, String threadName, TransportRegistry registry,
                               SfuMetrics metrics, WorkerStats stats) {
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(threadName),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        try {
            Bootstrap b = new Bootstrap()
                    .group(group)
                    .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
                    .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
                    .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, fixedAllocator(epoll))
                    .handler(new EdgeHandler(registry, metrics, stats));
            if (epoll) {
                // recvmmsg: up to RECV_BATCH datagrams per system call, each a slice of one buffer.
                b.option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM_BYTES);
            }
            Channel channel = b.bind(address).syncUninterruptibly().channel();
            log.info("media listening on udp {} ({})", channel.localAddress(), epoll ? "epoll" : "nio");
            return new UdpEdge(group, channel);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    @SuppressWarnings("deprecation") // maxMessagesPerRead: still the way to batch reads in 4.2
    private static FixedRecvByteBufAllocator fixedAllocator(boolean batched) {
        FixedRecvByteBufAllocator allocator = new FixedRecvByteBufAllocator(
                batched ? MAX_DATAGRAM_BYTES * RECV_BATCH : MAX_DATAGRAM_BYTES);
        allocator.maxMessagesPerRead(32);
        return allocator;
    }

    /** The datagram channel class of this edge's event loop (epoll or NIO), for other sockets on that loop. */
    public Class<? extends io.netty.channel.socket.DatagramChannel> datagramChannelType() {
        return channel instanceof EpollDatagramChannel ? EpollDatagramChannel.class : NioDatagramChannel.class;
    }

    public Channel channel() {
        return channel;
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
}
