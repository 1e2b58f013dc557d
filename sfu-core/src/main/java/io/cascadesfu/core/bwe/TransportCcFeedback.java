package io.cascadesfu.core.bwe;

import io.netty.buffer.ByteBuf;

/**
 * Flyweight over one transport-wide congestion control feedback packet (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 3.1): an RTCP RTPFB (PT 205) with FMT 15 that says, for a range of transport-wide sequence numbers,
 * which packets arrived and when.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  FMT=15 |    PT=205     |   length (32-bit words - 1)   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     SSRC of packet sender                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      SSRC of media source                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      base sequence number     |      packet status count      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        reference time (24, signed, x 64 ms)   | fb pkt. count |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         packet chunk          |         packet chunk          |  ... as many as cover the status count
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  recv delta   |  recv delta   |  recv delta (large, 16 bits)  |  ... one per received packet, in order
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  recv delta   |            zero padding to 32 bits            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Packet status symbols (2 bits): 00 not received, 01 received with a small delta (1 byte, unsigned, 0..255),
 * 10 received with a large or negative delta (2 bytes, signed), 11 reserved.
 * Packet chunks (16 bits):
 *   run length:     0 | S (2 bits, symbol) | run length (13 bits)
 *   status vector:  1 | 0 | 14 one-bit symbols (0 not received, 1 received with a small delta)
 *                   1 | 1 | 7 two-bit symbols
 * A vector chunk covers all its symbols except in the last chunk, whose surplus symbols are ignored.
 * Receive deltas are multiples of 250 us; the first is from the reference time, each next one from the previous
 * received packet.
 * </pre>
 *
 * <p>Offsets are relative to {@code buf.readerIndex()}, as in {@code rtcp.RtcpPacket}. Nothing here moves indices,
 * allocates or takes ownership of the buffer; the accessors other than {@link #isTransportCc} and {@link #parse}
 * assume a packet for which {@link #isTransportCc} is true. Stateless: any thread may call it.
 */
public final class TransportCcFeedback {

    /** RTCP RTPFB (RFC 4585 6.1); duplicated from {@code RtcpPacket} to keep this package self-contained. */
    static final int PT_RTPFB = 205;
    static final int FMT_TRANSPORT_CC = 15;
    static final int VERSION_BITS = 0x80;
    static final int PADDING_BIT = 0x20;
    static final int FMT_MASK = 0x1F;

    static final int PACKET_TYPE_OFFSET = 1;
    static final int LENGTH_OFFSET = 2;
    static final int SENDER_SSRC_OFFSET = 4;
    static final int MEDIA_SSRC_OFFSET = 8;
    static final int BASE_SEQUENCE_OFFSET = 12;
    static final int STATUS_COUNT_OFFSET = 14;
    static final int REFERENCE_TIME_OFFSET = 16;
    static final int FEEDBACK_COUNT_OFFSET = 19;
    static final int CHUNKS_OFFSET = 20;

    /** Header, SSRCs and the fixed part of the FCI. */
    public static final int MIN_LENGTH = CHUNKS_OFFSET;
    /** Unit of a receive delta. */
    public static final long DELTA_TICK_US = 250;
    /** Unit of the reference time. */
    public static final long REFERENCE_TICK_US = 64_000;
    /** Most statuses one packet can announce (the status count is 16 bits). */
    public static final int MAX_STATUS_COUNT = 0xFFFF;

    static final int SYMBOL_NOT_RECEIVED = 0;
    static final int SYMBOL_SMALL_DELTA = 1;
    static final int SYMBOL_LARGE_DELTA = 2;
    static final int SYMBOL_RESERVED = 3;
    static final int CHUNK_VECTOR_BIT = 0x8000;
    static final int CHUNK_TWO_BIT_BIT = 0x4000;
    static final int MAX_RUN_LENGTH = 0x1FFF;
    static final int ONE_BIT_SYMBOLS = 14;
    static final int TWO_BIT_SYMBOLS = 7;

