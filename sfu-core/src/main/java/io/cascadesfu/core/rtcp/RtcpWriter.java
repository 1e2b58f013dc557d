package io.cascadesfu.core.rtcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/**
 * Writes RTCP packets (layouts in {@link RtcpPacket}); each method appends one packet at {@code out.writerIndex()}
 * and advances it. The caller owns {@code out} (it is neither retained nor released here) and makes it big enough
 * or lets it grow. Several calls in a row build a compound packet.
 *
 * <p>Reports with blocks: {@link #writeSenderReport} or {@link #writeReceiverReport} return the header's writer
 * index; append the blocks (e.g. {@code RtpReceiveStats.writeReportBlock}) and then call {@link #finishReport}
 * to set the report count and length. Stateless: any thread may call it.
 */
public final class RtcpWriter {

    private static final int VERSION_BITS = 0x80;
    private static final int MAX_REMB_MANTISSA = 0x3FFFF;

    private RtcpWriter() {
    }

    private static void writeHeader(ByteBuf out, int count, int packetType, int lengthBytes) {
        out.writeByte(VERSION_BITS | (count & 0x1F));
        out.writeByte(packetType);
        out.writeShort(lengthBytes / 4 - 1);
    }

    /**
     * Appends an SR without report blocks (RFC 3550 6.4.1); counts keep their low 32 bits.
     *
     * @return the writer index the packet starts at, for {@link #finishReport}
     */
    public static int writeSenderReport(ByteBuf out, long ssrc, long ntpTimestamp, long rtpTimestamp,
                                        long packetCount, long octetCount) {
        int start = out.writerIndex();
        writeHeader(out, 0, RtcpPacket.SR, RtcpPacket.SR_BLOCKS_OFFSET);
        out.writeInt((int) ssrc);
        out.writeLong(ntpTimestamp);
        out.writeInt((int) rtpTimestamp);
        out.writeInt((int) packetCount);
        out.writeInt((int) octetCount);
        return start;
    }

    /**
     * Appends an RR without report blocks (RFC 3550 6.4.2).
     *
     * @return the writer index the packet starts at, for {@link #finishReport}
     */
    public static int writeReceiverReport(ByteBuf out, long senderSsrc) {
        int start = out.writerIndex();
        writeHeader(out, 0, RtcpPacket.RR, RtcpPacket.RR_BLOCKS_OFFSET);
        out.writeInt((int) senderSsrc);
        return start;
    }

    /**
     * After report blocks were appended to the SR or RR that starts at writer index {@code start}: sets its report
     * count to {@code blockCount} (0..31) and its length to end at the current writer index.
     */
    public static void finishReport(ByteBuf out, int start, int blockCount) {
        if (blockCount < 0 || blockCount > 31) {
            throw new IllegalArgumentException("report count out of range: " + blockCount);
        }
        int lengthBytes = out.writerIndex() - start;
        out.setByte(start, VERSION_BITS | blockCount);
        out.setShort(start + RtcpPacket.LENGTH_OFFSET, lengthBytes / 4 - 1);
    }

    /**
     * Appends an SDES with one chunk holding a CNAME item (RFC 3550 6.5.1), null-terminated and padded to a 32-bit
     * boundary.
     *
     * @throws IllegalArgumentException if the CNAME is longer than 255 bytes in UTF-8
     */
    public static void writeSdesCname(ByteBuf out, long ssrc, String cname) {
        int textLen = ByteBufUtil.utf8Bytes(cname);
        if (textLen > 255) {
            throw new IllegalArgumentException("CNAME longer than 255 bytes");
        }
        int itemsLen = 2 + textLen;
        int nulls = 4 - (itemsLen & 3); // at least one null octet ends the item list
        writeHeader(out, 1, RtcpPacket.SDES, 8 + itemsLen + nulls);
        out.writeInt((int) ssrc);
        out.writeByte(RtcpPacket.SDES_CNAME);
        out.writeByte(textLen);
        out.writeCharSequence(cname, StandardCharsets.UTF_8);
        out.writeZero(nulls);
    }

