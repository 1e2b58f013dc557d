package io.cascadesfu.core.rtcp;

import static io.cascadesfu.core.rtp.TestBytes.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RtcpPacketTest {

    /** Typed after a Chromium sender's compound: SR without blocks + SDES CNAME. */
    static final int[] CHROMIUM_SR_SDES = {
        0x80, 0xC8, 0x00, 0x06, // V=2, P=0, RC=0, PT=200 (SR), length 6 (28 bytes)
        0x8F, 0x2B, 0x6C, 0x01, // SSRC of sender
        0xEA, 0x4F, 0x2D, 0x1B, // NTP timestamp, seconds
        0x7A, 0xE1, 0x47, 0xAE, // NTP timestamp, fraction
        0x5B, 0x2D, 0x11, 0x80, // RTP timestamp
        0x00, 0x00, 0x01, 0xF4, // sender's packet count 500
        0x00, 0x00, 0x9C, 0x40, // sender's octet count 40000
        0x81, 0xCA, 0x00, 0x06, // V=2, P=0, SC=1, PT=202 (SDES), length 6 (28 bytes)
        0x8F, 0x2B, 0x6C, 0x01, // SSRC of chunk 1
        0x01, 0x10,             // CNAME, 16 bytes
        'Y', 'k', '3', 'p', 'Q', 'v', '8', 'x', 'Z', '2', 'L', 'm', 'N', '0', 's', 'A',
        0x00, 0x00,             // end of item list, padded to 32 bits
    };

    /** Typed after a Chromium receiver's compound: RR with one block + REMB. */
    static final int[] CHROMIUM_RR_REMB = {
        0x81, 0xC9, 0x00, 0x07, // V=2, P=0, RC=1, PT=201 (RR), length 7 (32 bytes)
        0x00, 0x00, 0x00, 0x01, // SSRC of sender (Chromium's receive-only SSRC 1)
        0x8F, 0x2B, 0x6C, 0x01, // SSRC_1
        0x05, 0x00, 0x00, 0x0C, // fraction lost 5/256, cumulative lost 12
        0x00, 0x01, 0x3A, 0x7C, // extended highest sequence number (1 cycle, 14972)
        0x00, 0x00, 0x00, 0x2D, // interarrival jitter 45
        0x2D, 0x1B, 0x7A, 0xE1, // LSR
        0x00, 0x00, 0x80, 0x00, // DLSR 0.5 s
        0x8F, 0xCE, 0x00, 0x05, // V=2, P=0, FMT=15, PT=206 (PSFB), length 5 (24 bytes)
        0x00, 0x00, 0x00, 0x01, // SSRC of packet sender
        0x00, 0x00, 0x00, 0x00, // SSRC of media source: 0
        0x52, 0x45, 0x4D, 0x42, // 'R' 'E' 'M' 'B'
        0x01, 0x0E, 0xDC, 0x6C, // Num SSRC 1, BR Exp 3, BR Mantissa 187500: 1.5 Mbps
        0x8F, 0x2B, 0x6C, 0x01, // SSRC feedback
    };

    @Test
    void parsesChromiumSrAndSdes() {
        ByteBuf buf = buffer(CHROMIUM_SR_SDES);
        try {
            assertTrue(RtcpPacket.looksLikeRtcp(buf));
            assertEquals(2, RtcpPacket.validateCompound(buf));
            assertEquals(RtcpPacket.SR, RtcpPacket.packetType(buf, 0));
            assertEquals(28, RtcpPacket.lengthBytes(buf, 0));
            assertEquals(0x8F2B6C01L, RtcpPacket.senderSsrc(buf, 0));
            assertEquals(0xEA4F2D1B_7AE147AEL, RtcpPacket.srNtpTimestamp(buf, 0));
            assertEquals(0x5B2D1180L, RtcpPacket.srRtpTimestamp(buf, 0));
            assertEquals(500, RtcpPacket.srPacketCount(buf, 0));
            assertEquals(40_000, RtcpPacket.srOctetCount(buf, 0));
            assertEquals(0, RtcpPacket.count(buf, 0));
            assertEquals(RtcpPacket.SDES, RtcpPacket.packetType(buf, 28));
            assertEquals("Yk3pQv8xZ2LmN0sA", RtcpPacket.sdesCname(buf, 28));
        } finally {
            buf.release();
        }
    }

    @Test
    void parsesChromiumRrAndRemb() {
        ByteBuf buf = buffer(CHROMIUM_RR_REMB);
        try {
            assertEquals(2, RtcpPacket.validateCompound(buf));
            assertEquals(RtcpPacket.RR, RtcpPacket.packetType(buf, 0));
            assertEquals(1, RtcpPacket.count(buf, 0));
            int block = RtcpPacket.reportBlockOffset(buf, 0, 0);
            assertEquals(8, block);
            assertEquals(0x8F2B6C01L, RtcpPacket.blockSsrc(buf, block));
            assertEquals(5, RtcpPacket.blockFractionLost(buf, block));
            assertEquals(12, RtcpPacket.blockCumulativeLost(buf, block));
            assertEquals(0x13A7CL, RtcpPacket.blockExtendedHighestSequence(buf, block));
            assertEquals(45, RtcpPacket.blockJitter(buf, block));
            assertEquals(0x2D1B7AE1L, RtcpPacket.blockLastSr(buf, block));
            assertEquals(0x8000, RtcpPacket.blockDelaySinceLastSr(buf, block));

            int remb = RtcpPacket.lengthBytes(buf, 0);
            assertTrue(RtcpPacket.isRemb(buf, remb));
            assertFalse(RtcpPacket.isPli(buf, remb));
            assertEquals(1_500_000L, RtcpPacket.rembBitrateBps(buf, remb));
            assertEquals(1, RtcpPacket.rembSsrcCount(buf, remb));
            assertEquals(0x8F2B6C01L, RtcpPacket.rembSsrc(buf, remb, 0));
        } finally {
            buf.release();
        }
    }

    @Test
    void writesEveryPacketTypeAndParsesItBack() {
        ByteBuf out = Unpooled.buffer();
        try {
            long ntp = NtpTime.fromUnixNanos(1_700_000_000_123_456_789L);
            int sr = RtcpWriter.writeSenderReport(out, 0x11L, ntp, 0xFFFF_FFFFL, 1L << 32 | 7, 1234);
            RtcpWriter.finishReport(out, sr, 0);
            int rr = RtcpWriter.writeReceiverReport(out, 0x22L);
            for (int i = 0; i < 2; i++) {
                out.writeInt(0x100 + i).writeInt(0xFF80_0001).writeInt(70_000).writeInt(3).writeInt(4).writeInt(5);
            }
            RtcpWriter.finishReport(out, rr, 2);
            int sdes = out.writerIndex();
            RtcpWriter.writeSdesCname(out, 0x33L, "abcd"); // 2 + 4 item bytes: two nulls pad to 8
            int pli = out.writerIndex();
            RtcpWriter.writePli(out, 0x44L, 0x55L);
            int fir = out.writerIndex();
            RtcpWriter.writeFir(out, 0x44L, 0x66L, 9);
            int remb = out.writerIndex();
            RtcpWriter.writeRemb(out, 0x44L, 2_500_000_000L, 0x77L, 0x88L);
            int nack = out.writerIndex();
            RtcpWriter.writeNack(out, 0x44L, 0x99L, 65_535, 0b1000_0000_0000_0101);
            int bye = out.writerIndex();
            RtcpWriter.writeBye(out, 0xAAL);

            assertEquals(8, RtcpPacket.validateCompound(out));
            int[] starts = {sr, rr, sdes, pli, fir, remb, nack, bye};
            int off = 0;
            for (int start : starts) {
                assertEquals(start, off, "lengths chain packet to packet");
                off += RtcpPacket.lengthBytes(out, off);
            }
            assertEquals(out.readableBytes(), off);

            assertEquals(RtcpPacket.SR, RtcpPacket.packetType(out, sr));
            assertEquals(0x11L, RtcpPacket.senderSsrc(out, sr));
            assertEquals(ntp, RtcpPacket.srNtpTimestamp(out, sr));
            assertEquals(0xFFFF_FFFFL, RtcpPacket.srRtpTimestamp(out, sr));
            assertEquals(7, RtcpPacket.srPacketCount(out, sr), "packet count keeps its low 32 bits");
            assertEquals(1234, RtcpPacket.srOctetCount(out, sr));

            assertEquals(56, RtcpPacket.lengthBytes(out, rr));
            assertEquals(2, RtcpPacket.count(out, rr));
            int block1 = RtcpPacket.reportBlockOffset(out, rr, 1);
            assertEquals(0x101, RtcpPacket.blockSsrc(out, block1));
            assertEquals(0xFF, RtcpPacket.blockFractionLost(out, block1));
            assertEquals(-0x7F_FFFF, RtcpPacket.blockCumulativeLost(out, block1), "24-bit signed");

            assertEquals(16, RtcpPacket.lengthBytes(out, sdes));
            assertEquals(0x33L, RtcpPacket.senderSsrc(out, sdes));
            assertEquals("abcd", RtcpPacket.sdesCname(out, sdes));

            assertTrue(RtcpPacket.isPli(out, pli));
            assertEquals(0x44L, RtcpPacket.senderSsrc(out, pli));
            assertEquals(0x55L, RtcpPacket.mediaSsrc(out, pli));

            assertTrue(RtcpPacket.isFir(out, fir));
            assertFalse(RtcpPacket.isPli(out, fir));
            assertEquals(0, RtcpPacket.mediaSsrc(out, fir));
            assertEquals(0x66L, RtcpPacket.firSsrc(out, fir));
            assertEquals(9, RtcpPacket.firSequenceNumber(out, fir));

            assertTrue(RtcpPacket.isRemb(out, remb));
            long bitrate = RtcpPacket.rembBitrateBps(out, remb);
            assertTrue(bitrate <= 2_500_000_000L && bitrate > 2_500_000_000L - (1L << 14), "rounded down: " + bitrate);
            assertEquals(2, RtcpPacket.rembSsrcCount(out, remb));
            assertEquals(0x88L, RtcpPacket.rembSsrc(out, remb, 1));

            assertTrue(RtcpPacket.isNack(out, nack));
            assertFalse(RtcpPacket.isNack(out, pli));
            assertEquals(1, RtcpPacket.nackCount(out, nack));
            assertEquals(65_535, RtcpPacket.nackPid(out, nack, 0));
            assertEquals(0b1000_0000_0000_0101, RtcpPacket.nackBlp(out, nack, 0));
            assertEquals(0x99L, RtcpPacket.mediaSsrc(out, nack));

            assertEquals(RtcpPacket.BYE, RtcpPacket.packetType(out, bye));
            assertEquals(0xAAL, RtcpPacket.senderSsrc(out, bye));

            RtcpPacket.setSenderSsrc(out, pli, 0xDEADBEEFL);
            RtcpPacket.setMediaSsrc(out, pli, 0xFEEDL);
            assertEquals(0xDEADBEEFL, RtcpPacket.senderSsrc(out, pli));
            assertEquals(0xFEEDL, RtcpPacket.mediaSsrc(out, pli));
            assertEquals(8, RtcpPacket.validateCompound(out));
        } finally {
            out.release();
        }
    }

    @Test
    void sdesWithCnameFillingAWordStillGetsANullTerminator() {
        ByteBuf out = Unpooled.buffer();
        try {
            RtcpWriter.writeSdesCname(out, 1, "ab"); // items: 1, 2, 'a', 'b' fill a word: one whole null word
            assertEquals(16, out.readableBytes());
            assertEquals(0, out.getInt(12));
            assertEquals(1, RtcpPacket.validateCompound(out));
            assertEquals("ab", RtcpPacket.sdesCname(out, 0));
        } finally {
            out.release();
        }
    }

    @Test
    void rejectsTruncatedAndInconsistentCompounds() {
        int[] good = CHROMIUM_RR_REMB;
        assertRejected(RtcpPacket.ERR_LENGTH, Arrays.copyOf(good, good.length - 1));      // last packet cut short
        assertRejected(RtcpPacket.ERR_LENGTH, Arrays.copyOf(good, good.length + 2));      // 2 stray bytes
        assertRejected(RtcpPacket.ERR_TOO_SHORT, 0x80, 0xC9);
        int[] badVersion = good.clone();
        badVersion[32] = 0x4F;                                                            // REMB with V=1
        assertRejected(RtcpPacket.ERR_VERSION, badVersion);
        int[] tooLong = good.clone();
        tooLong[3] = 0x0E;                                                                // RR claims 60 bytes of 56
        assertRejected(RtcpPacket.ERR_LENGTH, tooLong);
        int[] misaligned = good.clone();
        misaligned[3] = 0x08;                                     // RR claims 36 bytes: the next "header" is an SSRC
        assertRejected(RtcpPacket.ERR_VERSION, misaligned);
        int[] tooManyBlocks = good.clone();
        tooManyBlocks[0] = 0x82;                                                          // RC=2, one block
        assertRejected(RtcpPacket.ERR_BODY, tooManyBlocks);
        int[] paddedFirst = good.clone();
        paddedFirst[0] = 0xA1;                                                            // P on a non-last packet
        assertRejected(RtcpPacket.ERR_PADDING, paddedFirst);
        int[] rtp = good.clone();
        rtp[1] = 0x60;                                                                    // an RTP packet type
        assertRejected(RtcpPacket.ERR_PACKET_TYPE, rtp);
        assertRejected(RtcpPacket.ERR_BODY, 0x81, 0xCE, 0x00, 0x01, 0, 0, 0, 1);          // PSFB without media SSRC
        assertRejected(RtcpPacket.ERR_PADDING, 0xA0, 0xC9, 0x00, 0x01, 0, 0, 0, 0);       // padding count 0
    }

    @Test
    void acceptsPaddingOnTheLastPacket() {
        ByteBuf buf = buffer(0xA1, 0xCE, 0x00, 0x03,      // P=1, PLI, length 3 (16 bytes)
                0, 0, 0, 1, 0, 0, 0, 2,                    // sender and media SSRC
                0, 0, 0, 4);                               // 4 bytes of padding
        try {
            assertEquals(1, RtcpPacket.validateCompound(buf));
            assertTrue(RtcpPacket.isPli(buf, 0));
            assertTrue(RtcpPacket.hasPadding(buf, 0));
        } finally {
            buf.release();
        }
    }

    private static void assertRejected(int expected, int... bytes) {
        ByteBuf buf = buffer(bytes);
        try {
            assertEquals(expected, RtcpPacket.validateCompound(buf));
        } finally {
            buf.release();
        }
    }

    @Test
    void demultiplexesRtcpFromRtp() {
        ByteBuf rtcp = buffer(0x80, 0xC8, 0x00, 0x06);
        ByteBuf rtpWithMarker = buffer(0x80, 0xE0, 0x00, 0x01); // M=1, PT=96: second byte 224
        ByteBuf rtp = buffer(0x80, 0x6F, 0x00, 0x01);
        try {
            assertTrue(RtcpPacket.looksLikeRtcp(rtcp));
            assertFalse(RtcpPacket.looksLikeRtcp(rtpWithMarker));
            assertFalse(RtcpPacket.looksLikeRtcp(rtp));
        } finally {
            rtcp.release();
            rtpWithMarker.release();
            rtp.release();
        }
    }

    @Test
    void rembBitrateThatOverflowsIsClamped() {
        ByteBuf buf = buffer(0x8F, 0xCE, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B',
                0x00, 0xFF, 0xFF, 0xFF);                   // exp 63, mantissa 2^18 - 1
        try {
            assertTrue(RtcpPacket.isRemb(buf, 0));
            assertEquals(Long.MAX_VALUE, RtcpPacket.rembBitrateBps(buf, 0));
            assertEquals(0, RtcpPacket.rembSsrcCount(buf, 0));
        } finally {
            buf.release();
        }
    }

    @Test
    void convertsNtpTime() {
        assertEquals(NtpTime.UNIX_EPOCH_OFFSET_SECONDS << 32, NtpTime.fromUnixNanos(0));
        long ntp = NtpTime.fromUnixNanos(1_700_000_000_500_000_000L);
        assertEquals(1_700_000_000L + NtpTime.UNIX_EPOCH_OFFSET_SECONDS, ntp >>> 32);
        assertEquals(0x8000_0000L, ntp & 0xFFFF_FFFFL);
        assertEquals(1_700_000_000_500_000_000L, NtpTime.toUnixNanos(ntp));
        assertEquals(((ntp >>> 32) & 0xFFFF) << 16 | 0x8000, NtpTime.middle32(ntp));
        assertEquals(NtpTime.fromUnixNanos(1_000_000_000_250_000_000L),
                NtpTime.fromMonotonic(5_250_000_000L, 5_000_000_000L, 1_000_000_000_000_000_000L));
        assertEquals(0x1_8000L, NtpTime.toShortFormat(1_500_000_000L));
        assertEquals(1_500_000_000L, NtpTime.shortFormatToNanos(0x1_8000L));
        assertEquals(0, NtpTime.toShortFormat(-1));
        assertEquals(0xFFFF_FFFFL, NtpTime.toShortFormat(70_000L * 1_000_000_000L));
    }

    @Test
    void sdesWithoutCnameReturnsNull() {
        ByteBuf buf = buffer(0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x02, 0x00, 0x00, 0x00); // NAME item, empty
        try {
            assertEquals(1, RtcpPacket.validateCompound(buf));
            assertNull(RtcpPacket.sdesCname(buf, 0));
        } finally {
            buf.release();
        }
    }
}
