package io.cascadesfu.core.rtp;

import io.netty.buffer.ByteBuf;

/**
 * Keyframe detection from the first bytes of an RTP payload, so that a consumer can switch layers or end a
 * keyframe request only at a decodable point. Reads only {@code payloadOffset..payloadOffset + payloadLength}
 * (relative to {@code buf.readerIndex()}), never throws, never allocates; a payload it cannot parse is not a
 * keyframe. Stateless: any thread may call it. The buffer stays owned by the caller.
 *
 * <p>VP8 (RFC 7741 4.2, 4.3): payload descriptor, then the VP8 payload header:
 * <pre>
 *       0 1 2 3 4 5 6 7
 *      +-+-+-+-+-+-+-+-+
 *      |X|R|N|S|R| PID | (REQUIRED)
 *      +-+-+-+-+-+-+-+-+
 * X:   |I|L|T|K| RSV   | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+
 * I:   |M| PictureID   | (OPTIONAL, a second byte if M)
 *      +-+-+-+-+-+-+-+-+
 * L:   |   TL0PICIDX   | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+
 * T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *      +-+-+-+-+-+-+-+-+
 *      |Size0|H| VER |P| VP8 payload header (first partition start only): P = 0 means key frame
 *      +-+-+-+-+-+-+-+-+
 * </pre>
 * A VP8 keyframe is S = 1, PID = 0 and P = 0.
 *
 * <p>H264 (RFC 6184 5.3, 5.7, 5.8): NAL header {@code F|NRI(2)|Type(5)}. A keyframe is an IDR slice (type 5) or
 * an SPS (type 7) carried as a single NAL unit, inside a STAP-A/STAP-B, or starting an FU-A/FU-B (S bit set).
 *
 * <p>VP9 (RFC 9628 4.2): descriptor {@code I|P|L|F|B|E|V|Z}; a keyframe is P = 0 (not inter-picture predicted)
 * and B = 1 (start of a frame) on spatial layer 0 (SID of the layer indices byte, when L is set).
 *
 * <p>AV1 (AV1 RTP payload spec 4.4): aggregation header {@code Z|Y|W(2)|N|-|-|-}; N = 1 marks the first packet of
 * a coded video sequence, i.e. a keyframe.
 */
public final class Keyframes {

    static final int VP8_X_BIT = 0x80;
    static final int VP8_S_BIT = 0x10;
    static final int VP8_PID_MASK = 0x07;
    static final int VP8_I_BIT = 0x80;
    static final int VP8_L_BIT = 0x40;
    static final int VP8_T_BIT = 0x20;
    static final int VP8_K_BIT = 0x10;
    static final int VP8_M_BIT = 0x80;
    static final int VP8_INVERSE_KEYFRAME_BIT = 0x01;

    static final int H264_TYPE_MASK = 0x1F;
    static final int H264_IDR = 5;
    static final int H264_SPS = 7;
    static final int H264_STAP_A = 24;
    static final int H264_STAP_B = 25;
    static final int H264_FU_A = 28;
    static final int H264_FU_B = 29;
    static final int H264_FU_START_BIT = 0x80;

    static final int VP9_I_BIT = 0x80;
    static final int VP9_P_BIT = 0x40;
    static final int VP9_L_BIT = 0x20;
    static final int VP9_B_BIT = 0x08;
    static final int VP9_M_BIT = 0x80;
    static final int VP9_SID_MASK = 0x0E;

    static final int AV1_N_BIT = 0x08;

    private Keyframes() {
    }

    public static boolean isKeyframe(ByteBuf buf, int payloadOffset, int payloadLength, Codec codec) {
        if (payloadOffset < 0 || payloadLength <= 0 || codec == null
                || payloadLength > buf.readableBytes() - payloadOffset) {
            return false;
        }
        int start = buf.readerIndex() + payloadOffset;
        int end = start + payloadLength;
        switch (codec) {
            case VP8:
                return isVp8Keyframe(buf, start, end);
            case H264:
                return isH264Keyframe(buf, start, end);
            case VP9:
                return isVp9Keyframe(buf, start, end);
            case AV1:
                return (buf.getByte(start) & AV1_N_BIT) != 0;
            default:
                return false;
        }
    }

    /** {@code start}/{@code end} are absolute buffer indices. */
    private static boolean isVp8Keyframe(ByteBuf buf, int start, int end) {
        int pos = vp8PayloadHeader(buf, start, end);
        return pos >= 0 && (buf.getByte(pos) & VP8_INVERSE_KEYFRAME_BIT) == 0;
    }

