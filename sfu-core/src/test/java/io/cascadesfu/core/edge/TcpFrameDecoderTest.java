package io.cascadesfu.core.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** RFC 4571 framing on an {@link EmbeddedChannel}: whole, split and garbage streams. */
class TcpFrameDecoderTest {
    static final int MAX = 4096;

    private static EmbeddedChannel channel(SfuMetrics metrics) {
        return new EmbeddedChannel(new TcpFrameDecoder(MAX, metrics));
    }

    /** Each packet preceded by its 16-bit length. */
    private static byte[] stream(List<byte[]> packets) {
        ByteBuf b = Unpooled.buffer();
        for (byte[] p : packets) {
            b.writeShort(p.length).writeBytes(p);
        }
        byte[] bytes = ByteBufUtil.getBytes(b);
        b.release();
        return bytes;
    }

    private static List<byte[]> readAll(EmbeddedChannel ch) {
        List<byte[]> out = new ArrayList<>();
        ByteBuf frame;
        while ((frame = ch.readInbound()) != null) {
            out.add(ByteBufUtil.getBytes(frame));
            frame.release();
        }
        return out;
    }

    @Test
    void splitsAStreamIntoItsFramesWhateverTheReadBoundaries() {
        List<byte[]> packets = List.of(
                new byte[]{0x00, 0x01, 0x00, 0x00},   // STUN-like: Binding request type, length 0
                new byte[]{22, (byte) 0xFE, (byte) 0xFD}, // DTLS-like: handshake, DTLS 1.2
                new byte[]{(byte) 0x80, 96, 0, 1});   // RTP-like: V=2, PT 96, seq 1
        byte[] bytes = stream(packets);
        for (int cut = 0; cut <= bytes.length; cut++) {
            EmbeddedChannel ch = channel(SfuMetrics.inMemory());
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, cut));
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut));
            List<byte[]> frames = readAll(ch);
            assertEquals(packets.size(), frames.size(), "cut at " + cut);
            for (int i = 0; i < packets.size(); i++) {
                assertArrayEquals(packets.get(i), frames.get(i), "frame " + i + ", cut at " + cut);
            }
            assertTrue(ch.isOpen());
            assertFalse(ch.finish());
        }
    }

    @Test
    void closesOnALengthAboveTheLimitAndReadsNothingMore() {
        SfuMetrics metrics = SfuMetrics.inMemory();
        EmbeddedChannel ch = channel(metrics);
        ByteBuf in = Unpooled.buffer();
        in.writeShort(MAX + 1).writeZero(10);
        ch.writeInbound(in);
        assertNull(ch.readInbound());
        assertFalse(ch.isOpen());
        assertEquals(1, metrics.dropped(DropReason.TCP_FRAME_INVALID));
        assertFalse(ch.finish());
    }

    @Test
    void closesOnAZeroLengthFrameAfterDeliveringTheFramesBeforeIt() {
        SfuMetrics metrics = SfuMetrics.inMemory();
        EmbeddedChannel ch = channel(metrics);
        ByteBuf in = Unpooled.buffer();
        in.writeShort(2).writeByte(0x80).writeByte(96); // one good frame
        in.writeShort(0);                                 // then length 0: out of step
        in.writeShort(2).writeByte(0x80).writeByte(96);
        ch.writeInbound(in);
        List<byte[]> frames = readAll(ch);
        assertEquals(1, frames.size());
        assertFalse(ch.isOpen());
        assertEquals(1, metrics.dropped(DropReason.TCP_FRAME_INVALID));
        assertFalse(ch.finish());
    }

    /** Arbitrary bytes in arbitrary chunks: never throws, never leaks, every frame within the limit. */
    @Property(tries = 500)
    void arbitraryChunksNeverThrowAndYieldOnlyFramesWithinTheLimit(@ForAll @Size(max = 300) byte[] data,
                                                                    @ForAll @IntRange(min = 1, max = 64) int chunk) {
        SfuMetrics metrics = SfuMetrics.inMemory();
        EmbeddedChannel ch = channel(metrics);
        for (int i = 0; i < data.length && ch.isOpen(); i += chunk) {
            ch.writeInbound(Unpooled.wrappedBuffer(data, i, Math.min(chunk, data.length - i)));
        }
        int consumed = 0;
        for (byte[] frame : readAll(ch)) {
            assertTrue(frame.length >= 1 && frame.length <= MAX);
            consumed += 2 + frame.length;
        }
        assertTrue(consumed <= data.length);
        ch.finishAndReleaseAll();
    }
}
