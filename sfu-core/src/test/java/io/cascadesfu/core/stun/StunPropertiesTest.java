package io.cascadesfu.core.stun;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.Chars;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.NumericChars;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fuzz-style properties: the parser and the verifiers never throw and never move indices. */
class StunPropertiesTest {

    private static final byte[] KEY = "VOkJxbRl1RmTxUk/WvJxBt".getBytes(StandardCharsets.UTF_8);
    private static final int[] INTERESTING_TYPES = {
            StunMessage.ATTR_MAPPED_ADDRESS, StunMessage.ATTR_USERNAME, StunMessage.ATTR_MESSAGE_INTEGRITY,
            StunMessage.ATTR_ERROR_CODE, StunMessage.ATTR_XOR_MAPPED_ADDRESS, StunMessage.ATTR_PRIORITY,
            StunMessage.ATTR_USE_CANDIDATE, StunMessage.ATTR_SOFTWARE, StunMessage.ATTR_FINGERPRINT,
            StunMessage.ATTR_ICE_CONTROLLED, StunMessage.ATTR_ICE_CONTROLLING, 0x7fff, 0xffff};

    private final StunMessage msg = new StunMessage();

    @Property(tries = 2000)
    void arbitraryBytesNeverThrow(@ForAll @Size(max = 200) byte[] data) {
        exercise(data);
    }

    @Property(tries = 3000)
    void validHeaderWithRandomAttributesNeverThrows(@ForAll("stunLike") byte[] data) {
        exercise(data);
    }

    @Property(tries = 500)
    void bindingRequestRoundTrips(
            @ForAll @StringLength(min = 1, max = 80) @AlphaChars @NumericChars @Chars({'+', '/', ':'}) String username,
            @ForAll @LongRange(min = 0, max = 0xFFFFFFFFL) long priority,
            @ForAll boolean useCandidate,
            @ForAll boolean controlling,
            @ForAll long tieBreaker,
            @ForAll @Size(12) byte[] transactionId) {
        ByteBuf out = Unpooled.buffer();
        try {
            Stun.writeBindingRequest(out, transactionId, username, KEY, priority, useCandidate, controlling, tieBreaker);
            assertEquals(StunParseResult.OK, msg.parse(out));
            assertEquals(username, msg.username());
            assertTrue(msg.hasPriority());
            assertEquals(priority, msg.priority());
            assertEquals(useCandidate, msg.useCandidate());
            assertEquals(controlling, msg.iceControlling());
            assertEquals(!controlling, msg.iceControlled());
            assertEquals(tieBreaker, msg.tieBreaker());
            assertEquals(java.util.Arrays.toString(transactionId), java.util.Arrays.toString(msg.transactionId()));
            assertTrue(Stun.verifyMessageIntegrity(out, msg, KEY));
            assertTrue(Stun.verifyFingerprint(out, msg));
        } finally {
            out.release();
        }
    }

    private void exercise(byte[] data) {
        ByteBuf packet = Unpooled.wrappedBuffer(data);
        try {
            msg.parse(packet);
            // Verify whatever the parse left behind, OK or not: must not throw either way.
            Stun.verifyMessageIntegrity(packet, msg, KEY);
            Stun.verifyFingerprint(packet, msg);
            Stun.looksLikeStun(packet);
            msg.xorMappedAddress();
            assertEquals(0, packet.readerIndex());
            assertEquals(data.length, packet.writerIndex());
        } finally {
            packet.release();
        }
    }

    /** A valid 20-byte header whose length matches, followed by random TLVs (lengths sometimes lying). */
    @Provide
    Arbitrary<byte[]> stunLike() {
        Arbitrary<byte[]> attribute = Combinators.combine(
                Arbitraries.oneOf(Arbitraries.of(boxed(INTERESTING_TYPES)), Arbitraries.integers().between(0, 0xffff)),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(40),
                Arbitraries.integers().between(-2, 2),
                Arbitraries.integers().between(0, 9)
        ).as((type, value, lengthError, lengthErrorChance) -> {
            int declared = lengthErrorChance == 0 ? Math.max(0, value.length + lengthError) : value.length;
            int padded = (value.length + 3) & ~3;
            ByteBuf b = Unpooled.buffer(4 + padded);
            try {
                b.writeShort(type).writeShort(declared).writeBytes(value).writeZero(padded - value.length);
                byte[] result = new byte[b.readableBytes()];
                b.readBytes(result);
                return result;
            } finally {
                b.release();
            }
        });
        return Combinators.combine(
                Arbitraries.integers().between(0, 0x3fff),
                Arbitraries.bytes().array(byte[].class).ofSize(12),
                attribute.list().ofMaxSize(8)
        ).as((type, transactionId, attributes) -> {
            ByteBuf b = Unpooled.buffer();
            try {
                int length = attributes.stream().mapToInt(a -> a.length).sum();
                b.writeShort(type).writeShort(length).writeInt(StunMessage.MAGIC_COOKIE).writeBytes(transactionId);
                for (byte[] a : attributes) {
                    b.writeBytes(a);
                }
                byte[] result = new byte[b.readableBytes()];
                b.readBytes(result);
                return result;
            } finally {
                b.release();
            }
        });
    }

    private static List<Integer> boxed(int[] values) {
        return java.util.Arrays.stream(values).boxed().toList();
    }
}