    /** Absolute index of the VP8 payload header of a first-partition start packet, -1 if none. */
    private static int vp8PayloadHeader(ByteBuf buf, int start, int end) {
        int b0 = buf.getUnsignedByte(start);
        if ((b0 & VP8_S_BIT) == 0 || (b0 & VP8_PID_MASK) != 0) {
            return -1;
        }
        int pos = start + 1;
        if ((b0 & VP8_X_BIT) != 0) {
            if (pos >= end) {
                return -1;
            }
            int x = buf.getUnsignedByte(pos++);
            if ((x & VP8_I_BIT) != 0) {
                if (pos >= end) {
                    return -1;
                }
                pos += (buf.getByte(pos) & VP8_M_BIT) != 0 ? 2 : 1;
            }
            if ((x & VP8_L_BIT) != 0) {
                pos++;
            }
            if ((x & (VP8_T_BIT | VP8_K_BIT)) != 0) {
                pos++;
            }
        }
        return pos < end ? pos : -1;
    }

    /**
     * The frame size a keyframe's first packet announces, as {@code width << 16 | height}; -1 if the codec or the
     * packet does not say (only VP8 is read: its key frame header, RFC 6386 9.1, holds a start code and 14-bit
     * width and height after the 3-byte frame tag).
     */
    public static int frameSize(ByteBuf buf, int payloadOffset, int payloadLength, Codec codec) {
        if (codec != Codec.VP8 || payloadOffset < 0 || payloadLength <= 0
                || payloadLength > buf.readableBytes() - payloadOffset) {
            return -1;
        }
        int start = buf.readerIndex() + payloadOffset;
        int end = start + payloadLength;
        int pos = vp8PayloadHeader(buf, start, end);
        if (pos < 0 || pos + 10 > end || (buf.getByte(pos) & VP8_INVERSE_KEYFRAME_BIT) != 0
                || buf.getUnsignedByte(pos + 3) != 0x9d || buf.getUnsignedByte(pos + 4) != 0x01
                || buf.getUnsignedByte(pos + 5) != 0x2a) {
            return -1;
        }
        int width = buf.getUnsignedShortLE(pos + 6) & 0x3FFF;
        int height = buf.getUnsignedShortLE(pos + 8) & 0x3FFF;
        return width == 0 || height == 0 ? -1 : width << 16 | height;
    }

    private static boolean isH264Keyframe(ByteBuf buf, int start, int end) {
        int type = buf.getByte(start) & H264_TYPE_MASK;
        if (type == H264_IDR || type == H264_SPS) {
            return true;
        }
        if (type == H264_STAP_A || type == H264_STAP_B) {
            // STAP-B carries a 16-bit decoding order number before the first aggregation unit.
            int pos = start + (type == H264_STAP_A ? 1 : 3);
            while (pos + 2 < end) {
                int size = buf.getUnsignedShort(pos);
                pos += 2;
                if (size == 0 || size > end - pos) {
                    return false;
                }
                int nalType = buf.getByte(pos) & H264_TYPE_MASK;
                if (nalType == H264_IDR || nalType == H264_SPS) {
                    return true;
                }
                pos += size;
            }
            return false;
        }
        if (type == H264_FU_A || type == H264_FU_B) {
            if (start + 1 >= end) {
                return false;
            }
            int fuHeader = buf.getUnsignedByte(start + 1);
            int nalType = fuHeader & H264_TYPE_MASK;
            return (fuHeader & H264_FU_START_BIT) != 0 && (nalType == H264_IDR || nalType == H264_SPS);
        }
        return false;
    }

    private static boolean isVp9Keyframe(ByteBuf buf, int start, int end) {
        int b0 = buf.getUnsignedByte(start);
        if ((b0 & VP9_P_BIT) != 0 || (b0 & VP9_B_BIT) == 0) {
            return false;
        }
        if ((b0 & VP9_L_BIT) == 0) {
            return true;
        }
        int pos = start + 1;
        if ((b0 & VP9_I_BIT) != 0) {
            if (pos >= end) {
                return false;
            }
            pos += (buf.getByte(pos) & VP9_M_BIT) != 0 ? 2 : 1;
        }
        return pos < end && (buf.getByte(pos) & VP9_SID_MASK) == 0;
    }
}
