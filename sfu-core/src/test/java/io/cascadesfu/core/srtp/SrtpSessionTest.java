package io.cascadesfu.core.srtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import io.cascadesfu.core.dtls.SrtpKeys;
import io.cascadesfu.core.dtls.SrtpProfile;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class SrtpSessionTest {

    private static final int SSRC = 0x1234abcd;

    /** Keys as both ends of one DTLS handshake would export them. */
    static SrtpSession[] pair(SrtpProfile profile, long seed) {
        byte[] material = new byte[SrtpKeys.keyingMaterialLength(profile)];
        new Random(seed).nextBytes(material);
        SrtpKeys client = SrtpKeys.fromKeyingMaterial(profile, material, true);
        SrtpKeys server = SrtpKeys.fromKeyingMaterial(profile, material, false);
        return new SrtpSession[] {new SrtpSession(client), new SrtpSession(server)};
    }

    /** RTP: V=2, PT=96, the given sequence number, timestamp 0x01020304, SSRC, then a payload. */
    static byte[] rtp(int ssrc, int sequence, int payloadLength) {
        byte[] packet = new byte[12 + payloadLength];
        packet[0] = (byte) 0x80;                  // V=2, P=0, X=0, CC=0
        packet[1] = 96;                           // M=0, PT=96
        packet[2] = (byte) (sequence >> 8);       // sequence number
        packet[3] = (byte) sequence;
        packet[4] = 1;                            // timestamp
        packet[5] = 2;
        packet[6] = 3;
        packet[7] = 4;
        packet[8] = (byte) (ssrc >> 24);          // SSRC
        packet[9] = (byte) (ssrc >> 16);
        packet[10] = (byte) (ssrc >> 8);
        packet[11] = (byte) ssrc;
        for (int i = 12; i < packet.length; i++) {
            packet[i] = (byte) (i * 7 + sequence);
        }
        return packet;
    }

    /** RTCP receiver report with one report block (32 bytes). */
    static byte[] rtcp(int ssrc) {
        byte[] packet = new byte[32];
        packet[0] = (byte) 0x81;                  // V=2, P=0, RC=1
        packet[1] = (byte) 201;                   // PT=RR
        packet[3] = 7;                            // length in words - 1
        packet[4] = (byte) (ssrc >> 24);          // sender SSRC
        packet[5] = (byte) (ssrc >> 16);
        packet[6] = (byte) (ssrc >> 8);
        packet[7] = (byte) ssrc;
        for (int i = 8; i < packet.length; i++) {  // report block
            packet[i] = (byte) i;
        }
        return packet;
    }

    static ByteBuf buffer(boolean direct, byte[] bytes) {
        // Pooled buffers have a non-zero arrayOffset, which exercises the heap path properly.
        ByteBufAllocator allocator = PooledByteBufAllocator.DEFAULT;
        ByteBuf buf = direct ? allocator.directBuffer(bytes.length + 64) : allocator.heapBuffer(bytes.length + 64);
        buf.writerIndex(5).readerIndex(5); // a non-zero readerIndex
        buf.writeBytes(bytes);
        return buf;
    }

    static byte[] bytes(ByteBuf buf) {
        byte[] out = new byte[buf.readableBytes()];
        buf.getBytes(buf.readerIndex(), out);
        return out;
    }

    static Stream<Arguments> profilesAndBuffers() {
        return Stream.of(SrtpProfile.values())
            .flatMap(p -> Stream.of(Arguments.of(p, false), Arguments.of(p, true)));
    }

    @ParameterizedTest(name = "{0} direct={1}")
    @MethodSource("profilesAndBuffers")
    void roundTripsRtpAndRtcpInBothDirections(SrtpProfile profile, boolean direct) {
        SrtpSession[] sessions = pair(profile, 1);
        for (int i = 0; i < 2; i++) {
            SrtpSession sender = sessions[i];
            SrtpSession receiver = sessions[1 - i];
            for (int seq = 100; seq < 110; seq++) {
                byte[] plain = rtp(SSRC + i, seq, 200 + seq);
                ByteBuf buf = buffer(direct, plain);
                try {
                    assertEquals(SrtpResult.OK, sender.protectRtp(buf));
                    assertEquals(plain.length + profile.authTagLength(), buf.readableBytes());
                    assertNotEquals(Arrays.toString(plain), Arrays.toString(Arrays.copyOf(bytes(buf), plain.length)));
                    assertEquals(SrtpResult.OK, receiver.unprotectRtp(buf));
                    assertArrayEquals(plain, bytes(buf));
                } finally {
                    buf.release();
                }
            }
            for (int n = 0; n < 5; n++) {
                byte[] plain = rtcp(SSRC + i);
                ByteBuf buf = buffer(direct, plain);
                try {
                    assertEquals(SrtpResult.OK, sender.protectRtcp(buf));
                    assertEquals(plain.length + 4 + profile.authTagLength(), buf.readableBytes());
                    assertEquals(SrtpResult.OK, receiver.unprotectRtcp(buf));
                    assertArrayEquals(plain, bytes(buf));
                } finally {
                    buf.release();
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void rejectsReplayedRtpAndRtcp(SrtpProfile profile) {
        SrtpSession[] s = pair(profile, 2);
        byte[] protectedRtp = protect(s[0], rtp(SSRC, 5, 100), false);
        assertEquals(SrtpResult.OK, unprotect(s[1], protectedRtp, false, false));
        assertEquals(SrtpResult.REPLAY, unprotect(s[1], protectedRtp, false, false));

        byte[] protectedRtcp = protect(s[0], rtcp(SSRC), true);
        assertEquals(SrtpResult.OK, unprotect(s[1], protectedRtcp, true, true));
        assertEquals(SrtpResult.REPLAY, unprotect(s[1], protectedRtcp, true, true));
    }

    @ParameterizedTest(name = "{0} direct={1}")
    @MethodSource("profilesAndBuffers")
    void flippedBitFailsAuthenticationAndLeavesBufferAsItWas(SrtpProfile profile, boolean direct) {
        SrtpSession[] s = pair(profile, 3);
        byte[] good = protect(s[0], rtp(SSRC, 9, 300), false);
        for (int bit : new int[] {8 * 20 + 3, 8 * (good.length - 1)}) {
            byte[] bad = good.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            ByteBuf buf = buffer(direct, bad);
            try {
                int writerIndex = buf.writerIndex();
                assertEquals(SrtpResult.AUTH_FAIL, s[1].unprotectRtp(buf));
                assertEquals(writerIndex, buf.writerIndex());
                if (direct) { // a heap buffer is decrypted in place: OpenSSL's GCM writes before it checks the tag
                    assertArrayEquals(bad, bytes(buf));
                }
            } finally {
                buf.release();
            }
        }
        // The untouched packet still decrypts: failed attempts did not poison the context.
        assertEquals(SrtpResult.OK, unprotect(s[1], good, direct, false));

        byte[] rtcp = protect(s[0], rtcp(SSRC), true);
        rtcp[12] ^= 0x40;
        assertEquals(SrtpResult.AUTH_FAIL, unprotect(s[1], rtcp, direct, true));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void truncatedPacketsFailWithoutException(SrtpProfile profile) {
        SrtpSession[] s = pair(profile, 4);
        byte[] rtpPacket = protect(s[0], rtp(SSRC, 1, 50), false);
        byte[] rtcpPacket = protect(s[0], rtcp(SSRC), true);
        for (int len = 0; len < rtpPacket.length; len++) {
            SrtpResult r = unprotect(s[1], Arrays.copyOf(rtpPacket, len), len % 2 == 0, false);
            assertTrue(r == SrtpResult.INVALID || r == SrtpResult.FAIL || r == SrtpResult.AUTH_FAIL, "rtp " + len + ": " + r);
        }
        for (int len = 0; len < rtcpPacket.length; len++) {
            SrtpResult r = unprotect(s[1], Arrays.copyOf(rtcpPacket, len), len % 2 == 0, true);
            assertTrue(r == SrtpResult.INVALID || r == SrtpResult.FAIL || r == SrtpResult.AUTH_FAIL, "rtcp " + len + ": " + r);
        }
        assertEquals(SrtpResult.INVALID, s[0].protectRtp(Unpooled.wrappedBuffer(new byte[11])));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void decryptsAcrossSequenceNumberWrap(SrtpProfile profile) {
        SrtpSession[] s = pair(profile, 5);
        int seq = 65530;
        for (int n = 0; n < 20; n++, seq = (seq + 1) & 0xFFFF) {
            byte[] plain = rtp(SSRC, seq, 80);
            ByteBuf buf = buffer(n % 2 == 0, plain);
            try {
                assertEquals(SrtpResult.OK, s[0].protectRtp(buf));
                assertEquals(SrtpResult.OK, s[1].unprotectRtp(buf), "seq " + seq);
                assertArrayEquals(plain, bytes(buf));
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void capsSsrcContextsButStillAcceptsKnownStreams() {
        SrtpSession[] s = pair(SrtpProfile.AEAD_AES_128_GCM, 6);
        for (int i = 0; i < SrtpSession.MAX_RECEIVE_SSRCS; i++) {
            assertEquals(SrtpResult.OK, unprotect(s[1], protect(s[0], rtp(1000 + i, 1, 10), false), false, false));
        }
        SrtpSession otherSender = pair(SrtpProfile.AEAD_AES_128_GCM, 6)[0]; // same keys, no contexts yet
        byte[] tooMany = protect(otherSender, rtp(5000, 1, 10), false);
        assertEquals(SrtpResult.INVALID, unprotect(s[1], tooMany, false, false));
        assertEquals(SrtpResult.OK, unprotect(s[1], protect(s[0], rtp(1000, 2, 10), false), false, false));
    }

    @Test
    void protectsHundredsOfOwnStreamsAndForgetsEndedOnes() {
        SrtpSession[] s = pair(SrtpProfile.AEAD_AES_128_GCM, 9);
        // A subscriber in a large audio room: one SSRC of ours per remote participant (here more than the
        // old cap of 64, within what the receiving test peer accepts).
        for (int i = 0; i < 200; i++) {
            assertEquals(SrtpResult.OK, unprotect(s[1], protect(s[0], rtp(7000 + i, 1, 10), false), false, false));
        }
        s[0].forgetSendSsrc(7000);
        // A consumer made later with the same SSRC starts a fresh context; the peer's receive context for
        // that SSRC is still at sequence 1, so a later sequence number decrypts.
        assertEquals(SrtpResult.OK, unprotect(s[1], protect(s[0], rtp(7000, 2, 10), false), false, false));
    }

    @Test
    void garbageSsrcsDoNotConsumeReceiveContexts() {
        SrtpSession[] s = pair(SrtpProfile.AES_CM_128_HMAC_SHA1_80, 7);
        Random random = new Random(7);
        for (int i = 0; i < 3 * SrtpSession.MAX_RECEIVE_SSRCS; i++) {
            byte[] garbage = rtp(random.nextInt(), i, 40);
            assertEquals(SrtpResult.AUTH_FAIL, unprotect(s[1], garbage, false, false));
        }
        assertEquals(SrtpResult.OK, unprotect(s[1], protect(s[0], rtp(SSRC, 1, 10), false), false, false));
    }

    @Test
    void growsBufferWhenCallerLeftNoRoom() {
        SrtpSession[] s = pair(SrtpProfile.AEAD_AES_128_GCM, 8);
        byte[] plain = rtp(SSRC, 1, 30);
        ByteBuf buf = Unpooled.buffer(plain.length, 2048).writeBytes(plain);
        try {
            assertEquals(SrtpResult.OK, s[0].protectRtp(buf));
            assertEquals(SrtpResult.OK, s[1].unprotectRtp(buf));
            assertArrayEquals(plain, bytes(buf));
        } finally {
            buf.release();
        }
    }

    private static byte[] protect(SrtpSession session, byte[] plain, boolean rtcp) {
        ByteBuf buf = buffer(false, plain);
        try {
            assertEquals(SrtpResult.OK, rtcp ? session.protectRtcp(buf) : session.protectRtp(buf));
            return bytes(buf);
        } finally {
            buf.release();
        }
    }

    private static SrtpResult unprotect(SrtpSession session, byte[] packet, boolean direct, boolean rtcp) {
        ByteBuf buf = buffer(direct, packet);
        try {
            return rtcp ? session.unprotectRtcp(buf) : session.unprotectRtp(buf);
        } finally {
            buf.release();
        }
    }
}
