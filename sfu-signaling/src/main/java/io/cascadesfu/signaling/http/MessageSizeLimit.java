package io.cascadesfu.signaling.http;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Counts the bytes of each WebSocket message across its frames; a message over the limit gets
 * {@code error message_too_large} and the socket is closed (docs/PROTOCOL.md). Sits before the
 * frame aggregator, so an oversized message is refused before it is buffered whole.
 */
final class MessageSizeLimit extends ChannelInboundHandlerAdapter {
    private final int maxMessageBytes;
    private long messageBytes;
    private boolean refused;

    MessageSizeLimit(int maxMessageBytes) {
        this.maxMessageBytes = maxMessageBytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof WebSocketFrame frame) || msg instanceof CloseWebSocketFrame) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!(frame instanceof ContinuationWebSocketFrame)) {
            messageBytes = 0;
        }
        messageBytes += frame.content().readableBytes();
        if (messageBytes > maxMessageBytes) {
            refused = true;
            ReferenceCountUtil.release(msg);
            ctx.write(new TextWebSocketFrame("{\"type\":\"error\",\"code\":\"message_too_large\",\"message\":"
                    + "\"messages are limited to " + maxMessageBytes + " bytes\"}"));
            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.MESSAGE_TOO_BIG, "message_too_large"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
