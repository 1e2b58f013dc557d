package io.cascadesfu.load;

import io.netty.buffer.ByteBuf;

/**
 * The load tool's own header inside every RTP payload it sends, so that a receiver knows who sent a packet
 * and when. It sits at the start of an Opus payload, and after the VP8 payload descriptor and a 3-byte VP8
 * frame tag in a VP8 payload (see {@link MediaSource}). All clients of a run share the machine's monotonic
 * clock, so receive time minus send time is the one-way delay.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     magic "LoAd" (0x4C6F4164)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   sender index (participant)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                send time, System.nanoTime() (64 bits)         |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
final class ProbeHeader {
    static final int MAGIC = 0x4C6F4164;
    static final int MAGIC_OFFSET = 0;
    static final int SENDER_OFFSET = 4;
    static final int SEND_TIME_OFFSET = 8;
    static final int LENGTH = 16;

    private ProbeHeader() {
    }

    /** Writes the header at the writer index. */
    static void write(ByteBuf out, int senderIndex, long sendTimeNs) {
        out.writeInt(MAGIC).writeInt(senderIndex).writeLong(sendTimeNs);
    }

    /** True if a header starts at absolute index {@code at} and fits before {@code end}. */
    static boolean present(ByteBuf buf, int at, int end) {
        return at >= 0 && end - at >= LENGTH && buf.getInt(at + MAGIC_OFFSET) == MAGIC;
    }

    static int sender(ByteBuf buf, int at) {
        return buf.getInt(at + SENDER_OFFSET);
    }

    static long sendTimeNs(ByteBuf buf, int at) {
        return buf.getLong(at + SEND_TIME_OFFSET);
    }
}
