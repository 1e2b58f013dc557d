package io.cascadesfu.core.rtp;

import static io.cascadesfu.core.rtp.TestBytes.guarded;
import static io.cascadesfu.core.rtp.TestBytes.guardsIntact;
import static io.cascadesfu.core.rtp.TestBytes.readable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Parsers on arbitrary bytes: no exception, no access outside readerIndex..writerIndex. Reads past writerIndex are
 * caught by running on an exact slice (whose capacity ends there); reads before readerIndex by comparing with a
 * run over different surrounding bytes; writes outside by guard bytes.
 */
class RtpPropertyTest {

    private static final int GUARD = 16;

    @Provide
    Arbitrary<byte[]> rtpLike() {
        Arbitrary<byte[]> raw = Arbitraries.bytes().array(byte[].class).ofMinSize(0).ofMaxSize(120);
        Arbitrary<Integer> flags = Arbitraries.integers().between(0, 63);
        Arbitrary<Integer> profile = Arbitraries.of(0xBEDE, 0x1000, 0x1003, 0xABCD);
        Arbitrary<Integer> extWords = Arbitraries.integers().between(0, 30);
        return Combinators.combine(raw, flags, profile, extWords).as((bytes, f, p, words) -> {
            byte[] b = bytes.clone();
            if (b.length > 0) {
                b[0] = (byte) (0x80 | f); // version 2, arbitrary P, X, CC
            }
            int extOff = 12 + 4 * (f & 0x0F);
            if (b.length >= extOff + 4) {
                b[extOff] = (byte) (p >>> 8);
                b[extOff + 1] = (byte) p.intValue();
                b[extOff + 2] = 0;
                b[extOff + 3] = (byte) words.intValue();
            }
            return b;
        });
    }

    @Provide
    Arbitrary<byte[]> anyBytes() {
        return Arbitraries.oneOf(rtpLike(), Arbitraries.bytes().array(byte[].class).ofMaxSize(80));
    }