    /** What {@link #parse} returns for a packet it rejects. */
    public static final int MALFORMED = -1;

    /** Receives the statuses of one packet, in sequence number order. */
    public interface Visitor {
        /**
         * One packet status.
         *
         * @param seq                 transport-wide sequence number, 16 bits
         * @param received            whether it arrived
         * @param fromReferenceUs     if received: its arrival time, in microseconds after the packet's reference
         *                            time (the sum of the deltas so far; may be negative); 0 otherwise
         */
        void onPacket(int seq, boolean received, long fromReferenceUs);
    }

    private TransportCcFeedback() {
    }

    /**
     * True if the packet at {@code off} is an RTCP transport-cc feedback: version 2, PT 205, FMT 15, and both its
     * length field and the readable bytes hold at least the fixed part ({@link #MIN_LENGTH} bytes).
     */
    public static boolean isTransportCc(ByteBuf buf, int off) {
        if (off < 0 || buf.readableBytes() - off < MIN_LENGTH) {
            return false;
        }
        int abs = buf.readerIndex() + off;
        int b0 = buf.getUnsignedByte(abs);
        return (b0 & 0xC0) == VERSION_BITS
                && (b0 & FMT_MASK) == FMT_TRANSPORT_CC
                && buf.getUnsignedByte(abs + PACKET_TYPE_OFFSET) == PT_RTPFB
                && lengthBytes(buf, off) >= MIN_LENGTH;
    }

    /** Whole packet length in bytes from the length field, header and padding included. */
    public static int lengthBytes(ByteBuf buf, int off) {
        return (buf.getUnsignedShort(buf.readerIndex() + off + LENGTH_OFFSET) + 1) * 4;
    }

