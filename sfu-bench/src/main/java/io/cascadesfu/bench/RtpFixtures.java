package io.cascadesfu.bench;

import io.cascadesfu.core.dtls.SrtpKeys;
import io.cascadesfu.core.dtls.SrtpProfile;
import io.cascadesfu.core.rtp.RtpPacket;
import io.netty.buffer.ByteBuf;
import java.util.Random;

/**
 * Packets as Chromium sends them, built field by field, shared by the benchmarks. Seeded: every run sees the same
 * bytes.
 *
 * <p>VP8 video, 1200 bytes:
 * <pre>
 *  0x90 0xE0            V=2 P=0 X=1 CC=0 | M=1 (set per frame end) PT=96
 *  seq(2) ts(4) ssrc(4)
 *  0xBE 0xDE 0x00 0x03  RFC 8285 one-byte form, 3 words
 *  0x40 '0'             id 4 (mid, RFC 8843) L=0: "0"
 *  0x22 ast(3)          id 2 (abs-send-time) L=2
 *  0x31 twcc(2)         id 3 (transport-wide-cc-01) L=1
 *  0x00 0x00 0x00       padding to the word
 *  VP8 payload descriptor (RFC 7741 4.2):
 *  0x90                 X=1 S=1 PID=0
 *  0xE0                 I=1 L=1 T=1
 *  0x80|pid(15 bits)    M=1 PictureID
 *  tl0picidx            TL0PICIDX
 *  0x20                 TID=0 Y=1 KEYIDX=0
 *  0x10 or 0x11         VP8 payload header: P=0 keyframe, P=1 interframe (followed by 0x9d 0x01 0x2a on a key)
 *  random bytes         the rest of the 1200
 * </pre>
 *
 * <p>Opus audio: the same extensions plus ssrc-audio-level (id 1), PT=111, 160 bytes in all (about 32 kbit/s at
 * 20 ms per packet, Chromium's default).
 */
public final class RtpFixtures {

    /** Bytes of the VP8 packet (header, extension and payload). */
    public static final int VIDEO_PACKET_LENGTH = 1200;
    /** Bytes of the Opus packet. */
    public static final int AUDIO_PACKET_LENGTH = 160;

    public static final int VIDEO_PT = 96;
    public static final int AUDIO_PT = 111;
    public static final long VIDEO_SSRC = 0x1A2B3C4DL;
    public static final long AUDIO_SSRC = 0x0BADCAFEL;

    /** Publisher's extension ids (Chromium's defaults). */
    public static final int EXT_AUDIO_LEVEL = 1;
    public static final int EXT_ABS_SEND_TIME = 2;
    public static final int EXT_TWCC = 3;
    public static final int EXT_MID = 4;

    /** Offset of the VP8 payload header byte (after the 12-byte header, the 16-byte extension block and the 6-byte descriptor). */
    static final int VP8_PAYLOAD_HEADER_OFFSET = 12 + 16 + 6;
    private static final int VP8_PICTURE_ID_OFFSET = 12 + 16 + 2;

    private RtpFixtures() {
    }

    /** Writes a VP8 packet of {@link #VIDEO_PACKET_LENGTH} bytes at the writerIndex of {@code out}. */
    public static void writeVp8(ByteBuf out, int seq, long timestamp, boolean keyframe, boolean marker) {
        int start = out.writerIndex();
        out.writeByte(0x90);                                   // V=2, X=1
        out.writeByte((marker ? 0x80 : 0) | VIDEO_PT);
        out.writeShort(seq);
        out.writeInt((int) timestamp);
        out.writeInt((int) VIDEO_SSRC);
        out.writeShort(RtpPacket.ONE_BYTE_PROFILE);
        out.writeShort(3);                                     // 3 words of elements
        out.writeByte(EXT_MID << 4).writeByte('0');
        out.writeByte(EXT_ABS_SEND_TIME << 4 | 2).writeMedium(0x12_3456);
        out.writeByte(EXT_TWCC << 4 | 1).writeShort(seq);
        out.writeZero(3);
        out.writeByte(0x90);                                   // X=1, S=1, PID=0
        out.writeByte(0xE0);                                   // I, L, T present
        out.writeShort(0x8000 | (seq & 0x7FFF));               // 15-bit PictureID
        out.writeByte(seq & 0xFF);                             // TL0PICIDX
        out.writeByte(0x20);                                   // TID=0, Y=1
        out.writeByte(keyframe ? 0x10 : 0x11);                 // P=0 on a keyframe
        if (keyframe) {
            out.writeByte(0x9d).writeByte(0x01).writeByte(0x2a); // VP8 key frame start code
        }
        fillRandom(out, start + VIDEO_PACKET_LENGTH - out.writerIndex(), seq);
    }

