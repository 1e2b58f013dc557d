package io.cascadesfu.signaling.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
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
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers plain HTTP requests; passes the WebSocket upgrade on {@code /ws} down the pipeline.
 * Static files come from the classpath folder {@code web/}, cached in memory after first use. Requests under
 * {@code /admin} go to {@link HttpRoutes#admin()} and are answered when it completes.
 *
 * <p>Threading: one per connection, on its I/O thread.
 */
final class HttpRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(HttpRequestHandler.class);
    private static final Map<String, byte[]> STATIC_CACHE = new ConcurrentHashMap<>();
    private static final byte[] MISSING = new byte[0];

    /** Requests pipelined behind an unanswered admin request that one connection may hold before it is closed. */
    static final int MAX_HELD_REQUESTS = 16;
    private static final HttpRoutes.AdminResponse ADMIN_INTERNAL_ERROR = new HttpRoutes.AdminResponse(500,
            "{\"error\":\"internal\",\"message\":\"the request failed; the node logged why\"}");

    private final HttpRoutes routes;
    // I/O thread only.
    private boolean adminPending;
    private final ArrayDeque<FullHttpRequest> held = new ArrayDeque<>();

    HttpRequestHandler(HttpRoutes routes) {
        super(false);
        this.routes = routes;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (adminPending) {
            // HTTP/1.1 answers go out in request order: what follows an admin request waits for its answer.
            held.add(req);
            if (held.size() > MAX_HELD_REQUESTS) {
                ctx.close();
            }
            return;
        }
        QueryStringDecoder query = new QueryStringDecoder(req.uri());
        String path;
        try {
            path = query.path();
        } catch (IllegalArgumentException e) {
            path = null; // a malformed percent escape
        }
        if (HttpServer.WEBSOCKET_PATH.equals(path)) {
            ctx.fireChannelRead(req); // the WebSocket handshake handler takes it (and releases it)
            return;
        }
        try {
            if (!req.decoderResult().isSuccess() || path == null) {
                send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain", "bad request\n");
                return;
            }
            if (path.equals("/admin") || path.startsWith("/admin/")) {
                if (routes.admin() == null) {
                    send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
                } else {
                    onAdmin(ctx, req, query.rawPath());
                }
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
                        Map<String, List<String>> parameters = parameters(ctx, req, query);
                        if (parameters == null) {
                            return;
                        }
                        HttpRoutes.TokenResponse r = routes.token().apply(parameters);
                        send(ctx, req, HttpResponseStatus.valueOf(r.status()), "application/json", r.json());
                    }
                }
                case "/nodes" -> {
                    if (routes.nodes() == null) {
                        send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
                        return;
                    }
                    Map<String, List<String>> parameters = parameters(ctx, req, query);
                    if (parameters == null) {
                        return;
                    }
                    CompletionStage<HttpRoutes.AdminResponse> answer;
                    try {
                        answer = routes.nodes().apply(parameters);
                    } catch (RuntimeException e) {
                        log.error("/nodes failed", e);
                        answer = CompletableFuture.completedFuture(ADMIN_INTERNAL_ERROR);
                    }
                    answerLater(ctx, req, "GET /nodes", answer);
                }
                default -> serveStatic(ctx, req, path);
            }
        } finally {
            req.release();
        }
    }

    /** The query's parameters, or null after answering 400 (a malformed escape). */
    private static Map<String, List<String>> parameters(ChannelHandlerContext ctx, FullHttpRequest req,
                                                        QueryStringDecoder query) {
        try {
            return query.parameters();
        } catch (IllegalArgumentException e) {
            send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain", "bad request\n");
            return null;
        }
    }

    /**
     * Hands an admin request to its route and answers when it completes. Reading stops meanwhile; requests already
     * decoded behind it are held and served after it, in order.
     */
    private void onAdmin(ChannelHandlerContext ctx, FullHttpRequest req, String rawPath) {
        HttpRoutes.AdminRequest request = new HttpRoutes.AdminRequest(req.method().name(), rawPath,
                req.headers().get(HttpHeaderNames.AUTHORIZATION), ByteBufUtil.getBytes(req.content()),
                String.valueOf(ctx.channel().remoteAddress()));
        CompletionStage<HttpRoutes.AdminResponse> answer;
        try {
            answer = routes.admin().handle(request);
        } catch (RuntimeException e) {
            log.error("admin {} {} failed", request.method(), rawPath, e);
            answer = CompletableFuture.completedFuture(ADMIN_INTERNAL_ERROR);
        }
        answerLater(ctx, req, "admin " + request.method() + " " + rawPath, answer);
    }

    /**
     * Sends {@code answer} when it completes; reading stops meanwhile, and requests decoded behind this one are held
     * and served after it, in order. I/O thread.
     */
    private void answerLater(ChannelHandlerContext ctx, FullHttpRequest req, String what,
                             CompletionStage<HttpRoutes.AdminResponse> answer) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        boolean head = req.method() == HttpMethod.HEAD;
        adminPending = true;
        ctx.channel().config().setAutoRead(false);
        answer.whenComplete((response, error) -> ctx.executor().execute(() -> {
            HttpRoutes.AdminResponse r = response;
            if (error != null || r == null) {
                log.error("{} failed", what, error);
                r = ADMIN_INTERNAL_ERROR;
            }
            onAdminAnswered(ctx, r, head, keepAlive);
        }));
    }

    /** I/O thread. */
    private void onAdminAnswered(ChannelHandlerContext ctx, HttpRoutes.AdminResponse r, boolean head,
                                 boolean keepAlive) {
        adminPending = false;
        if (!ctx.channel().isActive()) {
            releaseHeld();
            return;
        }
        FullHttpResponse res = response(HttpResponseStatus.valueOf(r.status()), "application/json",
                Unpooled.copiedBuffer(r.json(), StandardCharsets.UTF_8), head);
        r.headers().forEach((name, value) -> res.headers().set(name, value));
        write(ctx, res, keepAlive);
        if (!keepAlive) {
            releaseHeld(); // the connection closes after this answer
            return;
        }
        ctx.channel().config().setAutoRead(true);
        FullHttpRequest next;
        while (!adminPending && ctx.channel().isActive() && (next = held.poll()) != null) {
            channelRead0(ctx, next);
        }
        if (!ctx.channel().isActive()) {
            releaseHeld();
        }
    }

    private void releaseHeld() {
        FullHttpRequest r;
        while ((r = held.poll()) != null) {
            r.release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releaseHeld();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseHeld();
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
        FullHttpResponse res = response(status, type, body, req.method() == HttpMethod.HEAD);
        String path;
        try {
            path = new QueryStringDecoder(req.uri()).path();
        } catch (IllegalArgumentException e) {
            path = ""; // a malformed escape, answered 400
        }
        if (path.equals("/health") || path.equals("/nodes") || path.equals("/token")) {
            // A client on another node's page measures, lists and (development tokens) joins this node too.
            res.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        }
        write(ctx, res, HttpUtil.isKeepAlive(req));
    }

    /** A response owning {@code body}; for HEAD without it but with the length a GET would have (RFC 9110 9.3.2). */
    private static FullHttpResponse response(HttpResponseStatus status, String type, ByteBuf body, boolean head) {
        int length = body.readableBytes();
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                head ? Unpooled.EMPTY_BUFFER : body);
        if (head) {
            body.release();
        }
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        res.headers().set("X-Content-Type-Options", "nosniff");
        HttpUtil.setContentLength(res, length);
        return res;
    }

    private static void write(ChannelHandlerContext ctx, FullHttpResponse res, boolean keepAlive) {
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
