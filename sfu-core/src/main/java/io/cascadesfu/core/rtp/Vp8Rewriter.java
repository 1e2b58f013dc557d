package io.cascadesfu.core.rtp;

import io.netty.buffer.ByteBuf;

/**
 * Keeps the VP8 payload descriptor's PictureID and TL0PICIDX (RFC 7741 4.2) continuous for a receiver when the
 * stream it gets switches between sources (simulcast layers, each numbering its pictures on its own): a receiver
 * that saw picture 5012 and then picture 733 of another layer takes it for a jump back or a long loss. Within one
 * source the mapping is a fixed offset (reordered packets map consistently); at the first packet of a new source
 * the offsets make its picture follow the last one sent.
 *
 * <p>Rewrites in place; never changes the packet's length (a 7-bit PictureID stays 7-bit). Reads only
 * {@code payloadOffset..payloadOffset + payloadLength}; a payload it cannot parse is left as it is.
 *
 * <p>Lifecycle: one per consumer stream. Not thread-safe: the consumer's event loop only. No allocation.
 */
public final class Vp8Rewriter {
    private static final int PID_15_MASK = 0x7FFF;

    private boolean awaitingFirst = true;
    private boolean started;
    private int pictureIdOffset;
    private int tl0Offset;
    /** Last PictureID (15-bit space) and TL0PICIDX written. */
    private int lastPictureId;
    private int lastTl0;

    /** The next packet comes from a new source: its pictures continue after the last one sent. */
    public void switchSource() {
        awaitingFirst = true;
    }

    /**
     * Rewrites the descriptor of a packet about to be sent. {@code retransmission}: a packet sent before, rewritten
     * with the current offsets without moving the state.
     */
    public void rewrite(ByteBuf buf, int payloadOffset, int payloadLength, boolean retransmission) {
        if (payloadOffset < 0 || payloadLength < 3 || payloadLength > buf.readableBytes() - payloadOffset) {
            return;
        }
        int start = buf.readerIndex() + payloadOffset;
        int end = start + payloadLength;
        int b0 = buf.getUnsignedByte(start);
        if ((b0 & Keyframes.VP8_X_BIT) == 0) {
            return;
        }
        int x = buf.getUnsignedByte(start + 1);
        int pos = start + 2;
        int pidAt = -1;
        boolean longPid = false;
        if ((x & Keyframes.VP8_I_BIT) != 0) {
            pidAt = pos;
            longPid = (buf.getUnsignedByte(pos) & Keyframes.VP8_M_BIT) != 0;
            pos += longPid ? 2 : 1;
        }
        int tl0At = -1;
        if ((x & Keyframes.VP8_L_BIT) != 0) {
            tl0At = pos;
            pos++;
        }
        if (pos > end) {
            return;
        }
        int inPid = pidAt < 0 ? -1
                : longPid ? buf.getUnsignedShort(pidAt) & PID_15_MASK : buf.getUnsignedByte(pidAt) & 0x7F;
        int inTl0 = tl0At < 0 ? -1 : buf.getUnsignedByte(tl0At);
        if (awaitingFirst && !retransmission) {
            awaitingFirst = false;
            if (started) {
                pictureIdOffset = inPid < 0 ? 0 : (lastPictureId + 1 - inPid) & PID_15_MASK;
                tl0Offset = inTl0 < 0 ? 0 : (lastTl0 + 1 - inTl0) & 0xFF;
            } else {
                pictureIdOffset = 0;
                tl0Offset = 0;
            }
            started = true;
        }
        if (inPid >= 0) {
            int out = (inPid + pictureIdOffset) & PID_15_MASK;
            if (longPid) {
                buf.setShort(pidAt, Keyframes.VP8_M_BIT << 8 | out);
            } else {
                out &= 0x7F;
                buf.setByte(pidAt, out);
            }
            if (!retransmission) {
                lastPictureId = out;
            }
        }
        if (inTl0 >= 0) {
            int out = (inTl0 + tl0Offset) & 0xFF;
            buf.setByte(tl0At, out);
            if (!retransmission) {
                lastTl0 = out;
            }
        }
    }
}
