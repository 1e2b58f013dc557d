package io.cascadesfu.signaling.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers plain HTTP requests; passes the WebSocket upgrade on {@code /ws} down the pipeline.
 * Static files come from the classpath folder {@code web/}, cached in memory after first use.
 */
final class HttpRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(HttpRequestHandler.class);
    private static final Map<String, byte[]> STATIC_CACHE = new ConcurrentHashMap<>();
    private static final byte[] MISSING = new byte[0];

    private final HttpRoutes routes;

    HttpRequestHandler(HttpRoutes routes) {
        super(false);
        this.routes = routes;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        QueryStringDecoder query = new QueryStringDecoder(req.uri());
        String path = query.path();
        if (HttpServer.WEBSOCKET_PATH.equals(path)) {
            ctx.fireChannelRead(req); // the WebSocket handshake handler takes it (and releases it)
            return;
        }
        try {
            if (!req.decoderResult().isSuccess()) {
                send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain", "bad request\n");
                return;
            }
            if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
                send(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
                return;
            }
            switch (path) {
                case "/health" -> {
                    boolean ok = routes.health().getAsBoolean();
                    send(ctx, req, ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain",
                            ok ? "ok\n" : "unavailable\n");
                }
                case "/metrics" -> send(ctx, req, HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                        routes.metrics().get());
                case "/token" -> {
                    if (routes.token() == null) {
                        send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
                    } else {
                        HttpRoutes.TokenResponse r = routes.token().apply(query.parameters());
                        send(ctx, req, HttpResponseStatus.valueOf(r.status()), "application/json", r.json());
                    }
                }
                case "/nodes" -> {
                    if (routes.nodes() == null) {
                        send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
                    } else {
                        send(ctx, req, HttpResponseStatus.OK, "application/json", routes.nodes().get());
                    }
                }
                default -> serveStatic(ctx, req, path);
            }
        } finally {
            req.release();
        }
    }

    private void serveStatic(ChannelHandlerContext ctx, FullHttpRequest req, String path) {
        if (path.equals("/")) {
            path = "/index.html";
        }
        // Only files: every asset has an extension, so a folder (/sdk, /sdk/) is never listed.
        if (path.contains("..") || path.contains("//") || !path.matches("/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\\.[A-Za-z0-9]+")) {
            send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
            return;
        }
        byte[] body = STATIC_CACHE.computeIfAbsent(path, HttpRequestHandler::loadResource);
        if (body == MISSING) {
            send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
            return;
        }
        send(ctx, req, HttpResponseStatus.OK, contentType(path), Unpooled.wrappedBuffer(body));
    }

    private static byte[] loadResource(String path) {
        try (InputStream in = HttpRequestHandler.class.getClassLoader().getResourceAsStream("web" + path)) {
            return in == null ? MISSING : in.readAllBytes();
        } catch (IOException e) {
            return MISSING;
        }
    }

    static String contentType(String path) {
        if (path.endsWith(".html")) return "text/html; charset=utf-8";
        if (path.endsWith(".js") || path.endsWith(".mjs")) return "text/javascript; charset=utf-8";
        if (path.endsWith(".css")) return "text/css; charset=utf-8";
        if (path.endsWith(".svg")) return "image/svg+xml";
        if (path.endsWith(".png")) return "image/png";
        if (path.endsWith(".json")) return "application/json";
        if (path.endsWith(".ico")) return "image/x-icon";
        return "application/octet-stream";
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String type,
                             String body) {
        send(ctx, req, status, type, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String type,
                             ByteBuf body) {
        boolean head = req.method() == HttpMethod.HEAD;
        int length = body.readableBytes();
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                head ? Unpooled.EMPTY_BUFFER : body);
        if (head) {
            body.release();
        }
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        res.headers().set("X-Content-Type-Options", "nosniff");
        String path = new QueryStringDecoder(req.uri()).path();
        if (path.equals("/health") || path.equals("/nodes") || path.equals("/token")) {
            // A client on another node's page measures, lists and (development tokens) joins this node too.
            res.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        }
        HttpUtil.setContentLength(res, length); // HEAD: the length a GET would have (RFC 9110 9.3.2)
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (keepAlive) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(res);
        } else {
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("http connection error", cause);
        ctx.close();
    }
}