    /** Appends a BYE for one source (RFC 3550 6.6), without a reason. */
    public static void writeBye(ByteBuf out, long ssrc) {
        writeHeader(out, 1, RtcpPacket.BYE, 8);
        out.writeInt((int) ssrc);
    }

    private static void writeFeedbackHeader(ByteBuf out, int packetType, int fmt, int lengthBytes,
                                            long senderSsrc, long mediaSsrc) {
        writeHeader(out, fmt, packetType, lengthBytes);
        out.writeInt((int) senderSsrc);
        out.writeInt((int) mediaSsrc);
    }

    /**
     * Appends an APP packet "LAYR" (RFC 3550 6.7) by which the receiving end of a pipe or relay link asks the sending
     * end for the layers of one track up to {@code maxLayer} (-1: none, 127: all): mediaSsrc (4 bytes), maxLayer
     * (1 byte, signed), 3 bytes zero. Only this project's pipe ends send or read it.
     */
    public static void writeLayerRequest(ByteBuf out, long senderSsrc, long mediaSsrc, int maxLayer) {
        writeHeader(out, 0, RtcpPacket.APP, RtcpPacket.LAYER_REQUEST_LENGTH);
        out.writeInt((int) senderSsrc);
        out.writeInt(RtcpPacket.LAYER_REQUEST_NAME);
        out.writeInt((int) mediaSsrc);
        out.writeByte(Math.max(-1, Math.min(127, maxLayer)));
        out.writeMedium(0);
    }

    /** Appends a picture loss indication (RFC 4585 6.3.1). */
    public static void writePli(ByteBuf out, long senderSsrc, long mediaSsrc) {
        writeFeedbackHeader(out, RtcpPacket.PSFB, RtcpPacket.FMT_PLI, 12, senderSsrc, mediaSsrc);
    }

    /** Appends a full intra request with one entry (RFC 5104 4.3.1); the header's media SSRC is 0 as required. */
    public static void writeFir(ByteBuf out, long senderSsrc, long mediaSsrc, int seqNr) {
        writeFeedbackHeader(out, RtcpPacket.PSFB, RtcpPacket.FMT_FIR, 20, senderSsrc, 0);
        out.writeInt((int) mediaSsrc);
        out.writeByte(seqNr);
        out.writeMedium(0);
    }

    /**
     * Appends a REMB (draft-alvestrand-rmcat-remb 2.2); the bitrate is rounded down to an 18-bit mantissa.
     *
     * @throws IllegalArgumentException for a negative bitrate or more than 255 SSRCs
     */
    public static void writeRemb(ByteBuf out, long senderSsrc, long bitrateBps, long... ssrcs) {
        if (bitrateBps < 0 || ssrcs.length > 255) {
            throw new IllegalArgumentException("bad REMB: bitrate " + bitrateBps + ", " + ssrcs.length + " SSRCs");
        }
        int exp = 0;
        while ((bitrateBps >>> exp) > MAX_REMB_MANTISSA) {
            exp++;
        }
        long mantissa = bitrateBps >>> exp;
        writeFeedbackHeader(out, RtcpPacket.PSFB, RtcpPacket.FMT_AFB, RtcpPacket.REMB_SSRCS_OFFSET + 4 * ssrcs.length,
                senderSsrc, 0);
        out.writeInt(RtcpPacket.REMB_IDENTIFIER);
        out.writeByte(ssrcs.length);
        out.writeByte((exp << 2) | (int) (mantissa >>> 16));
        out.writeShort((int) mantissa);
        for (long ssrc : ssrcs) {
            out.writeInt((int) ssrc);
        }
    }

    /** Appends a generic NACK with one PID/BLP entry (RFC 4585 6.2.1). */
    public static void writeNack(ByteBuf out, long senderSsrc, long mediaSsrc, int pid, int blp) {
        writeFeedbackHeader(out, RtcpPacket.RTPFB, RtcpPacket.FMT_NACK, 16, senderSsrc, mediaSsrc);
        out.writeShort(pid);
        out.writeShort(blp);
    }
}
