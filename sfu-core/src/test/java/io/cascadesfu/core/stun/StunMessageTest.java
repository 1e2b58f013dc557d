package io.cascadesfu.core.stun;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.cascadesfu.core.stun.Rfc5769VectorsTest.PASSWORD;
import static io.cascadesfu.core.stun.Rfc5769VectorsTest.SAMPLE_REQUEST;
import static io.cascadesfu.core.stun.Rfc5769VectorsTest.TRANSACTION_ID;
import static io.cascadesfu.core.stun.Rfc5769VectorsTest.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StunMessageTest {

    private final StunMessage msg = new StunMessage();

    private StunParseResult parse(byte[] data) {
        ByteBuf packet = Unpooled.wrappedBuffer(data);
        try {
            return msg.parse(packet);
        } finally {
            packet.release();
        }
    }

    @Test
    void rejectsNonStunFirstByteAndMissingCookie() {
        byte[] rtp = SAMPLE_REQUEST.clone();
        rtp[0] = (byte) 0x80;
        assertEquals(StunParseResult.NOT_STUN, parse(rtp));
        byte[] noCookie = SAMPLE_REQUEST.clone();
        noCookie[4] = 0;
        assertEquals(StunParseResult.NOT_STUN, parse(noCookie));
        assertEquals(StunParseResult.NOT_STUN, parse(new byte[0]));
    }

    @Test
    void reportsTruncatedHeaderAndBody() {
        assertEquals(StunParseResult.TRUNCATED, parse(bytes(0x00, 0x01, 0x00)));
        byte[] cut = new byte[SAMPLE_REQUEST.length - 4];
        System.arraycopy(SAMPLE_REQUEST, 0, cut, 0, cut.length);
        assertEquals(StunParseResult.TRUNCATED, parse(cut));
    }

    @Test
    void rejectsAttributeAfterFingerprintAndBadLengths() {
        byte[] trailing = new byte[SAMPLE_REQUEST.length + 4];
        System.arraycopy(SAMPLE_REQUEST, 0, trailing, 0, SAMPLE_REQUEST.length);
        trailing[3] = 0x58 + 4; // length now covers an empty attribute after FINGERPRINT
        assertEquals(StunParseResult.MALFORMED, parse(trailing));

        byte[] oddLength = SAMPLE_REQUEST.clone();
        oddLength[3] = 0x57;
        assertEquals(StunParseResult.MALFORMED, parse(oddLength));

        byte[] badPriority = SAMPLE_REQUEST.clone();
        badPriority[43] = 0x08; // PRIORITY claims 8 bytes
        assertEquals(StunParseResult.MALFORMED, parse(badPriority));
    }

    @Test
    void looksLikeStunFollowsRfc7983() {
        ByteBuf packet = Unpooled.wrappedBuffer(SAMPLE_REQUEST);
        ByteBuf dtls = Unpooled.wrappedBuffer(bytes(0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        try {
            assertTrue(Stun.looksLikeStun(packet));
            assertFalse(Stun.looksLikeStun(dtls));
        } finally {
            packet.release();
            dtls.release();
        }
    }

    @Test
    void writesErrorWithAndWithoutIntegrity() {
        ByteBuf out = Unpooled.buffer();
        try {
            Stun.writeError(out, StunMessage.METHOD_BINDING, TRANSACTION_ID, 487, "Role Conflict", PASSWORD);
            assertEquals(StunParseResult.OK, msg.parse(out));
            assertEquals(StunMessage.CLASS_ERROR, msg.messageClass());
            assertEquals(StunMessage.METHOD_BINDING, msg.method());
            assertEquals(487, msg.errorCode());
            assertTrue(Stun.verifyMessageIntegrity(out, msg, PASSWORD));
            assertTrue(Stun.verifyFingerprint(out, msg));

            out.clear();
            Stun.writeError(out, StunMessage.METHOD_BINDING, TRANSACTION_ID, 401, "Unauthorized", null);
            assertEquals(StunParseResult.OK, msg.parse(out));
            assertEquals(401, msg.errorCode());
            assertEquals(-1, msg.messageIntegrityOffset());
            assertTrue(Stun.verifyFingerprint(out, msg));
        } finally {
            out.release();
        }
    }

    @Test
    void writesBindingRequestIntoDirectBufferAfterExistingBytes() {
        ByteBuf out = Unpooled.directBuffer(256);
        try {
            out.writeInt(0xdeadbeef);
            out.readerIndex(4);
            Stun.writeBindingRequest(out, TRANSACTION_ID, "evtj:h6vY", PASSWORD, 0x6e0001ffL, true, true, 42L);
            assertEquals(StunParseResult.OK, msg.parse(out));
            assertEquals("evtj:h6vY", msg.username());
            assertTrue(msg.useCandidate());
            assertTrue(msg.iceControlling());
            assertEquals(42L, msg.tieBreaker());
            assertTrue(Stun.verifyMessageIntegrity(out, msg, PASSWORD));
            assertTrue(Stun.verifyFingerprint(out, msg));
            assertFalse(Stun.verifyMessageIntegrity(out, msg, "other".getBytes(StandardCharsets.UTF_8)));
        } finally {
            out.release();
        }
    }
}
