package io.cascadesfu.core.stun;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RFC 5769 test vectors, typed from the RFC text byte by byte. */
class Rfc5769VectorsTest {

    /** RFC 5769 section 2: the short-term password used by all three samples. */
    static final byte[] PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt".getBytes(StandardCharsets.UTF_8);

    static final byte[] TRANSACTION_ID = bytes(
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae);

    /** RFC 5769 section 2.1: sample request. */
    static final byte[] SAMPLE_REQUEST = bytes(
            0x00, 0x01, 0x00, 0x58, // Request type and message length
            0x21, 0x12, 0xa4, 0x42, // Magic cookie
            0xb7, 0xe7, 0xa7, 0x01, // }
            0xbc, 0x34, 0xd6, 0x86, // }  Transaction ID
            0xfa, 0x87, 0xdf, 0xae, // }
            0x80, 0x22, 0x00, 0x10, // SOFTWARE attribute header
            0x53, 0x54, 0x55, 0x4e, // }
            0x20, 0x74, 0x65, 0x73, // }  User-agent...
            0x74, 0x20, 0x63, 0x6c, // }  ...name
            0x69, 0x65, 0x6e, 0x74, // }
            0x00, 0x24, 0x00, 0x04, // PRIORITY attribute header
            0x6e, 0x00, 0x01, 0xff, // ICE priority value
            0x80, 0x29, 0x00, 0x08, // ICE-CONTROLLED attribute header
            0x93, 0x2f, 0xf9, 0xb1, // }  Pseudo-random tie breaker...
            0x51, 0x26, 0x3b, 0x36, // }   ...for ICE control
            0x00, 0x06, 0x00, 0x09, // USERNAME attribute header
            0x65, 0x76, 0x74, 0x6a, // }
            0x3a, 0x68, 0x36, 0x76, // }  Username (9 bytes) and padding (3 bytes)
            0x59, 0x20, 0x20, 0x20, // }
            0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
            0x9a, 0xea, 0xa7, 0x0c, // }
            0xbf, 0xd8, 0xcb, 0x56, // }
            0x78, 0x1e, 0xf2, 0xb5, // }  HMAC-SHA1 fingerprint
            0xb2, 0xd3, 0xf2, 0x49, // }
            0xc1, 0xb5, 0x71, 0xa2, // }
            0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
            0xe5, 0x7a, 0x3b, 0xcf  // CRC32 fingerprint
    );

    /** RFC 5769 section 2.2: sample IPv4 response. */
    static final byte[] SAMPLE_IPV4_RESPONSE = bytes(
            0x01, 0x01, 0x00, 0x3c, // Response type and message length
            0x21, 0x12, 0xa4, 0x42, // Magic cookie
            0xb7, 0xe7, 0xa7, 0x01, // }
            0xbc, 0x34, 0xd6, 0x86, // }  Transaction ID
            0xfa, 0x87, 0xdf, 0xae, // }
            0x80, 0x22, 0x00, 0x0b, // SOFTWARE attribute header
            0x74, 0x65, 0x73, 0x74, // }
            0x20, 0x76, 0x65, 0x63, // }  UTF-8 server name
            0x74, 0x6f, 0x72, 0x20, // }
            0x00, 0x20, 0x00, 0x08, // XOR-MAPPED-ADDRESS attribute header
            0x00, 0x01, 0xa1, 0x47, // Address family (IPv4) and xor'd mapped port number
            0xe1, 0x12, 0xa6, 0x43, // Xor'd mapped IPv4 address
            0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
            0x2b, 0x91, 0xf5, 0x99, // }
            0xfd, 0x9e, 0x90, 0xc3, // }
            0x8c, 0x74, 0x89, 0xf9, // }  HMAC-SHA1 fingerprint
            0x2a, 0xf9, 0xba, 0x53, // }
            0xf0, 0x6b, 0xe7, 0xd7, // }
            0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
            0xc0, 0x7d, 0x4c, 0x96  // CRC32 fingerprint
    );

