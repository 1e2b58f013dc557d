package io.cascadesfu.core.edge;

import io.netty.buffer.ByteBuf;

/**
 * Demultiplexing of one UDP port by the first byte of each datagram (RFC 7983 section 7):
 * <pre>
 *                  +----------------+
 *                  |        [0..3] -+--&gt; STUN
 *                  |      [16..19] -+--&gt; ZRTP     (dropped)
 *   packet --&gt;     |      [20..63] -+--&gt; DTLS
 *                  |      [64..79] -+--&gt; TURN channel (dropped)
 *                  |    [128..191] -+--&gt; RTP/RTCP
 *                  +----------------+
 * </pre>
 */
public enum PacketKind {
    STUN, DTLS, SRTP, UNKNOWN;

    /** Classifies the datagram at {@code buf.readerIndex()} without moving it. */
    public static PacketKind of(ByteBuf buf) {
        if (!buf.isReadable()) {
            return UNKNOWN;
        }
        int b = buf.getUnsignedByte(buf.readerIndex());
        if (b <= 3) {
            return STUN;
        }
        if (b >= 20 && b <= 63) {
            return DTLS;
        }
        if (b >= 128 && b <= 191) {
            return SRTP;
        }
        return UNKNOWN;
    }
}
