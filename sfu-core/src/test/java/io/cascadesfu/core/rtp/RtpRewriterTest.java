package io.cascadesfu.core.rtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RtpRewriterTest {

    static final long OUT_SSRC = 0xCAFEBABEL;
    static final long FRAME_NS = 33_333_333L;

    private final ByteBuf packet = Unpooled.buffer(12);
    private final RtpRewriter rewriter = new RtpRewriter(OUT_SSRC, 90_000);

    @AfterEach
    void release() {
        packet.release();
    }

    /** Fills {@link #packet} with a bare 12-byte header and rewrites it; returns out seq, or -1 if dropped. */
    private int rewrite(long ssrc, int seq, long ts, long nowNs) {
        packet.clear();
        packet.writeByte(0x80).writeByte(96).writeShort(seq).writeInt((int) ts).writeInt((int) ssrc);
        if (!rewriter.rewrite(packet, nowNs)) {
            assertEquals(seq, RtpPacket.sequenceNumber(packet), "dropped packet left unchanged");
            return -1;
        }
        assertEquals(OUT_SSRC, RtpPacket.ssrc(packet));
        return RtpPacket.sequenceNumber(packet);
    }

    private long outTs() {
        return RtpPacket.timestamp(packet);
    }

    @Test
    void staysMonotonicAcrossSequenceAndTimestampWrap() {
        int seq = 65530;
        long ts = 0x1_0000_0000L - 3 * 3000;
        int prevSeq = rewrite(1, seq, ts, 0);
        long prevTs = outTs();
        for (int i = 1; i < 20; i++) {
            int out = rewrite(1, (seq + i) & 0xFFFF, (ts + 3000L * i) & 0xFFFF_FFFFL, i * FRAME_NS);
            assertEquals((prevSeq + 1) & 0xFFFF, out);
            assertEquals(3000, (int) (outTs() - prevTs), "timestamp advances by one frame mod 2^32");
            prevSeq = out;
            prevTs = outTs();
        }
        assertEquals((65530 + 19) & 0xFFFF, rewriter.lastOutSequence());
        assertEquals(prevTs, rewriter.lastOutTimestamp());
    }

    @Test
    void keepsOutputContinuousAcrossSwitchSource() {
        long now = 0;
        int lastOut = 0;
        for (int i = 0; i < 10; i++) {
            now = i * FRAME_NS;
            lastOut = rewrite(0x1111, 1000 + i, 50_000 + 3000L * i, now);
        }
        long lastTs = outTs();

        rewriter.switchSource();
        long switchNs = now + 100_000_000L; // 100 ms later
        int first = rewrite(0x2222, 40_000, 7_777, switchNs);
        assertEquals((lastOut + 1) & 0xFFFF, first);
        assertEquals(lastTs + 9000, outTs(), "timestamp advanced by 100 ms of 90 kHz clock");

        int second = rewrite(0x2222, 40_001, 7_777 + 3000, switchNs + FRAME_NS);
        assertEquals((first + 1) & 0xFFFF, second);
        assertEquals(lastTs + 12_000, outTs());
    }

    @Test
    void switchWithoutElapsedTimeStillAdvancesTimestamp() {
        rewrite(1, 10, 1000, 5);
        long lastTs = outTs();
        rewriter.switchSource();
        rewrite(2, 500, 123, 5);
        assertEquals(lastTs + 1, outTs());
    }

    @Test
    void mapsReorderedPacketsConsistently() {
        assertEquals(100, rewrite(1, 100, 0, 0));
        assertEquals(103, rewrite(1, 103, 9000, 3));
        assertEquals(101, rewrite(1, 101, 3000, 4));
        assertEquals(3000, outTs());
        assertEquals(102, rewrite(1, 102, 6000, 5));
        assertEquals(103, rewriter.lastOutSequence(), "late packets do not move the highest");
        assertEquals(9000, rewriter.lastOutTimestamp());

        rewriter.switchSource();
        int first = rewrite(2, 5000, 0, 10);
        assertEquals(104, first);
        assertEquals(106, rewrite(2, 5002, 0, 11));
        assertEquals(105, rewrite(2, 5001, 0, 12));
    }

    @Test
    void dropsDuplicatesTooOldAndPreSwitchPackets() {
        assertEquals(100, rewrite(1, 100, 0, 0));
        assertEquals(101, rewrite(1, 101, 0, 0));
        assertEquals(-1, rewrite(1, 101, 0, 0), "duplicate");
        assertEquals(-1, rewrite(1, 99, 0, 0), "before the first packet of the source");
        rewrite(1, 100 + RtpRewriter.WINDOW + 10, 0, 0);
        assertEquals(-1, rewrite(1, 105, 0, 0), "behind the window");
        assertEquals(-1, rewrite(1, 101, 0, 0), "duplicate behind the window");

        rewriter.switchSource();
        int first = rewrite(2, 2000, 0, 0);
        assertEquals(-1, rewrite(2, 1999, 0, 0), "older than the new source's first packet");
        assertEquals((first + 1) & 0xFFFF, rewrite(2, 2001, 0, 0));
    }

    @Test
    void continuesWhenSourceRestartsWithoutSwitch() {
        rewrite(1, 30_000, 0, 0);
        int last = rewrite(1, 30_001, 3000, FRAME_NS);
        assertEquals(-1, rewrite(1, 10, 0, 2 * FRAME_NS), "far behind: dropped once");
        assertEquals((last + 1) & 0xFFFF, rewrite(1, 11, 3000, 3 * FRAME_NS), "its successor confirms a restart");
        assertEquals((last + 2) & 0xFFFF, rewrite(1, 12, 6000, 4 * FRAME_NS));
    }

    @Test
    void refusesPacketsShorterThanAHeader() {
        ByteBuf tiny = Unpooled.buffer(4).writeInt(0x80600001);
        try {
            assertFalse(rewriter.rewrite(tiny, 0));
            assertEquals(0x80600001, tiny.getInt(0));
        } finally {
            tiny.release();
        }
        assertTrue(rewrite(1, 1, 1, 1) >= 0);
    }

    @Test
    void mapsAnOutgoingSequenceNumberBackForRetransmissionAcrossTheWrap() {
        RtpRewriter r = new RtpRewriter(0xABCD, 90000);
        io.netty.buffer.ByteBuf p = io.netty.buffer.Unpooled.buffer(12);
        long firstOut = -1;
        for (int i = 0; i < 10; i++) {
            p.clear();
            p.writeByte(0x80).writeByte(96).writeShort((65530 + i) & 0xFFFF).writeInt(3000 * i).writeInt(0x1111);
            org.junit.jupiter.api.Assertions.assertTrue(r.rewrite(p, 1_000_000L * i));
            if (i == 0) {
                firstOut = RtpPacket.sequenceNumber(p);
            }
        }
        int outOf7 = (int) (firstOut + 7) & 0xFFFF;
        org.junit.jupiter.api.Assertions.assertEquals((65530 + 7) & 0xFFFF, r.inputSequenceOf(outOf7));
        org.junit.jupiter.api.Assertions.assertEquals(-1, r.inputSequenceOf((outOf7 + 5) & 0xFFFF), "not sent yet");
        p.clear();
        p.writeByte(0x80).writeByte(96).writeShort((65530 + 7) & 0xFFFF).writeInt(3000 * 7).writeInt(0x1111);
        org.junit.jupiter.api.Assertions.assertTrue(r.rewriteRetransmission(p, outOf7));
        org.junit.jupiter.api.Assertions.assertEquals(outOf7, RtpPacket.sequenceNumber(p));
        org.junit.jupiter.api.Assertions.assertEquals(0xABCD, RtpPacket.ssrc(p));
        org.junit.jupiter.api.Assertions.assertEquals(9, r.lastOutSequence() - (int) firstOut & 0xFFFF,
                "a retransmission does not move the stream");
        p.release();
    }
}