    /** RFC 5769 section 2.3: sample IPv6 response. */
    static final byte[] SAMPLE_IPV6_RESPONSE = bytes(
            0x01, 0x01, 0x00, 0x48, // Response type and message length
            0x21, 0x12, 0xa4, 0x42, // Magic cookie
            0xb7, 0xe7, 0xa7, 0x01, // }
            0xbc, 0x34, 0xd6, 0x86, // }  Transaction ID
            0xfa, 0x87, 0xdf, 0xae, // }
            0x80, 0x22, 0x00, 0x0b, // SOFTWARE attribute header
            0x74, 0x65, 0x73, 0x74, // }
            0x20, 0x76, 0x65, 0x63, // }  UTF-8 server name
            0x74, 0x6f, 0x72, 0x20, // }
            0x00, 0x20, 0x00, 0x14, // XOR-MAPPED-ADDRESS attribute header
            0x00, 0x02, 0xa1, 0x47, // Address family (IPv6) and xor'd mapped port number
            0x01, 0x13, 0xa9, 0xfa, // }
            0xa5, 0xd3, 0xf1, 0x79, // }  Xor'd mapped IPv6 address
            0xbc, 0x25, 0xf4, 0xb5, // }
            0xbe, 0xd2, 0xb9, 0xd9, // }
            0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
            0xa3, 0x82, 0x95, 0x4e, // }
            0x4b, 0xe6, 0x7b, 0xf1, // }
            0x17, 0x84, 0xc9, 0x7c, // }  HMAC-SHA1 fingerprint
            0x82, 0x92, 0xc2, 0x75, // }
            0xbf, 0xe3, 0xed, 0x41, // }
            0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
            0xc8, 0xfb, 0x0b, 0x4c  // CRC32 fingerprint
    );

    static final InetSocketAddress IPV4_MAPPED = new InetSocketAddress(address("192.0.2.1"), 32853);
    static final InetSocketAddress IPV6_MAPPED =
            new InetSocketAddress(address("2001:db8:1234:5678:11:2233:4455:6677"), 32853);

    @Test
    void parsesAndVerifiesSampleRequest() {
        ByteBuf packet = Unpooled.wrappedBuffer(SAMPLE_REQUEST);
        try {
            StunMessage msg = new StunMessage();
            assertEquals(StunParseResult.OK, msg.parse(packet));
            assertEquals(StunMessage.METHOD_BINDING, msg.method());
            assertEquals(StunMessage.CLASS_REQUEST, msg.messageClass());
            assertArrayEquals(TRANSACTION_ID, msg.transactionId());
            assertEquals("evtj:h6vY", msg.username());
            assertTrue(msg.hasPriority());
            assertEquals(0x6e0001ffL, msg.priority());
            assertTrue(msg.iceControlled());
            assertFalse(msg.iceControlling());
            assertEquals(0x932ff9b151263b36L, msg.tieBreaker());
            assertFalse(msg.useCandidate());
            assertEquals(-1, msg.errorCode());
            assertNull(msg.xorMappedAddress());
            assertEquals(76, msg.messageIntegrityOffset());
            assertEquals(100, msg.fingerprintOffset());
            assertTrue(Stun.looksLikeStun(packet));
            assertTrue(Stun.verifyMessageIntegrity(packet, msg, PASSWORD));
            assertTrue(Stun.verifyFingerprint(packet, msg));
            assertFalse(Stun.verifyMessageIntegrity(packet, msg, "wrong".getBytes(StandardCharsets.UTF_8)));
            assertEquals(0, packet.readerIndex());
            assertEquals(SAMPLE_REQUEST.length, packet.writerIndex());
        } finally {
            packet.release();
        }
    }

    @Test
    void parsesAndVerifiesSampleIpv4Response() {
        assertResponse(SAMPLE_IPV4_RESPONSE, IPV4_MAPPED);
    }

    @Test
    void parsesAndVerifiesSampleIpv6Response() {
        assertResponse(SAMPLE_IPV6_RESPONSE, IPV6_MAPPED);
    }