    /** Writes an Opus packet of {@link #AUDIO_PACKET_LENGTH} bytes at the writerIndex of {@code out}. */
    public static void writeOpus(ByteBuf out, int seq, long timestamp) {
        int start = out.writerIndex();
        out.writeByte(0x90);
        out.writeByte(AUDIO_PT);
        out.writeShort(seq);
        out.writeInt((int) timestamp);
        out.writeInt((int) AUDIO_SSRC);
        out.writeShort(RtpPacket.ONE_BYTE_PROFILE);
        out.writeShort(3);
        out.writeByte(EXT_AUDIO_LEVEL << 4).writeByte(0x80 | 40);  // V=1, -40 dBov
        out.writeByte(EXT_MID << 4).writeByte('1');
        out.writeByte(EXT_ABS_SEND_TIME << 4 | 2).writeMedium(0x12_3456);
        out.writeByte(EXT_TWCC << 4 | 1).writeShort(seq);
        out.writeZero(1);
        out.writeByte(0x78);                                   // Opus TOC: SILK+CELT hybrid FB 20 ms, 1 frame
        fillRandom(out, start + AUDIO_PACKET_LENGTH - out.writerIndex(), seq);
    }

    /** Turns the VP8 packet at readerIndex into a keyframe or an interframe, in place (P bit only). */
    static void setVp8Keyframe(ByteBuf buf, boolean keyframe) {
        int at = buf.readerIndex() + VP8_PAYLOAD_HEADER_OFFSET;
        buf.setByte(at, keyframe ? 0x10 : 0x11);
    }

    /** Stamps the next packet of a stream on the packet at readerIndex: sequence number and VP8 PictureID. */
    static void setVp8Sequence(ByteBuf buf, int seq) {
        RtpPacket.setSequenceNumber(buf, seq);
        buf.setShort(buf.readerIndex() + VP8_PICTURE_ID_OFFSET, 0x8000 | (seq & 0x7FFF));
    }

    /** The packet as a new byte array (readerIndex..writerIndex). */
    static byte[] toArray(ByteBuf buf) {
        byte[] bytes = new byte[buf.readableBytes()];
        buf.getBytes(buf.readerIndex(), bytes);
        return bytes;
    }

    /** A subscriber's extension id map: mid 4 -> 1, abs-send-time 2 -> 3, twcc 3 -> 5, audio level 1 -> 10. */
    public static byte[] subscriberExtensionIds() {
        byte[] ids = new byte[256];
        ids[EXT_MID] = 1;
        ids[EXT_ABS_SEND_TIME] = 3;
        ids[EXT_TWCC] = 5;
        ids[EXT_AUDIO_LEVEL] = 10;
        return ids;
    }

    /** Random but reproducible SRTP keys for one side. */
    public static SrtpKeys keys(SrtpProfile profile, long seed) {
        Random random = new Random(seed);
        byte[] localKey = new byte[profile.keyLength()];
        byte[] localSalt = new byte[profile.saltLength()];
        byte[] remoteKey = new byte[profile.keyLength()];
        byte[] remoteSalt = new byte[profile.saltLength()];
        random.nextBytes(localKey);
        random.nextBytes(localSalt);
        random.nextBytes(remoteKey);
        random.nextBytes(remoteSalt);
        return new SrtpKeys(profile, localKey, localSalt, remoteKey, remoteSalt);
    }

    /** The other side of {@code keys}: what one protects, the other unprotects. */
    public static SrtpKeys peerOf(SrtpKeys keys) {
        return new SrtpKeys(keys.profile(), keys.remoteKey(), keys.remoteSalt(), keys.localKey(), keys.localSalt());
    }

    private static void fillRandom(ByteBuf out, int length, long seed) {
        Random random = new Random(seed);
        for (int i = 0; i < length; i++) {
            out.writeByte(random.nextInt(256));
        }
    }
}
