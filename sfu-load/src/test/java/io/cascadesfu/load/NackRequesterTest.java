package io.cascadesfu.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.rtcp.RtcpPacket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The simulated subscriber's NACKs: what it asks for, when it asks again, when it gives up. */
class NackRequesterTest {
    static final long MS = 1_000_000L;
    static final long SENDER = 0x11111111L;
    static final long MEDIA = 0x22222222L;

    @Test
    void aNewGapIsAskedForAtOnceInOneNackWithPidAndBlp() {
        NackRequester n = new NackRequester();
        n.onGap(1000, 1004, 0);                      // 1001, 1002, 1003 missing
        assertTrue(n.isDue(0));
        ByteBuf out = Unpooled.buffer();
        assertEquals(3, n.writeDue(out, SENDER, MEDIA, 0));

        assertEquals(1, RtcpPacket.validateCompound(out));
        assertTrue(RtcpPacket.isNack(out, 0));
        assertEquals(MEDIA, RtcpPacket.mediaSsrc(out, 0));
        assertEquals(1, RtcpPacket.nackCount(out, 0));
        int pid = RtcpPacket.nackPid(out, 0, 0);
        int blp = RtcpPacket.nackBlp(out, 0, 0);
        assertEquals(1001, pid);
        assertEquals(0b11, blp, "1002 and 1003 as bits 0 and 1");
        assertFalse(n.isDue(1 * MS), "nothing again before a round trip");
        out.release();
    }

    @Test
    void askedAgainAfterOneAndAHalfRoundTripsAtMostThreeTimesThenGivenUp() {
        NackRequester n = new NackRequester();
        n.onGap(10, 12, 0);                          // 11 missing
        ByteBuf out = Unpooled.buffer();
        assertEquals(1, n.writeDue(out, SENDER, MEDIA, 0));
        assertFalse(n.isDue(149 * MS), "default round trip 100 ms: retry after 150 ms");
        assertEquals(1, n.writeDue(out.clear(), SENDER, MEDIA, 150 * MS));
        assertEquals(1, n.writeDue(out.clear(), SENDER, MEDIA, 300 * MS));
        assertEquals(0, n.writeDue(out.clear(), SENDER, MEDIA, 451 * MS), "three tries, then it is given up");
        assertEquals(0, n.missing());
        assertEquals(1, n.gaveUp());
        assertEquals(3, n.requested());
        out.release();
    }

    @Test
    void aRetransmissionAnsweringTheFirstNackMeasuresTheRoundTrip() {
        NackRequester n = new NackRequester();
        n.onGap(10, 12, 0);
        ByteBuf out = Unpooled.buffer();
        n.writeDue(out, SENDER, MEDIA, 0);
        n.onLate(11, 20 * MS);
        assertEquals(0, n.missing());
        assertEquals((100 * MS * 7 + 20 * MS) / 8, n.rttNs());
        out.release();
    }

    @Test
    void aJumpLargerThanMaxGapIsARestartNotLoss() {
        NackRequester n = new NackRequester();
        n.onGap(10, 10 + NackRequester.MAX_GAP + 2, 0);
        assertEquals(0, n.missing());
        assertFalse(n.isDue(0));
    }

    @Test
    void packetsMissingAcrossTheWrapAreAskedForWithSixteenBitNumbers() {
        NackRequester n = new NackRequester();
        n.onGap(65534, 65538, 0);                    // 65535, 65536 (=0), 65537 (=1)
        ByteBuf out = Unpooled.buffer();
        assertEquals(3, n.writeDue(out, SENDER, MEDIA, 0));
        assertEquals(65535, RtcpPacket.nackPid(out, 0, 0));
        assertEquals(0b11, RtcpPacket.nackBlp(out, 0, 0));
        out.release();
    }
}
