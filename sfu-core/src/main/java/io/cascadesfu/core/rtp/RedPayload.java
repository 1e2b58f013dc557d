package io.cascadesfu.core.rtp;

import io.netty.buffer.ByteBuf;

/**
 * RFC 2198 redundant audio (Opus "red"): a payload of block headers, then the redundant blocks' data, then the
 * primary block's data.
 * <pre>
 *  redundant block header: |1| block PT (7) | timestamp offset (14) | block length (10) |
 *  primary block header:   |0| block PT (7) |
 * </pre>
 * Reads and writes only {@code payloadOffset..payloadOffset + payloadLength} (relative to {@code readerIndex});
 * never throws, never allocates; a payload it cannot parse gives -1. Stateless: any thread.
 */
public final class RedPayload {
    private static final int F_BIT = 0x80;
    private static final int PT_MASK = 0x7F;
    private static final int REDUNDANT_HEADER = 4;
    /** Redundant blocks looked at, at most (libwebrtc sends one or two). */
    private static final int MAX_BLOCKS = 16;

    private RedPayload() {
    }

    /**
     * Offset (from {@code readerIndex}) of the primary block's data, -1 if the payload is malformed (headers past
     * the end, block lengths beyond it, too many blocks).
     */
    public static int primaryOffset(ByteBuf buf, int payloadOffset, int payloadLength) {
        if (payloadOffset < 0 || payloadLength <= 0 || payloadLength > buf.readableBytes() - payloadOffset) {
            return -1;
        }
        int base = buf.readerIndex();
        int pos = payloadOffset;
        int end = payloadOffset + payloadLength;
        int dataBytes = 0;
        for (int blocks = 0; ; blocks++) {
            if (pos >= end || blocks > MAX_BLOCKS) {
                return -1;
            }
            int b = buf.getUnsignedByte(base + pos);
            if ((b & F_BIT) == 0) {
                pos++;
                break;
            }
            if (pos + REDUNDANT_HEADER > end) {
                return -1;
            }
            dataBytes += buf.getUnsignedShort(base + pos + 2) & 0x3FF;
            pos += REDUNDANT_HEADER;
        }
        int primary = pos + dataBytes;
        return primary <= end ? primary : -1;
    }

    /**
     * Replaces the block payload type {@code from} by {@code to} in every block header (a subscriber numbers Opus
     * differently from the publisher). False if the payload is malformed; then nothing was changed.
     */
    public static boolean rewriteBlockPayloadTypes(ByteBuf buf, int payloadOffset, int payloadLength, int from, int to) {
        if (primaryOffset(buf, payloadOffset, payloadLength) < 0) {
            return false;
        }
        int base = buf.readerIndex();
        int pos = payloadOffset;
        while (true) {
            int b = buf.getUnsignedByte(base + pos);
            if ((b & PT_MASK) == from) {
                buf.setByte(base + pos, (b & F_BIT) | (to & PT_MASK));
            }
            if ((b & F_BIT) == 0) {
                return true;
            }
            pos += REDUNDANT_HEADER;
        }
    }
}
