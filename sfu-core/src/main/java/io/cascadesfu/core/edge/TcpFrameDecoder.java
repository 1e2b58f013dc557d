package io.cascadesfu.core.edge;

import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * RFC 4571 framing of an ICE-TCP connection: each STUN message, DTLS record set or SRTP/SRTCP packet is preceded by
 * its length, 16 bits big-endian.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             LENGTH            |  STUN / DTLS / SRTP packet   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
 * |           ... LENGTH bytes                                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * A frame of length 0 or above {@code maxFrameBytes} means the stream is garbage (or out of step): it is counted
 * ({@link DropReason#TCP_FRAME_INVALID}), the connection is closed and nothing more is read from it.
 *
 * <p>Buffers: each frame is passed on as a retained slice of the cumulation (pooled, recycled: no garbage per frame);
 * the next handler owns it and must release it. Threading: the channel's loop (the accept loop, then the worker).
 */
final class TcpFrameDecoder extends ByteToMessageDecoder {
    static final int LENGTH_BYTES = 2;

    private final int maxFrameBytes;
    private final SfuMetrics metrics;
    private boolean failed;

    TcpFrameDecoder(int maxFrameBytes, SfuMetrics metrics) {
        if (maxFrameBytes < 1 || maxFrameBytes > 65535) {
            throw new IllegalArgumentException("maxFrameBytes must be 1..65535: " + maxFrameBytes);
        }
        this.maxFrameBytes = maxFrameBytes;
        this.metrics = metrics;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= LENGTH_BYTES) {
            int length = in.getUnsignedShort(in.readerIndex());
            if (length == 0 || length > maxFrameBytes) {
                failed = true;
                metrics.drop(DropReason.TCP_FRAME_INVALID);
                in.skipBytes(in.readableBytes());
                ctx.close();
                return;
            }
            if (in.readableBytes() < LENGTH_BYTES + length) {
                return;
            }
            in.skipBytes(LENGTH_BYTES);
            out.add(in.readRetainedSlice(length));
        }
    }
}
