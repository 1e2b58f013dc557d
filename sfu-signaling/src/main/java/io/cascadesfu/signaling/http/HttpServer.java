package io.cascadesfu.signaling.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTP port: the WebSocket signaling endpoint {@code /ws}, the demo page and client
 * library, {@code /health}, {@code /metrics} and, in development mode, {@code /token}.
 *
 * <p>Threading: its own small event loop group, separate from the media workers and the control thread.
 */
public final class HttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpServer.class);
    public static final String WEBSOCKET_PATH = "/ws";
    /** A signaling socket silent this long is closed (clients ping every 10 s). */
    static final int IDLE_SECONDS = 30;

    private final EventLoopGroup group;
    private final Channel channel;
    private final ChannelGroup connections;

    private HttpServer(EventLoopGroup group, Channel channel, ChannelGroup connections) {
        this.group = group;
        this.channel = channel;
        this.connections = connections;
    }

    /**
     * Binds the port.
     *
     * @param routes            plain HTTP requests
     * @param webSocketHandlers makes the handler for each new signaling socket
     * @param maxMessageBytes   largest WebSocket frame accepted
     * @param maxConnections    connections held at once; more are closed when accepted
     * @param maxPerAddress     connections held at once from one source address
     */
    public static HttpServer bind(InetSocketAddress address, HttpRoutes routes,
                                  Supplier<io.netty.channel.ChannelHandler> webSocketHandlers, int maxMessageBytes,
                                  int maxConnections, int maxPerAddress, io.micrometer.core.instrument.MeterRegistry registry) {
        ConnectionLimiter limiter = new ConnectionLimiter(maxConnections, maxPerAddress, registry);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("sfu-http"),
                NioIoHandler.newFactory());
        ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        try {
            // Frames up to twice the limit are decoded, so SignalingHandler can answer message_too_large
            // itself; beyond that Netty closes the socket (status 1009) before reading it all.
            WebSocketServerProtocolConfig wsConfig = WebSocketServerProtocolConfig.newBuilder()
                    .websocketPath(WEBSOCKET_PATH)
                    .decoderConfig(WebSocketDecoderConfig.newBuilder()
                            .maxFramePayloadLength(2 * maxMessageBytes)
                            .allowExtensions(false)
                            .closeOnProtocolViolation(true)
                            .build())
                    .handleCloseFrames(true)
                    .build();
            ServerBootstrap b = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            connections.add(ch);
                            ChannelPipeline p = ch.pipeline();
                            p.addLast(limiter);
                            p.addLast(new HttpServerCodec());
                            p.addLast(new HttpObjectAggregator(64 * 1024));
                            p.addLast(new IdleStateHandler(IDLE_SECONDS, 0, 0, TimeUnit.SECONDS));
                            p.addLast(new HttpRequestHandler(routes));
                            p.addLast(new WebSocketServerProtocolHandler(wsConfig));
                            p.addLast(new MessageSizeLimit(maxMessageBytes));
                            p.addLast(new WebSocketFrameAggregator(2 * maxMessageBytes));
                            p.addLast(webSocketHandlers.get());
                        }
                    });
            Channel channel = b.bind(address).syncUninterruptibly().channel();
            log.info("http listening on {}", channel.localAddress());
            return new HttpServer(group, channel, connections);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /**
     * Stops listening, then closes every connection after what was already written to it (e.g. a
     * {@code server_shutting_down} error) has gone out, then stops the threads.
     */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
