package io.cascadesfu.core.room;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.bwe.TransportCcFeedback;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A publisher that negotiated transport-cc gets feedback for what the node received (with the gaps reported as not
 * received), so that its congestion control finds the bandwidth and turns its simulcast layers on.
 */
class TransportFeedbackTest {
    static final int TWCC_EXT = 5;
    RoomHarness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    static byte[] packet(long ssrc, int seq, int transportSeq) {
        ByteBuf b = Unpooled.buffer(48);
        b.writeByte(0x90).writeByte(RoomHarness.VIDEO_PT).writeShort(seq).writeInt(seq * 3000).writeInt((int) ssrc);
        b.writeShort(0xBEDE).writeShort(1);
        b.writeByte(TWCC_EXT << 4 | 1).writeShort(transportSeq).writeByte(0);
        b.writeByte(0x10).writeByte(0x01).writeZero(20);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    /** Statuses of every transport-cc feedback the node sent on {@code t}: sequence number -> received. */
    static Map<Integer, Boolean> feedback(MemoryTransport t) {
        Map<Integer, Boolean> statuses = new TreeMap<>();
        for (byte[] compound : new ArrayList<>(t.rtcpSent)) {
            ByteBuf b = Unpooled.wrappedBuffer(compound);
            int off = 0;
            while (off + 4 <= b.readableBytes()) {
                int len = RtcpPacket.lengthBytes(b, off);
                if (len <= 0) {
                    break;
                }
                if (TransportCcFeedback.isTransportCc(b, off)) {
                    int n = TransportCcFeedback.parse(b, off, len, (seq, received, us) -> statuses.put(seq, received));
                    assertTrue(n > 0, "the node's feedback parses");
                }
                off += len;
            }
        }
        return statuses;
    }

    /** A video publisher with transport-cc (extension {@link #TWCC_EXT}) on SSRC 0x7777, and its transport. */
    MemoryTransport publisher() {
        h = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        Endpoint pub = h.control(() -> {
            Room room = h.engine.rooms().open("r");
            Member m = room.addMember("pub");
            Endpoint e = h.endpoint(m, "pub-ep");
            m.publish(e, "v", new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, RoomHarness.VIDEO_PT, 90000, 0x7777,
                    0, true, 0, List.of(), 0, TWCC_EXT));
            return e;
        });
        h.settle();
        return h.transport(pub);
    }

    /** The feedback statuses once {@code count} sequence numbers are reported (the router sends every 100 ms). */
    static Map<Integer, Boolean> awaitFeedback(MemoryTransport t, int count) throws InterruptedException {
        Map<Integer, Boolean> statuses = Map.of();
        for (int i = 0; i < 40 && statuses.size() < count; i++) { // bounded: 2 s
            Thread.sleep(50);
            statuses = feedback(t);
        }
        return statuses;
    }

    @Test
    void thePublisherGetsFeedbackForWhatArrivedAndWhatDidNot() throws InterruptedException {
        MemoryTransport t = publisher();
        for (int i = 0; i < 30; i++) {
            if (i % 10 != 5) { // 5, 15 and 25 lost on the way
                t.inject(packet(0x7777, 100 + i, 65520 + i)); // across the transport sequence wrap
            }
        }
        h.settle();
        Map<Integer, Boolean> statuses = awaitFeedback(t, 30);
        assertEquals(30, statuses.size(), "every transport sequence number from the first to the last: " + statuses);
        for (int i = 0; i < 30; i++) {
            int seq = (65520 + i) & 0xFFFF;
            assertEquals(i % 10 != 5, statuses.get(seq), "status of " + seq);
        }
        assertFalse(statuses.containsKey((65520 + 30) & 0xFFFF), "nothing beyond what arrived");
    }

    @Test
    void probesOnStreamsTheNodeDoesNotKnowAreReportedArrived() throws InterruptedException {
        // Chromium probes the path with padding on its rtx streams; with rid simulcast their SSRCs are in no SDP.
        // Feedback that left them out told the publisher its probes were lost: its estimate never rose and its
        // top layers never started.
        MemoryTransport t = publisher();
        for (int i = 0; i < 20; i++) {
            // media and probes interleaved, one transport-wide sequence
            t.inject(packet(i % 2 == 0 ? 0x7777 : 0x5EED, 100 + i, 1000 + i));
        }
        h.settle();
        Map<Integer, Boolean> statuses = awaitFeedback(t, 20);
        for (int i = 0; i < 20; i++) {
            assertEquals(Boolean.TRUE, statuses.get(1000 + i), "reported arrived: " + (1000 + i) + " of " + statuses);
        }
    }
}
