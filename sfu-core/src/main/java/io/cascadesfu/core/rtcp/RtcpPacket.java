package io.cascadesfu.core.rtcp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Flyweight over one RTCP packet inside a compound packet (RFC 3550 6, feedback from RFC 4585 and RFC 5104, REMB
 * from draft-alvestrand-rmcat-remb). Static methods take the buffer and the packet's offset relative to
 * {@code buf.readerIndex()}; the next packet starts at {@code off + lengthBytes(buf, off)}.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P| RC/FMT  |      PT       |   length (32-bit words - 1)   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of packet sender                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * SR (PT=200):  NTP timestamp (64) | RTP timestamp | packet count | octet count | RC report blocks
 * RR (PT=201):  RC report blocks (24 bytes each, see RtpReceiveStats)
 * RTPFB (205) / PSFB (206) (RFC 4585 6.1):
 * |                  SSRC of media source                         |
 * :            Feedback Control Information (FCI)                 :
 *   Generic NACK  (RTPFB FMT 1):  PID(16) | BLP(16), repeated
 *   PLI           (PSFB  FMT 1):  no FCI
 *   FIR           (PSFB  FMT 4):  SSRC(32) | Seq nr(8) | reserved(24), repeated; media SSRC field is 0
 *   REMB          (PSFB  FMT 15): 'R' 'E' 'M' 'B' | Num SSRC(8) | BR Exp(6) | BR Mantissa(18) | SSRC feedback...
 * </pre>
 *
 * <p>Call {@link #validateCompound} first: the accessors assume the packet it accepted (the {@code is*}
 * predicates also check the length they need). Nothing here moves indices, allocates (except
 * {@link #sdesCname}) or takes ownership of the buffer. Stateless: any thread may call it.
 */
public final class RtcpPacket {

    public static final int SR = 200;
    public static final int RR = 201;
    public static final int SDES = 202;
    public static final int BYE = 203;
    public static final int APP = 204;
    public static final int RTPFB = 205;
    public static final int PSFB = 206;

    /** RTPFB FMT: generic NACK (RFC 4585 6.2.1). */
    public static final int FMT_NACK = 1;
    /** RTPFB FMT: transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc). */
    public static final int FMT_TRANSPORT_CC = 15;
    /** PSFB FMT: picture loss indication (RFC 4585 6.3.1). */
    public static final int FMT_PLI = 1;
    /** PSFB FMT: full intra request (RFC 5104 4.3.1). */
    public static final int FMT_FIR = 4;
    /** PSFB FMT: application layer feedback, used by REMB. */
    public static final int FMT_AFB = 15;

    public static final int HEADER_LENGTH = 4;
    static final int FLAGS_OFFSET = 0;
    static final int PACKET_TYPE_OFFSET = 1;
    static final int LENGTH_OFFSET = 2;
    static final int SENDER_SSRC_OFFSET = 4;
    static final int MEDIA_SSRC_OFFSET = 8;
    static final int FCI_OFFSET = 12;
    static final int SR_NTP_OFFSET = 8;
    static final int SR_RTP_TIMESTAMP_OFFSET = 16;
    static final int SR_PACKET_COUNT_OFFSET = 20;
    static final int SR_OCTET_COUNT_OFFSET = 24;
    static final int SR_BLOCKS_OFFSET = 28;
    static final int RR_BLOCKS_OFFSET = 8;
    static final int FEEDBACK_MIN_LENGTH = 12;
    static final int REMB_IDENTIFIER_OFFSET = 12;
    static final int REMB_NUM_SSRC_OFFSET = 16;
    static final int REMB_BITRATE_OFFSET = 17;
    static final int REMB_SSRCS_OFFSET = 20;
    /** 'R' 'E' 'M' 'B' as a big-endian int. */
    static final int REMB_IDENTIFIER = 0x52454D42;
    static final int FIR_ENTRY_LENGTH = 8;

    public static final int REPORT_BLOCK_LENGTH = 24;
    static final int BLOCK_SSRC_OFFSET = 0;
    static final int BLOCK_LOSS_OFFSET = 4;
    static final int BLOCK_HIGHEST_SEQ_OFFSET = 8;
    static final int BLOCK_JITTER_OFFSET = 12;
    static final int BLOCK_LSR_OFFSET = 16;
    static final int BLOCK_DLSR_OFFSET = 20;

    static final int SDES_CNAME = 1;

    static final int PADDING_BIT = 0x20;
    static final int COUNT_MASK = 0x1F;

    /** Fewer than 4 bytes. */
    public static final int ERR_TOO_SHORT = -1;
    /** A packet's version is not 2. */
    public static final int ERR_VERSION = -2;
    /** A packet's length runs past the end, or the bytes left over are too few for a header. */
    public static final int ERR_LENGTH = -3;
    /** A packet type outside 192..223. */
    public static final int ERR_PACKET_TYPE = -4;
    /** Padding on a packet other than the last, or a padding count of 0 or larger than the packet body. */
    public static final int ERR_PADDING = -5;
    /** A packet too short for its type and count (report blocks, BYE sources, feedback header). */
    public static final int ERR_BODY = -6;

    private RtcpPacket() {
    }

    /**
     * RFC 5761 4 demultiplexing: version 2 and a second byte in 192..223 (RTP with those values would need the
     * marker bit and a payload type 64..95, which must not be used when multiplexing).
     */
    public static boolean looksLikeRtcp(ByteBuf buf) {
        if (buf.readableBytes() < HEADER_LENGTH) {
            return false;
        }
        int base = buf.readerIndex();
        int pt = buf.getUnsignedByte(base + PACKET_TYPE_OFFSET);
        return (buf.getUnsignedByte(base) >>> 6) == 2 && pt >= 192 && pt <= 223;
    }

    /**
     * Checks that the readable bytes are a well-formed compound packet: every packet has version 2, a type in
     * 192..223 and a length within the buffer, the lengths add up exactly, only the last packet has padding, and
     * SR, RR, BYE, APP and feedback packets are long enough for their counts. Reduced-size RTCP (RFC 5506) is
     * accepted: the first packet need not be a report.
     *
     * @return the number of packets, or a negative {@code ERR_*} code
     */
    public static int validateCompound(ByteBuf buf) {
        int len = buf.readableBytes();
        if (len < HEADER_LENGTH) {
            return ERR_TOO_SHORT;
        }
        int base = buf.readerIndex();
        int pos = 0;
        int count = 0;
        while (pos < len) {
            if (len - pos < HEADER_LENGTH) {
                return ERR_LENGTH;
            }
            int b0 = buf.getUnsignedByte(base + pos);
            if ((b0 >>> 6) != 2) {
                return ERR_VERSION;
            }
            int pt = buf.getUnsignedByte(base + pos + PACKET_TYPE_OFFSET);
            if (pt < 192 || pt > 223) {
                return ERR_PACKET_TYPE;
            }
            int packetLen = (buf.getUnsignedShort(base + pos + LENGTH_OFFSET) + 1) * 4;
            if (packetLen > len - pos) {
                return ERR_LENGTH;
            }
            int bodyLen = packetLen;
            if ((b0 & PADDING_BIT) != 0) {
                int padding = buf.getUnsignedByte(base + pos + packetLen - 1);
                if (pos + packetLen != len || padding == 0 || padding > packetLen - HEADER_LENGTH) {
                    return ERR_PADDING;
                }
                bodyLen -= padding;
            }
            if (bodyLen < minimumLength(pt, b0 & COUNT_MASK)) {
                return ERR_BODY;
            }
            count++;
            pos += packetLen;
        }
        return count;
    }

    private static int minimumLength(int pt, int count) {
        switch (pt) {
            case SR:
                return SR_BLOCKS_OFFSET + REPORT_BLOCK_LENGTH * count;
            case RR:
                return RR_BLOCKS_OFFSET + REPORT_BLOCK_LENGTH * count;
            case BYE:
                return HEADER_LENGTH + 4 * count;
            case APP:
            case RTPFB:
            case PSFB:
                return FEEDBACK_MIN_LENGTH;
            default:
                return HEADER_LENGTH;
        }
    }

    public static int packetType(ByteBuf buf, int off) {
        return buf.getUnsignedByte(buf.readerIndex() + off + PACKET_TYPE_OFFSET);
    }

    /** The 5-bit RC / SC / FMT field. */
    public static int fmt(ByteBuf buf, int off) {
        return buf.getByte(buf.readerIndex() + off + FLAGS_OFFSET) & COUNT_MASK;
    }

    /** Report count of an SR or RR, source count of SDES or BYE: the same 5 bits as {@link #fmt}. */
    public static int count(ByteBuf buf, int off) {
        return fmt(buf, off);
    }

    public static boolean hasPadding(ByteBuf buf, int off) {
        return (buf.getByte(buf.readerIndex() + off + FLAGS_OFFSET) & PADDING_BIT) != 0;
    }

    /** Whole packet length in bytes, header and padding included. */
    public static int lengthBytes(ByteBuf buf, int off) {
        return (buf.getUnsignedShort(buf.readerIndex() + off + LENGTH_OFFSET) + 1) * 4;
    }

    /** SSRC of the packet sender (the first SSRC for SDES and BYE). */
    public static long senderSsrc(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + SENDER_SSRC_OFFSET);
    }

    public static void setSenderSsrc(ByteBuf buf, int off, long ssrc) {
        buf.setInt(buf.readerIndex() + off + SENDER_SSRC_OFFSET, (int) ssrc);
    }

    /** SSRC of the media source of an RTPFB or PSFB packet. */
    public static long mediaSsrc(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + MEDIA_SSRC_OFFSET);
    }

    public static void setMediaSsrc(ByteBuf buf, int off, long ssrc) {
        buf.setInt(buf.readerIndex() + off + MEDIA_SSRC_OFFSET, (int) ssrc);
    }

    private static boolean isFeedback(ByteBuf buf, int off, int pt, int fmt, int minLength) {
        int abs = buf.readerIndex() + off;
        if (off < 0 || buf.readableBytes() - off < minLength) {
            return false;
        }
        return buf.getUnsignedByte(abs + PACKET_TYPE_OFFSET) == pt
                && (buf.getByte(abs) & COUNT_MASK) == fmt
                && lengthBytes(buf, off) >= minLength;
    }

    /** Name of the APP packet by which the receiving end of a pipe asks for layers (see RtcpWriter.writeLayerRequest). */
    public static final int LAYER_REQUEST_NAME = ('L' << 24) | ('A' << 16) | ('Y' << 8) | 'R';
    public static final int LAYER_REQUEST_LENGTH = 20;

    /** An APP packet "LAYR": the far end of a pipe asks for the layers of one track up to a maximum. */
    public static boolean isLayerRequest(ByteBuf buf, int off) {
        return packetType(buf, off) == APP && lengthBytes(buf, off) >= LAYER_REQUEST_LENGTH
                && buf.getInt(buf.readerIndex() + off + 8) == LAYER_REQUEST_NAME;
    }

    /** The pipe SSRC (of layer 0) a layer request is about. */
    public static long layerRequestSsrc(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + 12);
    }

    /** The highest layer a layer request asks for; -1: none. */
    public static int layerRequestMaxLayer(ByteBuf buf, int off) {
        return buf.getByte(buf.readerIndex() + off + 16);
    }

    public static boolean isPli(ByteBuf buf, int off) {
        return isFeedback(buf, off, PSFB, FMT_PLI, FEEDBACK_MIN_LENGTH);
    }

    /** A FIR with at least one FCI entry. */
    public static boolean isFir(ByteBuf buf, int off) {
        return isFeedback(buf, off, PSFB, FMT_FIR, FCI_OFFSET + FIR_ENTRY_LENGTH);
    }

    /** A generic NACK with at least one FCI entry. */
    public static boolean isNack(ByteBuf buf, int off) {
        return isFeedback(buf, off, RTPFB, FMT_NACK, FCI_OFFSET + 4);
    }

    public static boolean isTransportCc(ByteBuf buf, int off) {
        return isFeedback(buf, off, RTPFB, FMT_TRANSPORT_CC, FEEDBACK_MIN_LENGTH);
    }

    /** An application-layer feedback packet whose FCI starts with "REMB" and holds the bitrate word. */
    public static boolean isRemb(ByteBuf buf, int off) {
        return isFeedback(buf, off, PSFB, FMT_AFB, REMB_SSRCS_OFFSET)
                && buf.getInt(buf.readerIndex() + off + REMB_IDENTIFIER_OFFSET) == REMB_IDENTIFIER;
    }

    /** Media SSRC of the first FIR entry (the header's media SSRC is 0 in a FIR). */
    public static long firSsrc(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + FCI_OFFSET);
    }

    /** Command sequence number of the first FIR entry. */
    public static int firSequenceNumber(ByteBuf buf, int off) {
        return buf.getUnsignedByte(buf.readerIndex() + off + FCI_OFFSET + 4);
    }

    /** Number of PID/BLP pairs in a generic NACK. */
    public static int nackCount(ByteBuf buf, int off) {
        return (lengthBytes(buf, off) - FCI_OFFSET) / 4;
    }

    /** Packet ID of NACK entry {@code index}. */
    public static int nackPid(ByteBuf buf, int off, int index) {
        return buf.getUnsignedShort(buf.readerIndex() + off + FCI_OFFSET + 4 * index);
    }

    /** Bitmask of following lost packets of NACK entry {@code index}. */
    public static int nackBlp(ByteBuf buf, int off, int index) {
        return buf.getUnsignedShort(buf.readerIndex() + off + FCI_OFFSET + 4 * index + 2);
    }

    /** REMB bitrate, mantissa * 2^exp, in bits per second; {@code Long.MAX_VALUE} if it does not fit. */
    public static long rembBitrateBps(ByteBuf buf, int off) {
        int abs = buf.readerIndex() + off + REMB_BITRATE_OFFSET;
        int b = buf.getUnsignedByte(abs);
        int exp = b >>> 2;
        long mantissa = ((long) (b & 0x03) << 16) | buf.getUnsignedShort(abs + 1);
        if (mantissa != 0 && exp >= Long.numberOfLeadingZeros(mantissa)) {
            return Long.MAX_VALUE;
        }
        return mantissa << exp;
    }

    /** Number of SSRCs the REMB applies to, as announced (bounded by the packet length). */
    public static int rembSsrcCount(ByteBuf buf, int off) {
        int announced = buf.getUnsignedByte(buf.readerIndex() + off + REMB_NUM_SSRC_OFFSET);
        return Math.min(announced, (lengthBytes(buf, off) - REMB_SSRCS_OFFSET) / 4);
    }

    public static long rembSsrc(ByteBuf buf, int off, int index) {
        return buf.getUnsignedInt(buf.readerIndex() + off + REMB_SSRCS_OFFSET + 4 * index);
    }

    public static long srNtpTimestamp(ByteBuf buf, int off) {
        return buf.getLong(buf.readerIndex() + off + SR_NTP_OFFSET);
    }

    public static long srRtpTimestamp(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + SR_RTP_TIMESTAMP_OFFSET);
    }

    public static long srPacketCount(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + SR_PACKET_COUNT_OFFSET);
    }

    public static long srOctetCount(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + SR_OCTET_COUNT_OFFSET);
    }

    /** Offset (from readerIndex) of report block {@code index} of an SR or RR. */
    public static int reportBlockOffset(ByteBuf buf, int off, int index) {
        int first = packetType(buf, off) == SR ? SR_BLOCKS_OFFSET : RR_BLOCKS_OFFSET;
        return off + first + REPORT_BLOCK_LENGTH * index;
    }

    /** SSRC_n of the report block at {@code blockOff} (from {@link #reportBlockOffset}). */
    public static long blockSsrc(ByteBuf buf, int blockOff) {
        return buf.getUnsignedInt(buf.readerIndex() + blockOff + BLOCK_SSRC_OFFSET);
    }

    public static int blockFractionLost(ByteBuf buf, int blockOff) {
        return buf.getUnsignedByte(buf.readerIndex() + blockOff + BLOCK_LOSS_OFFSET);
    }

    /** Cumulative number of packets lost, a signed 24-bit value. */
    public static int blockCumulativeLost(ByteBuf buf, int blockOff) {
        return buf.getMedium(buf.readerIndex() + blockOff + BLOCK_LOSS_OFFSET + 1);
    }

    public static long blockExtendedHighestSequence(ByteBuf buf, int blockOff) {
        return buf.getUnsignedInt(buf.readerIndex() + blockOff + BLOCK_HIGHEST_SEQ_OFFSET);
    }

    public static long blockJitter(ByteBuf buf, int blockOff) {
        return buf.getUnsignedInt(buf.readerIndex() + blockOff + BLOCK_JITTER_OFFSET);
    }

    public static long blockLastSr(ByteBuf buf, int blockOff) {
        return buf.getUnsignedInt(buf.readerIndex() + blockOff + BLOCK_LSR_OFFSET);
    }

    public static long blockDelaySinceLastSr(ByteBuf buf, int blockOff) {
        return buf.getUnsignedInt(buf.readerIndex() + blockOff + BLOCK_DLSR_OFFSET);
    }

    /**
     * The CNAME of the first chunk of an SDES packet (RFC 3550 6.5.1), or null if it has none. Allocates a String:
     * for signalling and tests, not for the per-packet path.
     */
    public static String sdesCname(ByteBuf buf, int off) {
        int abs = buf.readerIndex() + off;
        int end = abs + Math.min(lengthBytes(buf, off), buf.readableBytes() - off);
        int pos = abs + 8; // header + SSRC/CSRC of the first chunk
        while (pos + 2 <= end) {
            int type = buf.getUnsignedByte(pos);
            if (type == 0) {
                return null;
            }
            int itemLen = buf.getUnsignedByte(pos + 1);
            if (pos + 2 + itemLen > end) {
                return null;
            }
            if (type == SDES_CNAME) {
                return buf.toString(pos + 2, itemLen, StandardCharsets.UTF_8);
            }
            pos += 2 + itemLen;
        }
        return null;
    }
}