    @Test
    void offsetsAreRelativeToReaderIndexInDirectBuffer() {
        // Three bytes of something else in front, then the message, in a direct buffer.
        ByteBuf packet = Unpooled.directBuffer(3 + SAMPLE_REQUEST.length);
        try {
            packet.writeBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}).writeBytes(SAMPLE_REQUEST);
            packet.readerIndex(3);
            StunMessage msg = new StunMessage();
            assertEquals(StunParseResult.OK, msg.parse(packet));
            assertEquals(76, msg.messageIntegrityOffset());
            assertTrue(Stun.verifyMessageIntegrity(packet, msg, PASSWORD));
            assertTrue(Stun.verifyFingerprint(packet, msg));
            assertEquals(3, packet.readerIndex());
        } finally {
            packet.release();
        }
    }

    @Test
    void flippedBitFailsIntegrityAndFingerprint() {
        byte[] tampered = SAMPLE_REQUEST.clone();
        tampered[30] ^= 0x01; // inside SOFTWARE, covered by both MI and FINGERPRINT
        ByteBuf packet = Unpooled.wrappedBuffer(tampered);
        try {
            StunMessage msg = new StunMessage();
            assertEquals(StunParseResult.OK, msg.parse(packet));
            assertFalse(Stun.verifyMessageIntegrity(packet, msg, PASSWORD));
            assertFalse(Stun.verifyFingerprint(packet, msg));
        } finally {
            packet.release();
        }
    }

    @Test
    void writtenSuccessForSample22ParsesAndVerifies() {
        assertWrittenSuccess(IPV4_MAPPED, SAMPLE_IPV4_RESPONSE, 8);
    }

    @Test
    void writtenSuccessForSample23ParsesAndVerifies() {
        assertWrittenSuccess(IPV6_MAPPED, SAMPLE_IPV6_RESPONSE, 20);
    }

    private static void assertResponse(byte[] vector, InetSocketAddress expected) {
        ByteBuf packet = Unpooled.wrappedBuffer(vector);
        try {
            StunMessage msg = new StunMessage();
            assertEquals(StunParseResult.OK, msg.parse(packet));
            assertEquals(StunMessage.METHOD_BINDING, msg.method());
            assertEquals(StunMessage.CLASS_SUCCESS, msg.messageClass());
            assertArrayEquals(TRANSACTION_ID, msg.transactionId());
            assertEquals(expected, msg.xorMappedAddress());
            assertNull(msg.username());
            assertTrue(Stun.verifyMessageIntegrity(packet, msg, PASSWORD));
            assertTrue(Stun.verifyFingerprint(packet, msg));
        } finally {
            packet.release();
        }
    }

    /**
     * Our response has no SOFTWARE, so only the XOR-MAPPED-ADDRESS attribute can be compared
     * byte for byte with the RFC's (it starts at offset 36 there and 20 here).
     */
    private static void assertWrittenSuccess(InetSocketAddress mapped, byte[] vector, int addressValueLength) {
        ByteBuf out = Unpooled.buffer();
        try {
            Stun.writeBindingSuccess(out, TRANSACTION_ID, mapped, PASSWORD);
            StunMessage msg = new StunMessage();
            assertEquals(StunParseResult.OK, msg.parse(out));
            assertEquals(StunMessage.CLASS_SUCCESS, msg.messageClass());
            assertEquals(StunMessage.METHOD_BINDING, msg.method());
            assertArrayEquals(TRANSACTION_ID, msg.transactionId());
            assertEquals(mapped, msg.xorMappedAddress());
            assertTrue(Stun.verifyMessageIntegrity(out, msg, PASSWORD));
            assertTrue(Stun.verifyFingerprint(out, msg));
            assertEquals(0x0101, out.getUnsignedShort(0));
            byte[] attribute = new byte[4 + addressValueLength];
            out.getBytes(20, attribute);
            byte[] expected = new byte[attribute.length];
            System.arraycopy(vector, 36, expected, 0, expected.length);
            assertArrayEquals(expected, attribute);
        } finally {
            out.release();
        }
    }

    static byte[] bytes(int... values) {
        byte[] result = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = (byte) values[i];
        }
        return result;
    }

    static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
