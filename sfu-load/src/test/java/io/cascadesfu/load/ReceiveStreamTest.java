package io.cascadesfu.load;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** In-time delivery accounting: what a subscriber got within the deadline of each packet's send time. */
class ReceiveStreamTest {
    static final long MS = 1_000_000L;
    static final long DEADLINE_NS = 150 * MS;

    private static ReceiveStream stream() {
        return new ReceiveStream(1234, 0, true, 90000, DEADLINE_NS, null);
    }

    /** Packet {@code seq} sent at {@code seq × 10 ms}, arriving {@code delayMs} later. */
    private static void deliver(ReceiveStream s, int seq, long delayMs) {
        long sendNs = (seq & 0xFFFF) * 10 * MS;
        s.onPacket(seq & 0xFFFF, seq * 900L, sendNs + delayMs * MS, 100, sendNs);
    }

    @Test
    void packetsWithinTheDeadlineAreInTimeAndOthersAreResidualLoss() {
        ReceiveStream s = stream();
        deliver(s, 0, 40);
        deliver(s, 1, 40);
        // 2 lost for good, 3 repaired in time, 4 repaired too late
        deliver(s, 5, 40);
        deliver(s, 3, 120);
        deliver(s, 4, 151);
        deliver(s, 6, 150);   // exactly at the deadline: in time

        assertEquals(7, s.expected());
        assertEquals(6, s.received());
        assertEquals(1, s.lost(), "only 2 never arrived");
        assertEquals(5, s.inTime());
        assertEquals(2, s.missedDeadline(), "2 lost and 4 late");
    }

    @Test
    void aDuplicateCountsOnceAndALateFirstCopyIsRescuedByAnInTimeRetransmissionOnlyOnce() {
        ReceiveStream s = stream();
        deliver(s, 10, 30);
        deliver(s, 10, 60);   // the node resent what arrived: counted once
        deliver(s, 11, 30);

        assertEquals(2, s.expected());
        assertEquals(2, s.inTime());
        assertEquals(0, s.missedDeadline());
    }

    @Test
    void inTimeAccountingWorksAcrossTheSequenceNumberWrap() {
        ReceiveStream s = stream();
        for (int seq = 65530; seq < 65536 + 10; seq++) {
            if (seq != 65535 && seq != 65536) {
                deliver(s, seq, 20);
            }
        }
        deliver(s, 65535, 100);  // repaired in time
        deliver(s, 65536, 300);  // repaired too late

        assertEquals(16, s.expected());
        assertEquals(15, s.inTime());
        assertEquals(1, s.missedDeadline());
    }

    @Test
    void retransmissionsDoNotDisturbTheJitter() {
        ReceiveStream steady = stream();
        ReceiveStream repaired = stream();
        long lastSteady = 0;
        long lastRepaired = 0;
        for (int seq = 0; seq < 50; seq++) {
            lastSteady = steady.onPacket(seq, seq * 900L, seq * 10 * MS + 30 * MS, 100, seq * 10 * MS);
            if (seq != 20) {
                lastRepaired = repaired.onPacket(seq, seq * 900L, seq * 10 * MS + 30 * MS, 100, seq * 10 * MS);
            }
            if (seq == 25) {
                repaired.onPacket(20, 20 * 900L, 25 * 10 * MS + 30 * MS, 100, 20 * 10 * MS);
            }
        }
        assertEquals(lastSteady, lastRepaired, "a packet resent 50 ms late is not interarrival jitter");
        assertEquals(50, repaired.inTime());
    }

    @Test
    void gapsAndLateArrivalsReachTheNackRequester() {
        NackRequester nacks = new NackRequester();
        ReceiveStream s = new ReceiveStream(1234, 0, true, 90000, DEADLINE_NS, nacks);
        deliver(s, 100, 20);
        deliver(s, 104, 20);
        assertEquals(3, nacks.missing(), "101..103");
        deliver(s, 102, 60);
        assertEquals(2, nacks.missing());
    }
}
