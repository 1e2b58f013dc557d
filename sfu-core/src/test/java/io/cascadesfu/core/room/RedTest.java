package io.cascadesfu.core.room;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.rtp.RedPayload;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Opus red (RFC 2198) passes through to a subscriber that took red, its block payload types renumbered; a
 * subscriber that did not gets each packet cut down to the primary block, as plain Opus; malformed red is dropped.
 */
class RedTest {
    static final int PUB_RED = 100;
    static final int PUB_OPUS = 109;
    static final byte[] REDUNDANT = {1, 2, 3, 4, 5};
    static final byte[] PRIMARY = {9, 8, 7, 6, 5, 4, 3};

    RoomHarness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    /** A red packet: one redundant block (20 ms back) and the primary, both Opus. */
    static byte[] red(int seq) {
        return red(seq, 0, 0, REDUNDANT, PRIMARY);
    }

    /**
     * A red packet from SSRC 0x4444 (red {@link #PUB_RED}, Opus {@link #PUB_OPUS}): one redundant block (20 ms back),
     * then the primary; with the transport-wide sequence number {@code twccSeq} in a one-byte header extension
     * {@code twccId} if that is above 0.
     */
    static byte[] red(int seq, int twccId, int twccSeq, byte[] redundant, byte[] primary) {
        ByteBuf b = Unpooled.buffer(64);
        b.writeByte(twccId > 0 ? 0x90 : 0x80).writeByte(PUB_RED).writeShort(seq).writeInt(960 * seq).writeInt(0x4444);
        if (twccId > 0) {
            b.writeShort(0xBEDE).writeShort(1).writeByte(twccId << 4 | 1).writeShort(twccSeq).writeByte(0);
        }
        b.writeByte(0x80 | PUB_OPUS).writeShort(960 << 2).writeByte(redundant.length); // F, PT, ts offset, length
        b.writeByte(PUB_OPUS);
        b.writeBytes(redundant).writeBytes(primary);
        return Arrays.copyOf(b.array(), b.writerIndex());
    }

    MemoryTransport[] call() {
        h = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        Endpoint[] eps = h.control(() -> {
            Room room = h.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = h.endpoint(pub, "pub-ep");
            Track t = pub.publish(pe, "a", new ProducerParams("0", TrackKind.AUDIO, Codec.OPUS, PUB_OPUS, 48000,
                    0x4444, 0));
            Endpoint takesRed = h.endpoint(room.addMember("s1"), "s1");
            Endpoint noRed = h.endpoint(room.addMember("s2"), "s2");
            room.subscribe(takesRed, t, new ConsumerParams(0x51, 111, new byte[256], -1, -1,
                    new ConsumerParams.RedMapping(PUB_RED, PUB_OPUS, 63, 111)));
            room.subscribe(noRed, t, new ConsumerParams(0x52, 111, new byte[256], -1, -1,
                    new ConsumerParams.RedMapping(PUB_RED, PUB_OPUS, -1, 111)));
            return new Endpoint[] {pe, takesRed, noRed};
        });
        h.settle();
        return new MemoryTransport[] {h.transport(eps[0]), h.transport(eps[1]), h.transport(eps[2])};
    }

    @Test
    void redGoesAsRedRenumberedOrAsItsPrimaryBlock() {
        MemoryTransport[] t = call();
        t[0].inject(red(10));
        h.settle();
        byte[] asRed = t[1].rtpSent.get(0);
        assertEquals(63, asRed[1] & 0x7F, "the subscriber's red payload type");
        assertEquals(0x80 | 111, asRed[12] & 0xFF, "the redundant block's payload type is the subscriber's Opus");
        assertEquals(111, asRed[16] & 0xFF, "and the primary's");
        assertEquals(red(10).length, asRed.length);
        byte[] plain = t[2].rtpSent.get(0);
        assertEquals(111, plain[1] & 0x7F, "plain Opus for a subscriber without red");
        assertArrayEquals(PRIMARY, Arrays.copyOfRange(plain, 12, plain.length), "only the primary block");
    }

    @Test
    void malformedRedIsDroppedAndCounted() {
        MemoryTransport[] t = call();
        byte[] bad = red(11);
        bad[15] = (byte) 0xFF; // a block length far past the end
        t[0].inject(bad);
        h.settle();
        assertEquals(0, t[2].rtpSent.size());
        assertEquals(0, t[1].rtpSent.size());
        assertEquals(2.0, h.metrics.dropped(DropReason.RTP_MALFORMED), 0.0);
        assertEquals(-1, RedPayload.primaryOffset(Unpooled.wrappedBuffer(bad), 12, bad.length - 12));
    }
}