    public static long senderSsrc(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + SENDER_SSRC_OFFSET);
    }

    public static long mediaSsrc(ByteBuf buf, int off) {
        return buf.getUnsignedInt(buf.readerIndex() + off + MEDIA_SSRC_OFFSET);
    }

    /** Transport-wide sequence number of the first status, 16 bits. */
    public static int baseSequence(ByteBuf buf, int off) {
        return buf.getUnsignedShort(buf.readerIndex() + off + BASE_SEQUENCE_OFFSET);
    }

    /** Number of statuses announced (0..65535); {@link #parse} checks that the chunks and deltas hold them. */
    public static int statusCount(ByteBuf buf, int off) {
        return buf.getUnsignedShort(buf.readerIndex() + off + STATUS_COUNT_OFFSET);
    }

    /** The reference time field as sent: a signed 24-bit count of 64 ms ticks in the receiver's time base. */
    public static int referenceTicks(ByteBuf buf, int off) {
        return buf.getMedium(buf.readerIndex() + off + REFERENCE_TIME_OFFSET);
    }

    /** The reference time in microseconds ({@link #referenceTicks} x 64 ms); wraps every 2^24 ticks. */
    public static long referenceTimeUs(ByteBuf buf, int off) {
        return referenceTicks(buf, off) * REFERENCE_TICK_US;
    }

    /** The feedback packet count: 8 bits, incremented by the receiver for each feedback packet it sends. */
    public static int feedbackPacketCount(ByteBuf buf, int off) {
        return buf.getUnsignedByte(buf.readerIndex() + off + FEEDBACK_COUNT_OFFSET);
    }

    /**
     * Validates the packet at {@code off} and then hands each of its statuses to {@code visitor}, in order. The
     * packet must be a transport-cc feedback ({@link #isTransportCc}) whose length field fits in {@code len}; its
     * chunks must cover the status count with no reserved symbol; its deltas must fit before the end (or before the
     * padding, if the P bit is set). Nothing is visited unless all of this holds, so a visitor never sees half a
     * bad packet. Bounded: at most one step per chunk byte pair and per status; never throws on bad input.
     *
     * @param len bytes from {@code off} that may belong to the packet (e.g. what is left of the compound packet)
     * @return the number of statuses visited, or {@link #MALFORMED}
     */
    public static int parse(ByteBuf buf, int off, int len, Visitor visitor) {
        if (len < MIN_LENGTH || len > buf.readableBytes() - off || !isTransportCc(buf, off)) {
            return MALFORMED;
        }
        int packetLen = lengthBytes(buf, off);
        if (packetLen > len) {
            return MALFORMED;
        }
        int abs = buf.readerIndex() + off;
        int end = abs + packetLen;
        if ((buf.getUnsignedByte(abs) & PADDING_BIT) != 0) {
            int padding = buf.getUnsignedByte(end - 1);
            if (padding == 0 || padding > packetLen - MIN_LENGTH) {
                return MALFORMED;
            }
            end -= padding;
        }
        int count = buf.getUnsignedShort(abs + STATUS_COUNT_OFFSET);

        // Pass 1: the chunks cover the count, and the deltas they call for are present.
        int pos = abs + CHUNKS_OFFSET;
        int covered = 0;
        int deltaBytes = 0; // a symbol's value is its delta size in bytes
        while (covered < count) {
            if (end - pos < 2) {
                return MALFORMED;
            }
            int chunk = buf.getUnsignedShort(pos);
            pos += 2;
            if ((chunk & CHUNK_VECTOR_BIT) == 0) {
                int symbol = (chunk >>> 13) & 3;
                if (symbol == SYMBOL_RESERVED) {
                    return MALFORMED;
                }
                int n = Math.min(chunk & MAX_RUN_LENGTH, count - covered);
                deltaBytes += n * symbol;
                covered += n;
            } else if ((chunk & CHUNK_TWO_BIT_BIT) == 0) {
                int n = Math.min(ONE_BIT_SYMBOLS, count - covered);
                for (int k = 0; k < n; k++) {
                    deltaBytes += (chunk >>> (13 - k)) & 1;
                }
                covered += n;
            } else {
                int n = Math.min(TWO_BIT_SYMBOLS, count - covered);
                for (int k = 0; k < n; k++) {
                    int symbol = (chunk >>> (12 - 2 * k)) & 3;
                    if (symbol == SYMBOL_RESERVED) {
                        return MALFORMED;
                    }
                    deltaBytes += symbol;
                }
                covered += n;
            }
        }
        int deltaPos = pos;
        if (deltaBytes > end - deltaPos) {
            return MALFORMED;
        }

        // Pass 2: the same walk, now visiting.
        int seq = buf.getUnsignedShort(abs + BASE_SEQUENCE_OFFSET);
        long fromReferenceUs = 0;
        pos = abs + CHUNKS_OFFSET;
        covered = 0;
        while (covered < count) {
            int chunk = buf.getUnsignedShort(pos);
            pos += 2;
            boolean run = (chunk & CHUNK_VECTOR_BIT) == 0;
            boolean twoBit = (chunk & CHUNK_TWO_BIT_BIT) != 0;
            int n = Math.min(run ? chunk & MAX_RUN_LENGTH : twoBit ? TWO_BIT_SYMBOLS : ONE_BIT_SYMBOLS, count - covered);
            for (int k = 0; k < n; k++) {
                int symbol = run ? (chunk >>> 13) & 3
                        : twoBit ? (chunk >>> (12 - 2 * k)) & 3 : (chunk >>> (13 - k)) & 1;
                if (symbol == SYMBOL_NOT_RECEIVED) {
                    visitor.onPacket(seq, false, 0);
                } else {
                    if (symbol == SYMBOL_SMALL_DELTA) {
                        fromReferenceUs += buf.getUnsignedByte(deltaPos) * DELTA_TICK_US;
                        deltaPos++;
                    } else {
                        fromReferenceUs += buf.getShort(deltaPos) * DELTA_TICK_US;
                        deltaPos += 2;
                    }
                    visitor.onPacket(seq, true, fromReferenceUs);
                }
                seq = (seq + 1) & 0xFFFF;
            }
            covered += n;
        }
        return count;
    }
}
