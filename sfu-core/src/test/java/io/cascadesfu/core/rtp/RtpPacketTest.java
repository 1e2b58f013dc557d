package io.cascadesfu.core.rtp;

import static io.cascadesfu.core.rtp.TestBytes.array;
import static io.cascadesfu.core.rtp.TestBytes.buffer;
import static io.cascadesfu.core.rtp.TestBytes.readable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RtpPacketTest {

    /** CSRCs, one-byte extensions and padding, all at once. */
    static final int[] FULL_PACKET = {
        0xB2,                   // V=2, P=1, X=1, CC=2
        0xE0,                   // M=1, PT=96
        0x12, 0x34,             // sequence number 4660
        0x00, 0x01, 0xE2, 0x40, // timestamp 123456
        0x11, 0x22, 0x33, 0x44, // SSRC
        0xAA, 0xAA, 0xAA, 0xAA, // CSRC 1
        0xBB, 0xBB, 0xBB, 0xBB, // CSRC 2
        0xBE, 0xDE, 0x00, 0x02, // one-byte extension profile, length 2 words
        0x10, 0x5A,             //   ID 1, L=0: 1 byte of data
        0x22, 0x01, 0x02, 0x03, //   ID 2, L=2: 3 bytes of data
        0x00, 0x00,             //   padding to the word boundary
        0xDE, 0xAD, 0xBE, 0xEF, 0xCA, // payload, 5 bytes
        0x00, 0x00, 0x03,       // padding, count 3 in the last byte
    };

    /** Typed after a Chromium Opus packet: audio level, abs-send-time, transport-cc and mid extensions. */
    static final int[] CHROMIUM_OPUS = {
        0x90,                   // V=2, P=0, X=1, CC=0
        0x6F,                   // M=0, PT=111 (opus)
        0x3A, 0x7C,             // sequence number 14972
        0x5B, 0x2D, 0x11, 0x80, // timestamp
        0x8F, 0x2B, 0x6C, 0x01, // SSRC
        0xBE, 0xDE, 0x00, 0x03, // one-byte extension profile, length 3 words
        0x10, 0xFF,             //   ID 1 ssrc-audio-level, L=0: V=1, level 127 (silence)
        0x22, 0x4C, 0x1B, 0x33, //   ID 2 abs-send-time, L=2: 24-bit 6.18 fixed point
        0x31, 0x00, 0x05,       //   ID 3 transport-wide-cc, L=1: transport sequence 5
        0x40, 0x30,             //   ID 4 mid, L=0: "0"
        0x00,                   //   padding
        0xFC, 0xFF, 0xFE,       // Opus: TOC config 31, stereo=0, code 0 (one frame), then DTX-ish frame bytes
    };

    static final int[] TWO_BYTE_EXTENSIONS = {
        0x90, 0x60,             // V=2, X=1, PT=96
        0x00, 0x07,             // sequence number 7
        0x00, 0x00, 0x00, 0x64, // timestamp 100
        0x00, 0x00, 0x00, 0x05, // SSRC 5
        0x10, 0x00, 0x00, 0x02, // two-byte extension profile 0x1000, length 2 words
        0x01, 0x00,             //   ID 1, length 0
        0x14, 0x03, 0xAA, 0xBB, 0xCC, // ID 20, length 3
        0x00,                   //   padding
        0x42,                   // payload, 1 byte
    };

    @Test
    void parsesCsrcsExtensionsAndPadding() {
        ByteBuf buf = buffer(FULL_PACKET);
        try {
            int payloadOffset = RtpPacket.validate(buf);
            assertEquals(32, payloadOffset);
            assertEquals(2, RtpPacket.version(buf));
            assertTrue(RtpPacket.marker(buf));
            assertEquals(96, RtpPacket.payloadType(buf));
            assertEquals(0x1234, RtpPacket.sequenceNumber(buf));
            assertEquals(123456L, RtpPacket.timestamp(buf));
            assertEquals(0x11223344L, RtpPacket.ssrc(buf));
            assertEquals(2, RtpPacket.csrcCount(buf));
            assertEquals(0xBBBBBBBBL, RtpPacket.csrc(buf, 1));
            assertEquals(3, RtpPacket.paddingLength(buf));
            assertEquals(5, RtpPacket.payloadLength(buf, payloadOffset));
            assertEquals(0xDE, buf.getUnsignedByte(payloadOffset));
            assertEquals(RtpPacket.ONE_BYTE_PROFILE, RtpPacket.extensionProfile(buf));

            int level = RtpPacket.findExtension(buf, 1);
            assertEquals(25, level);
            assertEquals(1, RtpPacket.extensionLength(buf, level));
            assertEquals(0x5A, buf.getUnsignedByte(level));
            int absSendTime = RtpPacket.findExtension(buf, 2);
            assertEquals(27, absSendTime);
            assertEquals(3, RtpPacket.extensionLength(buf, absSendTime));
            assertEquals(-1, RtpPacket.findExtension(buf, 3));
        } finally {
            buf.release();
        }
    }

    @Test
    void offsetsAreRelativeToReaderIndex() {
        ByteBuf buf = Unpooled.buffer(FULL_PACKET.length + 3);
        try {
            buf.clear().writeZero(3).writeBytes(array(FULL_PACKET)).readerIndex(3);
            assertEquals(32, RtpPacket.validate(buf));
            assertEquals(0x1234, RtpPacket.sequenceNumber(buf));
            RtpPacket.setSequenceNumber(buf, 0xFFFF);
            assertEquals(0xFFFF, buf.getUnsignedShort(3 + 2));
            int absSendTime = RtpPacket.findExtension(buf, 2);
            assertEquals(27, absSendTime);
            assertEquals(0x010203, buf.getUnsignedMedium(buf.readerIndex() + absSendTime));
        } finally {
            buf.release();
        }
    }

    @Test
    void settersChangeOnlyTheirField() {
        ByteBuf buf = buffer(FULL_PACKET);
        try {
            RtpPacket.setPayloadType(buf, 100);
            RtpPacket.setSequenceNumber(buf, 65535);
            RtpPacket.setTimestamp(buf, 0xFFFF_FFFEL);
            RtpPacket.setSsrc(buf, 0xCAFEBABEL);
            assertTrue(RtpPacket.marker(buf), "marker kept by setPayloadType");
            assertEquals(100, RtpPacket.payloadType(buf));
            assertEquals(65535, RtpPacket.sequenceNumber(buf));
            assertEquals(0xFFFF_FFFEL, RtpPacket.timestamp(buf));
            assertEquals(0xCAFEBABEL, RtpPacket.ssrc(buf));
            RtpPacket.setMarker(buf, false);
            assertFalse(RtpPacket.marker(buf));
            assertEquals(100, RtpPacket.payloadType(buf));
            byte[] expectedTail = Arrays.copyOfRange(array(FULL_PACKET), 12, FULL_PACKET.length);
            assertArrayEquals(expectedTail, Arrays.copyOfRange(readable(buf), 12, FULL_PACKET.length));
        } finally {
            buf.release();
        }
    }

    @Test
    void parsesChromiumOpusPacket() {
        ByteBuf buf = buffer(CHROMIUM_OPUS);
        try {
            int payloadOffset = RtpPacket.validate(buf);
            assertEquals(28, payloadOffset);
            assertEquals(111, RtpPacket.payloadType(buf));
            assertEquals(3, RtpPacket.payloadLength(buf, payloadOffset));
            assertEquals(0, RtpPacket.paddingLength(buf));
            int tcc = RtpPacket.findExtension(buf, 3);
            assertEquals(2, RtpPacket.extensionLength(buf, tcc));
            assertEquals(5, buf.getUnsignedShort(tcc));
            int mid = RtpPacket.findExtension(buf, 4);
            assertEquals('0', buf.getByte(mid));
        } finally {
            buf.release();
        }
    }

    @Test
    void rejectsMalformedPackets() {
        assertRejected(RtpPacket.ERR_TOO_SHORT, 0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0); // 11 bytes
        assertRejected(RtpPacket.ERR_VERSION, 0x40, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1); // V=1
        assertRejected(RtpPacket.ERR_CSRC, 0x8F, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2); // CC=15, 1 CSRC
        assertRejected(RtpPacket.ERR_EXTENSION, 0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE); // no length
        assertRejected(RtpPacket.ERR_EXTENSION, 0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                0xBE, 0xDE, 0x00, 0x02, 0x10, 0x01, 0x00, 0x00); // 2 words announced, 1 present
        assertRejected(RtpPacket.ERR_PADDING, 0xA0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xAB, 0x00); // count 0
        assertRejected(RtpPacket.ERR_PADDING, 0xA0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xAB, 0x03); // 3 > 2 left
    }

    @Test
    void acceptsHeaderOnlyAndAllPaddingPackets() {
        ByteBuf headerOnly = buffer(0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1);
        ByteBuf allPadding = buffer(0xA0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4);
        try {
            assertEquals(12, RtpPacket.validate(headerOnly));
            assertEquals(0, RtpPacket.payloadLength(headerOnly, 12));
            assertEquals(12, RtpPacket.validate(allPadding));
            assertEquals(0, RtpPacket.payloadLength(allPadding, 12));
        } finally {
            headerOnly.release();
            allPadding.release();
        }
    }

    private static void assertRejected(int expectedError, int... bytes) {
        ByteBuf buf = buffer(bytes);
        try {
            assertEquals(expectedError, RtpPacket.validate(buf));
        } finally {
            buf.release();
        }
    }

    @Test
    void remapsAndRemovesOneByteExtensionsKeepingPacketValid() {
        ByteBuf buf = buffer(FULL_PACKET);
        try {
            byte[] idMap = new byte[16];
            idMap[1] = 5; // audio level: 1 -> 5
            idMap[2] = 0; // abs-send-time: removed
            RtpPacket.rewriteExtensionIds(buf, idMap);

            assertEquals(32, RtpPacket.validate(buf));
            assertEquals(-1, RtpPacket.findExtension(buf, 1));
            assertEquals(-1, RtpPacket.findExtension(buf, 2));
            int level = RtpPacket.findExtension(buf, 5);
            assertEquals(25, level);
            assertEquals(0x5A, buf.getUnsignedByte(level));
            byte[] expected = array(FULL_PACKET);
            expected[24] = 0x50;                  // ID 5, L=0
            Arrays.fill(expected, 26, 30, (byte) 0); // removed element became padding
            assertArrayEquals(expected, readable(buf));
        } finally {
            buf.release();
        }
    }

    @Test
    void removesIdsOutsideTheMapAndIdsTheOneByteFormCannotCarry() {
        ByteBuf buf = buffer(CHROMIUM_OPUS);
        try {
            byte[] idMap = {0, 1, 15}; // 1 stays, 2 -> 15 (reserved: removed), 3 and 4 beyond the map: removed
            RtpPacket.rewriteExtensionIds(buf, idMap);
            assertEquals(28, RtpPacket.validate(buf));
            assertEquals(17, RtpPacket.findExtension(buf, 1));
            for (int id = 2; id < 15; id++) {
                assertEquals(-1, RtpPacket.findExtension(buf, id));
            }
            assertArrayEquals(array(0xFC, 0xFF, 0xFE), Arrays.copyOfRange(readable(buf), 28, 31));
        } finally {
            buf.release();
        }
    }

    @Test
    void findsRemapsAndRemovesTwoByteExtensions() {
        ByteBuf buf = buffer(TWO_BYTE_EXTENSIONS);
        try {
            assertEquals(24, RtpPacket.validate(buf));
            int empty = RtpPacket.findExtension(buf, 1);
            assertEquals(18, empty);
            assertEquals(0, RtpPacket.extensionLength(buf, empty));
            int twenty = RtpPacket.findExtension(buf, 20);
            assertEquals(20, twenty);
            assertEquals(3, RtpPacket.extensionLength(buf, twenty));

            byte[] idMap = new byte[256];
            idMap[20] = (byte) 200;
            RtpPacket.rewriteExtensionIds(buf, idMap); // 1 -> removed, 20 -> 200

            assertEquals(24, RtpPacket.validate(buf));
            assertEquals(-1, RtpPacket.findExtension(buf, 1));
            assertEquals(-1, RtpPacket.findExtension(buf, 20));
            int moved = RtpPacket.findExtension(buf, 200);
            assertEquals(20, moved);
            assertEquals(3, RtpPacket.extensionLength(buf, moved));
            assertEquals(0xAABBCC, buf.getUnsignedMedium(moved));
            assertEquals(0x42, buf.getUnsignedByte(24));
        } finally {
            buf.release();
        }
    }

    @Test
    void leavesUnknownExtensionProfilesAlone() {
        ByteBuf buf = buffer(0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                0xAB, 0xCD, 0x00, 0x01, // some other profile, 1 word
                0x11, 0x22, 0x33, 0x44);
        try {
            byte[] before = readable(buf);
            RtpPacket.rewriteExtensionIds(buf, new byte[16]);
            assertArrayEquals(before, readable(buf));
            assertEquals(-1, RtpPacket.findExtension(buf, 1));
        } finally {
            buf.release();
        }
    }

    // ------------------------------------------------------------------ writeHeader: ids mapped, one element added

    private static final byte[] MID_12 = {'1', '2'};

    /** The header writeHeader gives {@code src}, then the payload (and padding) copied after it, as a consumer does. */
    private static byte[] writeHeaderThenPayload(int[] src, byte[] idMap, int addId, byte[] addData) {
        ByteBuf in = buffer(src);
        ByteBuf out = Unpooled.buffer(src.length + RtpPacket.addedHeaderBytes(addData == null ? 0 : addData.length));
        try {
            int payloadOffset = RtpPacket.validate(in);
            int outPayloadOffset = RtpPacket.writeHeader(in, payloadOffset, out, idMap, addId, addData);
            assertEquals(outPayloadOffset, out.readableBytes(), "returns the header length");
            out.writeBytes(in, payloadOffset, in.readableBytes() - payloadOffset);
            assertEquals(outPayloadOffset, RtpPacket.validate(out), "a valid packet with the payload after it");
            assertArrayEquals(array(src), readable(in), "the source is not modified");
            return readable(out);
        } finally {
            in.release();
            out.release();
        }
    }

    @Test
    void writeHeaderAddsTheElementAfterTheLastKeptOneInTheBlocksPadding() {
        byte[] idMap = new byte[16];
        idMap[1] = 3; // 1 -> 3, 2 removed
        byte[] out = writeHeaderThenPayload(FULL_PACKET, idMap, 4, MID_12);

        assertArrayEquals(array(
                0xB2, 0xE0, 0x12, 0x34, 0x00, 0x01, 0xE2, 0x40, 0x11, 0x22, 0x33, 0x44, // as in FULL_PACKET
                0xAA, 0xAA, 0xAA, 0xAA, 0xBB, 0xBB, 0xBB, 0xBB,                         // CSRCs
                0xBE, 0xDE, 0x00, 0x02, // one-byte profile, still 2 words
                0x30, 0x5A,             //   ID 3 (was 1), L=0
                0x41, '1', '2',         //   ID 4, L=1: the mid "12", where the removed element was
                0x00, 0x00, 0x00,       //   padding
                0xDE, 0xAD, 0xBE, 0xEF, 0xCA, 0x00, 0x00, 0x03), out); // payload and padding as they were
    }

    @Test
    void writeHeaderMakesAOneByteBlockForAPacketWithoutExtensions() {
        int[] plain = {0x80, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x05, 0x42, 0x43};
        byte[] out = writeHeaderThenPayload(plain, new byte[16], 4, MID_12);

        assertArrayEquals(array(
                0x90, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x05, // X set
                0xBE, 0xDE, 0x00, 0x01, // one-byte profile, 1 word
                0x41, '1', '2', 0x00,   //   ID 4, L=1, "12", padding
                0x42, 0x43), out);
        assertArrayEquals(array(plain), writeHeaderThenPayload(plain, new byte[16], 0, null), "nothing to add");
    }

    @Test
    void writeHeaderAddsATwoByteElementToATwoByteBlock() {
        byte[] idMap = new byte[256];
        idMap[20] = (byte) 200;
        byte[] out = writeHeaderThenPayload(TWO_BYTE_EXTENSIONS, idMap, 4, MID_12);

        assertArrayEquals(array(
                0x90, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x05,
                0x10, 0x00, 0x00, 0x03, // two-byte profile, now 3 words
                0x00, 0x00,             //   ID 1 removed
                0xC8, 0x03, 0xAA, 0xBB, 0xCC, // ID 200 (was 20), length 3
                0x04, 0x02, '1', '2',   //   ID 4, length 2: the mid
                0x00,                   //   padding
                0x42), out);
    }

    @Test
    void writeHeaderWithoutAnElementMapsIdsAsRewriteExtensionIdsDoes() {
        byte[] idMap = new byte[16];
        idMap[1] = 5;
        ByteBuf rewritten = buffer(FULL_PACKET);
        try {
            RtpPacket.rewriteExtensionIds(rewritten, idMap);
            assertArrayEquals(readable(rewritten), writeHeaderThenPayload(FULL_PACKET, idMap, 0, null));
        } finally {
            rewritten.release();
        }
    }

    @Test
    void writeHeaderLeavesOutAnElementTheFormCannotCarryAndUnknownProfilesAlone() {
        assertArrayEquals(array(FULL_PACKET), writeHeaderThenPayload(FULL_PACKET, identity(), 15, MID_12),
                "id 15 is reserved in the one-byte form");
        assertArrayEquals(array(FULL_PACKET), writeHeaderThenPayload(FULL_PACKET, identity(), 4, new byte[17]),
                "the one-byte form carries at most 16 bytes");
        int[] other = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xAB, 0xCD, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44};
        assertArrayEquals(array(other), writeHeaderThenPayload(other, identity(), 4, MID_12));
    }

    private static byte[] identity() {
        byte[] ids = new byte[256];
        for (int i = 0; i < 256; i++) {
            ids[i] = (byte) i;
        }
        return ids;
    }
}
