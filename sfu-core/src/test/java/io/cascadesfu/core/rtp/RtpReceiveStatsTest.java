package io.cascadesfu.core.rtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtcp.RtcpWriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class RtpReceiveStatsTest {

    static final long AUDIO_FRAME_NS = 20_000_000L;

    @Test
    void countsLossFractionAndCumulativeLossWithAGap() {
        RtpReceiveStats stats = new RtpReceiveStats(48_000);
        for (int seq = 0; seq < 20; seq++) {
            if (seq >= 10 && seq < 15) {
                continue; // 5 lost
            }
            stats.onPacket(seq, 960L * seq, seq * AUDIO_FRAME_NS);
        }
        assertEquals(20, stats.packetsExpected());
        assertEquals(15, stats.packetsReceived());
        assertEquals(5, stats.cumulativeLost());
        assertEquals(64, stats.fractionLost()); // 5/20 * 256

        ByteBuf out = Unpooled.buffer();
        try {
            stats.writeReportBlock(out, 0x8F2B6C01L, 0);
            assertEquals(RtpReceiveStats.REPORT_BLOCK_LENGTH, out.readableBytes());
            assertEquals(0x8F2B6C01L, out.getUnsignedInt(0)); // SSRC_1
            assertEquals(64, out.getUnsignedByte(4));          // fraction lost
            assertEquals(5, out.getMedium(5));                 // cumulative lost
            assertEquals(19, out.getUnsignedInt(8));           // extended highest sequence
            assertEquals(0, out.getUnsignedInt(16));           // LSR: no SR yet
            assertEquals(0, out.getUnsignedInt(20));           // DLSR

            for (int seq = 20; seq < 30; seq++) {
                stats.onPacket(seq, 960L * seq, seq * AUDIO_FRAME_NS);
            }
            assertEquals(0, stats.fractionLost(), "new interval without loss");
            out.clear();
            stats.writeReportBlock(out, 1, 0);
            assertEquals(0, out.getUnsignedByte(4));
            assertEquals(5, out.getMedium(5));
            assertEquals(29, out.getUnsignedInt(8));
        } finally {
            out.release();
        }
    }

    @Test
    void countsCyclesAcrossSequenceWrap() {
        RtpReceiveStats stats = new RtpReceiveStats(90_000);
        for (int i = 0; i < 100; i++) {
            stats.onPacket((65_500 + i) & 0xFFFF, 3000L * i, i * 33_333_333L);
        }
        assertEquals(65_536, stats.cycles());
        assertEquals(65_536 + 63, stats.extendedHighestSequence());
        assertEquals(100, stats.packetsExpected());
        assertEquals(0, stats.cumulativeLost());
    }

    @Test
    void reorderedPacketsDoNotCountACycle() {
        RtpReceiveStats stats = new RtpReceiveStats(90_000);
        stats.onPacket(65_534, 0, 0);
        stats.onPacket(0, 0, 0);
        stats.onPacket(65_535, 0, 0); // late
        stats.onPacket(1, 0, 0);
        assertEquals(65_536, stats.cycles());
        assertEquals(65_537, stats.extendedHighestSequence());
        assertEquals(0, stats.cumulativeLost());
    }

    @Test
    void restartsAfterTwoSequentialPacketsFarAway() {
        RtpReceiveStats stats = new RtpReceiveStats(90_000);
        for (int seq = 100; seq < 110; seq++) {
            stats.onPacket(seq, 0, 0);
        }
        stats.onPacket(30_000, 0, 0); // ignored once
        assertEquals(109, stats.extendedHighestSequence());
        stats.onPacket(30_001, 0, 0); // confirms the restart, counted from here as in RFC 3550 A.1
        stats.onPacket(30_002, 0, 0);
        assertEquals(30_001, stats.baseSequence());
        assertEquals(2, stats.packetsReceived());
        assertEquals(30_002, stats.extendedHighestSequence());
        assertEquals(0, stats.cumulativeLost());
    }

    @Test
    void jitterIsZeroForAPerfectlyPacedStream() {
        RtpReceiveStats audio = new RtpReceiveStats(48_000);
        RtpReceiveStats video = new RtpReceiveStats(90_000);
        long base = 123_456_789_000L;
        for (int i = 0; i < 500; i++) {
            audio.onPacket(i, 0xFFFF_0000L + 960L * i, base + i * AUDIO_FRAME_NS); // crosses the 2^32 ts wrap
            video.onPacket(i, 3000L * i, base + i * 1_000_000_000L / 30);        // 30 fps, not a whole ns
        }
        assertEquals(0, audio.jitter());
        assertEquals(0, video.jitter());
    }

    @Test
    void jitterGrowsWithInjectedJitterAndDecaysAfter() {
        RtpReceiveStats stats = new RtpReceiveStats(48_000);
        for (int i = 0; i < 200; i++) {
            long wobbleNs = (i % 2 == 0) ? 0 : 5_000_000L; // every other packet 5 ms late
            stats.onPacket(i, 960L * i, i * AUDIO_FRAME_NS + wobbleNs);
        }
        // |D| is 240 ticks (5 ms at 48 kHz) for every packet: J converges to 240.
        assertTrue(stats.jitter() >= 235 && stats.jitter() <= 240, "jitter " + stats.jitter());
        assertTrue(Math.abs(stats.jitterNs() - 5_000_000L) < 200_000L);
        for (int i = 200; i < 400; i++) {
            stats.onPacket(i, 960L * i, i * AUDIO_FRAME_NS);
        }
        assertTrue(stats.jitter() < 5, "jitter decays once pacing is perfect again: " + stats.jitter());
    }

    @Test
    void reportsLsrAndDlsrOfTheLastSenderReport() {
        RtpReceiveStats stats = new RtpReceiveStats(90_000);
        stats.onPacket(1, 0, 0);
        stats.onSenderReport(0x1234_5678_9ABC_DEF0L, 1_000_000_000L);
        assertEquals(0x5678_9ABCL, stats.lastSrNtpMiddle());
        assertEquals(0x8000, stats.delaySinceLastSr(1_500_000_000L)); // 0.5 s in 1/65536 s

        ByteBuf out = Unpooled.buffer();
        try {
            int start = RtcpWriter.writeReceiverReport(out, 0xABCDL);
            stats.writeReportBlock(out, 0x77L, 1_500_000_000L);
            RtcpWriter.finishReport(out, start, 1);
            assertEquals(1, RtcpPacket.validateCompound(out));
            int block = RtcpPacket.reportBlockOffset(out, 0, 0);
            assertEquals(0x77L, RtcpPacket.blockSsrc(out, block));
            assertEquals(0x5678_9ABCL, RtcpPacket.blockLastSr(out, block));
            assertEquals(0x8000, RtcpPacket.blockDelaySinceLastSr(out, block));
        } finally {
            out.release();
        }
    }

    @Test
    void sendStatsExtrapolateTheRtpTimestamp() {
        RtpSendStats stats = new RtpSendStats();
        stats.onPacketSent(100, 0xFFFF_FF00L, 0);
        stats.onPacketSent(150, 0xFFFF_FFF0L, 1_000_000L);
        assertEquals(2, stats.packetCount());
        assertEquals(250, stats.octetCount());
        assertEquals(0xFFFF_FFF0L, stats.lastRtpTimestamp());
        assertEquals(1_000_000L, stats.lastSentNs());
        assertEquals((0xFFFF_FFF0L + 90_000) & 0xFFFF_FFFFL, stats.rtpTimestampAt(1_001_000_000L, 90_000));
    }
}
