package io.cascadesfu.core.rtp;

import static io.cascadesfu.core.rtp.TestBytes.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

class KeyframesTest {

    /** Typed after the first packet of a Chromium VP8 simulcast keyframe (640x480). */
    static final int[] CHROMIUM_VP8_KEYFRAME = {
        0x90,                   // V=2, P=0, X=1, CC=0
        0x60,                   // M=0, PT=96 (VP8)
        0x1F, 0x40,             // sequence number 8000
        0x00, 0x9A, 0x7E, 0xC0, // timestamp
        0x2A, 0x5C, 0x33, 0x90, // SSRC
        0xBE, 0xDE, 0x00, 0x02, // one-byte extension profile, length 2 words
        0x31, 0x00, 0x2A,       //   ID 3 transport-wide-cc, L=1: sequence 42
        0x22, 0x4C, 0x1B, 0x33, //   ID 2 abs-send-time, L=2
        0x00,                   //   padding
        0x90,                   // VP8 descriptor: X=1, R=0, N=0, S=1, PID=0
        0xE0,                   //   I=1, L=1, T=1, K=0
        0x81, 0x23,             //   M=1, 15-bit PictureID 0x0123
        0x45,                   //   TL0PICIDX 69
        0x20,                   //   TID=0, Y=1, KEYIDX=0
        0x50,                   // VP8 payload header: Size0=2, H(show_frame)=1, VER=0, P=0 (key frame)
        0x2F, 0x01,             //   Size1, Size2
        0x9D, 0x01, 0x2A,       //   key frame start code
        0x80, 0x02, 0xE0, 0x01, //   width 640, height 480 (14 bits + scale)
    };

    @Test
    void detectsChromiumVp8Keyframe() {
        ByteBuf buf = buffer(CHROMIUM_VP8_KEYFRAME);
        try {
            int offset = RtpPacket.validate(buf);
            assertEquals(24, offset);
            assertTrue(Keyframes.isKeyframe(buf, offset, RtpPacket.payloadLength(buf, offset), Codec.VP8));
            assertFalse(Keyframes.isKeyframe(buf, offset, RtpPacket.payloadLength(buf, offset), Codec.OPUS));
        } finally {
            buf.release();
        }
    }

    @Test
    void vp8DeltaFramesAndContinuationsAreNotKeyframes() {
        assertVp8(false, 0x90, 0xE0, 0x81, 0x23, 0x45, 0x20, 0x51);        // P=1: interframe
        assertVp8(false, 0x80, 0xE0, 0x81, 0x23, 0x45, 0x20, 0x50);        // S=0: not the partition start
        assertVp8(false, 0x91, 0xE0, 0x81, 0x23, 0x45, 0x20, 0x50);        // PID=1
        assertVp8(true, 0x10, 0x50, 0x2F, 0x01);                           // no X byte, key frame
        assertVp8(true, 0x90, 0x80, 0x05, 0x50);                           // 7-bit PictureID only
        assertVp8(false, 0x90, 0xE0, 0x81, 0x23, 0x45, 0x20);              // descriptor only, truncated
    }

    private static void assertVp8(boolean expected, int... payload) {
        ByteBuf buf = buffer(payload);
        try {
            assertEquals(expected, Keyframes.isKeyframe(buf, 0, payload.length, Codec.VP8));
        } finally {
            buf.release();
        }
    }

    @Test
    void detectsH264Keyframes() {
        assertH264(true, 0x65, 0x88, 0x84);                       // single NAL, type 5 (IDR slice)
        assertH264(true, 0x67, 0x42, 0xC0, 0x1F);                 // single NAL, type 7 (SPS)
        assertH264(false, 0x41, 0x9A, 0x02);                      // single NAL, type 1 (non-IDR slice)
        assertH264(true,
                0x78,                                             // STAP-A (F=0, NRI=3, type 24)
                0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F,               //   size 4, SPS
                0x00, 0x02, 0x68, 0xCE);                          //   size 2, PPS
        assertH264(false, 0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x06, 0x05); // STAP-A of PPS + SEI
        assertH264(false, 0x78, 0x00, 0x09, 0x67, 0x42);          // STAP-A size past the end
        assertH264(true, 0x7C, 0x85, 0xB8, 0x00);                 // FU-A, FU header S=1 type 5
        assertH264(false, 0x7C, 0x05, 0xB8, 0x00);                // FU-A continuation of an IDR
        assertH264(false, 0x7C, 0x81, 0x9A);                      // FU-A start of a non-IDR slice
        assertH264(false, 0x7C);                                  // FU-A without its header
    }

    private static void assertH264(boolean expected, int... payload) {
        ByteBuf buf = buffer(payload);
        try {
            assertEquals(expected, Keyframes.isKeyframe(buf, 0, payload.length, Codec.H264));
        } finally {
            buf.release();
        }
    }

    @Test
    void detectsVp9AndAv1Keyframes() {
        assertCodec(true, Codec.VP9, 0x88, 0x00);                  // I=0 P=0 L=0 B=1
        assertCodec(false, Codec.VP9, 0xC8, 0x01, 0x00);           // P=1: inter-predicted
        assertCodec(true, Codec.VP9, 0xA8, 0x81, 0x23, 0x00, 0x00); // I, L: SID 0
        assertCodec(false, Codec.VP9, 0xA8, 0x81, 0x23, 0x02, 0x00); // SID 1
        assertCodec(true, Codec.AV1, 0x18, 0x0A);                  // W=1, N=1
        assertCodec(false, Codec.AV1, 0x10, 0x32);                 // W=1, N=0
    }

    private static void assertCodec(boolean expected, Codec codec, int... payload) {
        ByteBuf buf = buffer(payload);
        try {
            assertEquals(expected, Keyframes.isKeyframe(buf, 0, payload.length, codec));
        } finally {
            buf.release();
        }
    }

    @Test
    void rejectsOutOfRangeArguments() {
        ByteBuf buf = buffer(0x10, 0x50);
        try {
            assertFalse(Keyframes.isKeyframe(buf, -1, 2, Codec.VP8));
            assertFalse(Keyframes.isKeyframe(buf, 0, 3, Codec.VP8));
            assertFalse(Keyframes.isKeyframe(buf, 1, Integer.MAX_VALUE, Codec.VP8));
            assertFalse(Keyframes.isKeyframe(buf, 0, 0, Codec.VP8));
            assertFalse(Keyframes.isKeyframe(buf, 0, 2, null));
        } finally {
            buf.release();
        }
    }

    @Test
    void mapsRtpmapNames() {
        assertEquals(Codec.OPUS, Codec.fromName("opus"));
        assertEquals(Codec.VP8, Codec.fromName("VP8"));
        assertEquals(Codec.VP9, Codec.fromName("vp9/90000"));
        assertEquals(Codec.H264, Codec.fromName("H264"));
        assertEquals(Codec.AV1, Codec.fromName("AV1"));
        assertEquals(Codec.UNKNOWN, Codec.fromName("red"));
        assertEquals(Codec.UNKNOWN, Codec.fromName(null));
        assertTrue(Codec.VP8.isVideo());
        assertFalse(Codec.OPUS.isVideo());
        assertFalse(Codec.UNKNOWN.isVideo());
    }
}
