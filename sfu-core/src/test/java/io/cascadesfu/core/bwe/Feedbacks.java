package io.cascadesfu.core.bwe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/** Test support: flushing a recorder, reading every status of a buffer of feedback packets, building packets. */
final class Feedbacks {

    /** One status as the sender sees it; {@code arrivalUs} is absolute (reference time + deltas) if received. */
    record Status(int seq, boolean received, long arrivalUs) {
    }

    /** What one packet said, besides its statuses. */
    record Packet(int offset, int length, int baseSeq, int statusCount, long referenceUs, int feedbackCount) {
    }

    private Feedbacks() {
    }

    /** Writes feedback while the recorder has some; the caller releases the buffer. */
    static ByteBuf flush(TransportCcRecorder recorder) {
        ByteBuf out = Unpooled.buffer();
        int guard = 0;
        while (recorder.hasPending()) {
            int n = recorder.writeFeedback(out, 0x1111, 0x2222);
            assertTrue(n > 0, "writeFeedback wrote nothing while pending");
            assertTrue(++guard < 10_000, "writeFeedback makes no progress");
        }
        assertEquals(0, recorder.writeFeedback(out, 0x1111, 0x2222));
        return out;
    }

    /** Every packet in {@code buf}, each checked to parse. */
    static List<Packet> packets(ByteBuf buf) {
        List<Packet> packets = new ArrayList<>();
        int off = 0;
        while (off < buf.readableBytes()) {
            assertTrue(TransportCcFeedback.isTransportCc(buf, off), "not transport-cc at " + off);
            int len = TransportCcFeedback.lengthBytes(buf, off);
            assertEquals(0, len % 4);
            int count = TransportCcFeedback.parse(buf, off, len, (s, r, d) -> { });
            assertEquals(TransportCcFeedback.statusCount(buf, off), count, "parse at " + off);
            packets.add(new Packet(off, len, TransportCcFeedback.baseSequence(buf, off), count,
                    TransportCcFeedback.referenceTimeUs(buf, off), TransportCcFeedback.feedbackPacketCount(buf, off)));
            off += len;
        }
        assertEquals(buf.readableBytes(), off);
        return packets;
    }

    /** Every status of every packet in {@code buf}, in order. */
    static List<Status> statuses(ByteBuf buf) {
        List<Status> statuses = new ArrayList<>();
        for (Packet p : packets(buf)) {
            int count = TransportCcFeedback.parse(buf, p.offset(), p.length(),
                    (seq, received, fromReferenceUs) -> statuses.add(
                            new Status(seq, received, received ? p.referenceUs() + fromReferenceUs : 0)));
            assertEquals(p.statusCount(), count);
        }
        return statuses;
    }

    /**
     * A transport-cc packet with the given chunks and receive-delta bytes, zero padded; the length field fits unless
     * {@code lengthWordsDelta} moves it. The caller releases it.
     */
    static ByteBuf build(int baseSeq, int statusCount, int referenceTicks, int fbCount, int[] chunks, int[] deltaBytes,
                         int lengthWordsDelta) {
        int unpadded = TransportCcFeedback.CHUNKS_OFFSET + 2 * chunks.length + deltaBytes.length;
        int length = (unpadded + 3) & ~3;
        ByteBuf buf = Unpooled.buffer(length);
        buf.writeByte(0x8F);
        buf.writeByte(205);
        buf.writeShort(length / 4 - 1 + lengthWordsDelta);
        buf.writeInt(0x1111);
        buf.writeInt(0x2222);
        buf.writeShort(baseSeq);
        buf.writeShort(statusCount);
        buf.writeMedium(referenceTicks);
        buf.writeByte(fbCount);
        for (int c : chunks) {
            buf.writeShort(c);
        }
        for (int d : deltaBytes) {
            buf.writeByte(d);
        }
        buf.writeZero(length - unpadded);
        return buf;
    }
}
