package io.cascadesfu.signaling.ws;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.signaling.auth.AccessToken;
import io.cascadesfu.signaling.auth.TokenException;
import io.cascadesfu.signaling.auth.TokenService;
import io.cascadesfu.signaling.room.ClientConnection;
import io.cascadesfu.signaling.room.ParticipantHandle;
import io.cascadesfu.signaling.room.RoomManager;
import io.cascadesfu.signaling.room.SignalingException;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One signaling socket (docs/PROTOCOL.md). JSON is parsed and the token verified on the socket's
 * own I/O thread; everything that touches rooms or media is handed to the engine's control thread as a task (SDP and JSON work never runs on a media worker).
 * Replies go back through {@link Channel#writeAndFlush}, which is safe from any thread.
 */
public final class SignalingHandler extends SimpleChannelInboundHandler<WebSocketFrame> implements ClientConnection {
    private static final Logger log = LoggerFactory.getLogger(SignalingHandler.class);
    static final int PROTOCOL_VERSION = 1;
    private static final Set<String> TYPES = Set.of("join", "publish_offer", "subscribe_answer", "mute", "track_settings",
            "ping", "leave");

    private final ObjectMapper mapper;
    private final TokenService tokens;
    private final RoomManager rooms;
    private final EventLoop controlLoop;
    private final int maxMessageBytes;
    private final java.time.Duration joinTimeout;
    private volatile Channel channel;
    /** Set on the control thread after a successful join; read there only. */
    private ParticipantHandle participant;
    /** Set on the I/O thread when a join was accepted for processing. */
    private boolean joinRequested;

    public SignalingHandler(ObjectMapper mapper, TokenService tokens, RoomManager rooms, EventLoop controlLoop,
                            int maxMessageBytes, java.time.Duration joinTimeout) {
        this.joinTimeout = joinTimeout;
        this.mapper = mapper;
        this.tokens = tokens;
        this.rooms = rooms;
        this.controlLoop = controlLoop;
        this.maxMessageBytes = maxMessageBytes;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        channel = ctx.channel();
        super.channelActive(ctx);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        // A socket that never joins is closed however much else it sends (pings included): it must not hold a
        // connection slot forever.
        ctx.executor().schedule(() -> {
            if (!joinRequested) {
                closeWithError("join_timeout", "no join within " + joinTimeout.toSeconds() + " s");
            }
        }, joinTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
        if (!(frame instanceof TextWebSocketFrame text)) {
            if (!(frame instanceof CloseWebSocketFrame)) {
                send(error("bad_json", "only text frames carry JSON", null));
            }
            return;
        }
        JsonNode node;
        try {
            node = mapper.readTree(text.text());
        } catch (JsonProcessingException | RuntimeException e) {
            send(error("bad_json", "not valid JSON", null));
            return;
        }
        if (node == null || !node.isObject() || !node.path("type").isTextual()) {
            send(error("bad_json", "expected a JSON object with a string \"type\"", null));
            return;
        }
        String id = node.path("id").isTextual() ? node.path("id").asText() : null;
        String type = node.get("type").asText();
        if (!TYPES.contains(type)) {
            send(error("unknown_type", "unknown message type \"" + type + "\"", id));
            return;
        }
        switch (type) {
            case "join" -> onJoin(node, id);
            default -> {
                if (!joinRequested) {
                    // Nothing but join is answered before joining (a pong would keep an idle socket alive).
                    send(error("not_joined", "send join first", id));
                    return;
                }
                if ("ping".equals(type)) {
                    send(reply("pong", id));
                    return;
                }
                controlLoop.execute(() -> onJoinedRequest(type, node, id));
            }
        }
    }

    private void onJoin(JsonNode node, String id) {
        if (joinRequested) {
            send(error("already_joined", "this socket already joined", id));
            return;
        }
        if (!node.path("protocol").isInt() || node.get("protocol").asInt() != PROTOCOL_VERSION) {
            closeWithError("unsupported_protocol", "this node speaks protocol " + PROTOCOL_VERSION, id);
            return;
        }
        AccessToken token;
        try {
            token = tokens.verify(node.path("token").isTextual() ? node.get("token").asText() : null);
        } catch (TokenException e) {
            log.info("join refused from {}: {}", remoteAddress(), e.getMessage());
            closeWithError(e.code(), e.getMessage(), id);
            return;
        }
        joinRequested = true;
        controlLoop.execute(() -> {
            if (!channel.isActive()) {
                return;
            }
            try {
                participant = rooms.join(token, this, id);
            } catch (SignalingException e) {
                closeWithError(e.code(), e.getMessage(), id);
            } catch (RuntimeException e) {
                log.error("join failed", e);
                closeWithError("internal", "join failed", id);
            }
        });
    }

    /** Control thread. */
    private void onJoinedRequest(String type, JsonNode node, String id) {
        ParticipantHandle p = participant;
        if (p == null) {
            return; // the join failed or the socket closed meanwhile
        }
        try {
            switch (type) {
                case "publish_offer" -> {
                    ObjectNode answer = p.publishOffer(requireText(node, "sdp"));
                    if (id != null) {
                        answer.put("id", id);
                    }
                    send(answer);
                }
                case "subscribe_answer" -> {
                    if (!node.path("version").canConvertToLong()) {
                        throw new SignalingException("bad_request", "version must be a number");
                    }
                    p.subscribeAnswer(requireText(node, "sdp"), node.get("version").asLong());
                }
                case "mute" -> {
                    if (!node.path("muted").isBoolean()) {
                        throw new SignalingException("bad_request", "muted must be true or false");
                    }
                    p.mute(requireText(node, "trackId"), node.get("muted").asBoolean());
                }
                case "track_settings" -> p.trackSettings(requireText(node, "trackId"), trackSettings(node));
                case "leave" -> {
                    p.leave("left");
                    participant = null;
                    channel.close();
                }
                default -> throw new SignalingException("unknown_type", type);
            }
        } catch (SignalingException e) {
            send(error(e.code(), e.getMessage(), id));
        } catch (RuntimeException e) {
            log.error("participant={} {} failed", p.participantId(), type, e);
            send(error("internal", type + " failed", id));
        }
    }

    /** {@code enabled} (default true), {@code quality} (low, medium, high; default high), {@code height} (0..8192). */
    private static io.cascadesfu.signaling.room.TrackSettings trackSettings(JsonNode node) throws SignalingException {
        JsonNode enabled = node.get("enabled");
        if (enabled != null && !enabled.isBoolean()) {
            throw new SignalingException("bad_request", "enabled must be true or false");
        }
        JsonNode quality = node.get("quality");
        int maxLayer = io.cascadesfu.signaling.room.TrackSettings.ANY_LAYER;
        if (quality != null) {
            maxLayer = switch (quality.isTextual() ? quality.asText() : "") {
                case "low" -> 0;
                case "medium" -> 1;
                case "high" -> io.cascadesfu.signaling.room.TrackSettings.ANY_LAYER;
                default -> throw new SignalingException("bad_request", "quality must be low, medium or high");
            };
        }
        JsonNode height = node.get("height");
        if (height != null && (!height.canConvertToInt() || height.asInt() < 0 || height.asInt() > 8192)) {
            throw new SignalingException("bad_request", "height must be a number of pixels, 0..8192");
        }
        return new io.cascadesfu.signaling.room.TrackSettings(enabled == null || enabled.asBoolean(), maxLayer,
                height == null ? 0 : height.asInt());
    }

    private static String requireText(JsonNode node, String field) throws SignalingException {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new SignalingException("bad_request", field + " must be a string");
        }
        return v.asText();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        controlLoop.execute(() -> {
            ParticipantHandle p = participant;
            participant = null;
            if (p != null) {
                p.leave("signaling socket closed");
            }
        });
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("signaling socket error from {}", remoteAddress(), cause);
        ctx.close();
    }

    private ObjectNode reply(String type, String id) {
        ObjectNode n = mapper.createObjectNode();
        n.put("type", type);
        if (id != null) {
            n.put("id", id);
        }
        return n;
    }

    private ObjectNode error(String code, String message, String id) {
        ObjectNode n = reply("error", id);
        n.put("code", code);
        n.put("message", message);
        return n;
    }

    @Override
    public void send(ObjectNode message) {
        Channel ch = channel;
        if (ch == null || !ch.isActive()) {
            return;
        }
        try {
            ch.writeAndFlush(new TextWebSocketFrame(mapper.writeValueAsString(message)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void closeWithError(String code, String message) {
        closeWithError(code, message, null);
    }

    private void closeWithError(String code, String message, String id) {
        Channel ch = channel;
        if (ch == null || !ch.isActive()) {
            return;
        }
        try {
            ch.write(new TextWebSocketFrame(mapper.writeValueAsString(error(code, message, id))));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        ch.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.POLICY_VIOLATION, code))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public String remoteAddress() {
        Channel ch = channel;
        return ch == null ? "?" : String.valueOf(ch.remoteAddress());
    }
}