    @Provide
    Arbitrary<byte[]> idMaps() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(256);
    }

    @Property(tries = 2000)
    void validateAndFindNeverThrowNorReadOutside(@ForAll("anyBytes") byte[] bytes,
                                                  @ForAll @IntRange(min = -1, max = 256) int id) {
        ByteBuf exact = Unpooled.buffer(bytes.length, bytes.length).writeBytes(bytes);
        ByteBuf zeros = guarded(bytes, GUARD, 0x00);
        ByteBuf ones = guarded(bytes, GUARD, 0xFF);
        try {
            int result = RtpPacket.validate(exact);
            assertEquals(result, RtpPacket.validate(zeros));
            assertEquals(result, RtpPacket.validate(ones));
            int found = RtpPacket.findExtension(exact, id);
            assertEquals(found, RtpPacket.findExtension(zeros, id));
            assertEquals(found, RtpPacket.findExtension(ones, id));
            if (result >= 0) {
                int payloadLength = RtpPacket.payloadLength(exact, result);
                assertTrue(payloadLength >= 0 && result + payloadLength <= bytes.length);
                RtpPacket.sequenceNumber(exact);
                RtpPacket.timestamp(exact);
                RtpPacket.ssrc(exact);
            }
            if (found >= 0) {
                int len = RtpPacket.extensionLength(exact, found);
                assertTrue(found + len <= result, "element inside the extension block");
            }
        } finally {
            exact.release();
            zeros.release();
            ones.release();
        }
    }

    @Property(tries = 2000)
    void rewriteExtensionIdsStaysInsideAndKeepsValidity(@ForAll("anyBytes") byte[] bytes,
                                                         @ForAll("idMaps") byte[] idMap) {
        ByteBuf exact = Unpooled.buffer(bytes.length, bytes.length).writeBytes(bytes);
        ByteBuf zeros = guarded(bytes, GUARD, 0x00);
        ByteBuf ones = guarded(bytes, GUARD, 0xFF);
        try {
            int before = RtpPacket.validate(exact);
            RtpPacket.rewriteExtensionIds(exact, idMap);
            RtpPacket.rewriteExtensionIds(zeros, idMap);
            RtpPacket.rewriteExtensionIds(ones, idMap);
            assertTrue(guardsIntact(zeros, GUARD, 0x00));
            assertTrue(guardsIntact(ones, GUARD, 0xFF));
            byte[] after = readable(exact);
            assertArrayEquals(after, readable(zeros));
            assertArrayEquals(after, readable(ones));
            assertEquals(before, RtpPacket.validate(exact), "validity and payload offset unchanged");
            if (before >= 0) {
                assertArrayEquals(Arrays.copyOfRange(bytes, before, bytes.length),
                        Arrays.copyOfRange(after, before, after.length), "payload untouched");
            }
        } finally {
            exact.release();
            zeros.release();
            ones.release();
        }
    }

    @Property(tries = 2000)
    void isKeyframeNeverThrowsNorReadsOutside(@ForAll @Size(max = 40) byte[] bytes,
                                              @ForAll @IntRange(min = -2, max = 45) int offset,
                                              @ForAll("lengths") int length,
                                              @ForAll Codec codec) {
        ByteBuf exact = Unpooled.buffer(bytes.length, bytes.length).writeBytes(bytes);
        ByteBuf zeros = guarded(bytes, GUARD, 0x00);
        ByteBuf ones = guarded(bytes, GUARD, 0xFF);
        try {
            boolean key = Keyframes.isKeyframe(exact, offset, length, codec);
            assertEquals(key, Keyframes.isKeyframe(zeros, offset, length, codec));
            assertEquals(key, Keyframes.isKeyframe(ones, offset, length, codec));
            if (offset >= 0 && offset <= bytes.length) {
                // Reads stay within the given payload: a slice holding just it gives the same answer.
                int len = Math.max(0, Math.min(length, bytes.length - offset));
                ByteBuf payload = exact.slice(offset, len);
                if (length == len) {
                    assertEquals(key, Keyframes.isKeyframe(payload, 0, len, codec));
                }
            }
        } finally {
            exact.release();
            zeros.release();
            ones.release();
        }
    }

    @Provide
    Arbitrary<Integer> lengths() {
        return Arbitraries.oneOf(Arbitraries.integers().between(-2, 45),
                Arbitraries.of(Integer.MAX_VALUE, Integer.MIN_VALUE));
    }

    @Property(tries = 300)
    void rewriterOutputIsContinuousForInOrderInput(@ForAll @IntRange(min = 0, max = 65535) int startSeq,
                                                   @ForAll long startTs,
                                                   @ForAll @IntRange(min = 1, max = 3000) int count,
                                                   @ForAll @IntRange(min = 0, max = 3000) int switchAt) {
        RtpRewriter rewriter = new RtpRewriter(42, 90_000);
        ByteBuf packet = Unpooled.buffer(12);
        try {
            int prevSeq = -1;
            long prevTs = 0;
            int seq = startSeq;
            long ts = startTs & 0xFFFF_FFFFL;
            for (int i = 0; i < count; i++) {
                if (i == switchAt) {
                    rewriter.switchSource();
                    seq = (seq + 20_000) & 0xFFFF; // new source, unrelated numbers
                    ts = (ts * 31 + 7) & 0xFFFF_FFFFL;
                }
                packet.clear().writeByte(0x80).writeByte(96).writeShort(seq).writeInt((int) ts).writeInt(1);
                assertTrue(rewriter.rewrite(packet, i * 33_333_333L));
                int outSeq = RtpPacket.sequenceNumber(packet);
                long outTs = RtpPacket.timestamp(packet);
                if (prevSeq >= 0) {
                    assertEquals((prevSeq + 1) & 0xFFFF, outSeq, "strictly increasing by one, mod 2^16");
                    int tsDelta = (int) (outTs - prevTs);
                    assertTrue(tsDelta > 0, "timestamp increasing mod 2^32");
                }
                prevSeq = outSeq;
                prevTs = outTs;
                seq = (seq + 1) & 0xFFFF;
                ts = (ts + 3000) & 0xFFFF_FFFFL;
            }
            assertEquals(prevSeq, rewriter.lastOutSequence());
        } finally {
            packet.release();
        }
    }

    @Property(tries = 300)
    void rewriterKeepsGapsOfInOrderInputWithLoss(@ForAll @IntRange(min = 0, max = 65535) int startSeq,
                                                 @ForAll @Size(min = 1, max = 500) List<@IntRange(min = 1, max = 400) Integer> gaps) {
        RtpRewriter rewriter = new RtpRewriter(42, 48_000);
        ByteBuf packet = Unpooled.buffer(12);
        try {
            int seq = startSeq;
            int prevOut = -1;
            int prevGap = 0;
            for (int gap : gaps) {
                packet.clear().writeByte(0x80).writeByte(111).writeShort(seq).writeInt(seq * 960).writeInt(1);
                assertTrue(rewriter.rewrite(packet, 0));
                int out = RtpPacket.sequenceNumber(packet);
                if (prevOut >= 0) {
                    assertEquals((prevOut + prevGap) & 0xFFFF, out, "losses show as the same gap");
                }
                prevOut = out;
                prevGap = gap;
                seq = (seq + gap) & 0xFFFF;
            }
        } finally {
            packet.release();
        }
    }
}
