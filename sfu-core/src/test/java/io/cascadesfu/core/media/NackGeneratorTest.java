package io.cascadesfu.core.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.rtcp.RtcpPacket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gap detection and NACK timing on an explicit clock. */
class NackGeneratorTest {
    static final long MS = 1_000_000L;

    /** Every sequence number the NACKs in {@code out} ask for. */
    static List<Integer> asked(ByteBuf out) {
        List<Integer> seqs = new ArrayList<>();
        int off = 0;
        while (off < out.readableBytes()) {
            assertTrue(RtcpPacket.isNack(out, off));
            int pid = RtcpPacket.nackPid(out, off, 0);
            int blp = RtcpPacket.nackBlp(out, off, 0);
            seqs.add(pid);
            for (int b = 0; b < 16; b++) {
                if ((blp & (1 << b)) != 0) {
                    seqs.add((pid + b + 1) & 0xFFFF);
                }
            }
            off += RtcpPacket.lengthBytes(out, off);
        }
        return seqs;
    }

    static List<Integer> due(NackGenerator g, long nowNs) {
        ByteBuf out = Unpooled.buffer();
        g.writeDue(out, 1, 2, nowNs);
        List<Integer> seqs = asked(out);
        out.release();
        return seqs;
    }

    @Test
    void asksAtOnceForANewGapAcrossTheWrapThenRetriesARoundTripLaterAtMostThreeTimes() {
        NackGenerator g = new NackGenerator();
        g.onPacket(65533, 0);
        g.onPacket(1, 1 * MS); // 65534, 65535, 0 missing
        assertEquals(List.of(65534, 65535, 0), due(g, 1 * MS));
        assertEquals(List.of(), due(g, 50 * MS), "not again before a round trip (100 ms until measured)");
        assertFalse(g.isDue(50 * MS));
        assertEquals(List.of(65534, 65535, 0), due(g, 160 * MS));
        assertEquals(List.of(65534, 65535, 0), due(g, 320 * MS));
        assertEquals(List.of(), due(g, 480 * MS), "three tries, then it gives up");
        assertEquals(0, g.missing());
        assertEquals(3, g.gaveUp());
    }

    @Test
    void aRetransmissionThatArrivesStopsTheRequestsAndMeasuresTheRoundTrip() {
        NackGenerator g = new NackGenerator();
        g.onPacket(10, 0);
        g.onPacket(12, 0);
        assertEquals(List.of(11), due(g, 0));
        g.onPacket(11, 40 * MS); // the retransmission, 40 ms after the NACK
        assertEquals(0, g.missing());
        assertTrue(g.rttNs() < 100 * MS && g.rttNs() > 40 * MS, "round trip moves towards 40 ms: " + g.rttNs());
        g.onPacket(14, 50 * MS);
        assertEquals(List.of(13), due(g, 50 * MS));
    }

    @Test
    void afterTheSenderEndedTheStreamTheNumbersItSkippedAreNotAskedFor() {
        NackGenerator g = new NackGenerator();
        g.onPacket(100, 0);
        g.onPacket(103, 1 * MS); // 101, 102 lost before the BYE: still asked for
        assertEquals(List.of(101, 102), due(g, 1 * MS));
        g.restart(); // RTCP BYE: a relay link stopped this layer
        g.onPacket(250, 200 * MS); // resumed: the 146 numbers between were never sent on the link
        assertEquals(List.of(101, 102), due(g, 200 * MS), "only the earlier gap, retried");
        assertEquals(2, g.missing());
        g.onPacket(252, 2_010 * MS);
        assertEquals(List.of(251), due(g, 2_010 * MS), "and loss after the resumption is asked for as before");
    }

    @Test
    void aJumpTooLargeToBeLossIsARestartNotAStormOfNacks() {
        NackGenerator g = new NackGenerator();
        g.onPacket(100, 0);
        g.onPacket(30000, 1 * MS);
        assertEquals(0, g.missing());
        assertEquals(List.of(), due(g, 2 * MS));
    }

    @Test
    void aMissingPacketOlderThanASecondIsGivenUp() {
        NackGenerator g = new NackGenerator();
        g.onPacket(1, 0);
        g.onPacket(3, 0);
        due(g, 0);
        assertTrue(g.isDue(1001 * MS));
        assertEquals(List.of(), due(g, 1001 * MS));
        assertEquals(0, g.missing());
    }
}
