package io.cascadesfu.core.rtp;

import io.netty.buffer.ByteBuf;

/**
 * Flyweight over one RTP packet (RFC 3550 5.1) held in a {@link ByteBuf}; static methods only, no object per packet.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |   (if X, RFC 3550 5.3.1)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        header extension                       |
 * |                             ....                              |
 * </pre>
 *
 * <p>Header extension elements follow RFC 8285: the one-byte form (profile {@code 0xBEDE}, element header
 * {@code ID(4) | L(4)}, data length L+1) and the two-byte form (profile {@code 0x100X}, element header
 * {@code ID(8) | length(8)}). A zero byte between elements is padding in both forms.
 *
 * <p>Offsets are relative to {@code buf.readerIndex()}; the packet spans readerIndex..writerIndex. Methods neither
 * move the indices nor take ownership of the buffer: the caller keeps its reference. Accessors other than
 * {@link #validate}, {@link #paddingLength}, {@link #rewriteExtensionIds} and {@link #findExtension} assume a
 * packet that {@link #validate} accepted. Stateless, so any thread may call them.
 */
public final class RtpPacket {

    /** Fixed header length in bytes. */
    public static final int HEADER_LENGTH = 12;
    public static final int VERSION = 2;

    static final int FLAGS_OFFSET = 0;          // V, P, X, CC
    static final int MARKER_PT_OFFSET = 1;      // M, PT
    static final int SEQUENCE_OFFSET = 2;
    static final int TIMESTAMP_OFFSET = 4;
    static final int SSRC_OFFSET = 8;
    static final int CSRC_OFFSET = 12;

    static final int PADDING_BIT = 0x20;
    static final int EXTENSION_BIT = 0x10;
    static final int CSRC_COUNT_MASK = 0x0F;
    static final int MARKER_BIT = 0x80;
    static final int PAYLOAD_TYPE_MASK = 0x7F;

    /** RFC 8285 4.2 one-byte header profile. */
    public static final int ONE_BYTE_PROFILE = 0xBEDE;
    /** RFC 8285 4.3 two-byte header profile; the low 4 bits ("appbits") are application defined. */
    public static final int TWO_BYTE_PROFILE = 0x1000;
    static final int TWO_BYTE_PROFILE_MASK = 0xFFF0;
    /** RFC 8285 4.2: in the one-byte form ID 15 is reserved and ends parsing of the extension block. */
    static final int ONE_BYTE_RESERVED_ID = 15;

    /** Fewer than 12 bytes. */
    public static final int ERR_TOO_SHORT = -1;
    /** Version field is not 2. */
    public static final int ERR_VERSION = -2;
    /** The CSRC list runs past the end of the packet. */
    public static final int ERR_CSRC = -3;
    /** The header extension runs past the end of the packet. */
    public static final int ERR_EXTENSION = -4;
    /** Padding count is zero or larger than the space after the header. */
    public static final int ERR_PADDING = -5;

    private RtpPacket() {
    }

    /**
     * Checks that the readable bytes hold a well-formed RTP packet.
     *
     * @return the payload offset (header + CSRCs + extension) if well formed, else a negative {@code ERR_*} code
     */
    public static int validate(ByteBuf buf) {
        int len = buf.readableBytes();
        if (len < HEADER_LENGTH) {
            return ERR_TOO_SHORT;
        }
        int base = buf.readerIndex();
        int b0 = buf.getUnsignedByte(base);
        if ((b0 >>> 6) != VERSION) {
            return ERR_VERSION;
        }
        int offset = CSRC_OFFSET + 4 * (b0 & CSRC_COUNT_MASK);
        if (offset > len) {
            return ERR_CSRC;
        }
        if ((b0 & EXTENSION_BIT) != 0) {
            if (offset + 4 > len) {
                return ERR_EXTENSION;
            }
            offset += 4 + 4 * buf.getUnsignedShort(base + offset + 2);
            if (offset > len) {
                return ERR_EXTENSION;
            }
        }
        if ((b0 & PADDING_BIT) != 0) {
            // RFC 3550 5.1: the last octet counts the padding octets, itself included, so it is never 0.
            int padding = buf.getUnsignedByte(base + len - 1);
            if (padding == 0 || offset + padding > len) {
                return ERR_PADDING;
            }
        }
        return offset;
    }

    public static int version(ByteBuf buf) {
        return buf.getUnsignedByte(buf.readerIndex() + FLAGS_OFFSET) >>> 6;
    }

    public static boolean hasPadding(ByteBuf buf) {
        return (buf.getByte(buf.readerIndex() + FLAGS_OFFSET) & PADDING_BIT) != 0;
    }

    public static boolean hasExtension(ByteBuf buf) {
        return (buf.getByte(buf.readerIndex() + FLAGS_OFFSET) & EXTENSION_BIT) != 0;
    }

    public static int csrcCount(ByteBuf buf) {
        return buf.getByte(buf.readerIndex() + FLAGS_OFFSET) & CSRC_COUNT_MASK;
    }

    public static long csrc(ByteBuf buf, int index) {
        return buf.getUnsignedInt(buf.readerIndex() + CSRC_OFFSET + 4 * index);
    }

    public static boolean marker(ByteBuf buf) {
        return (buf.getByte(buf.readerIndex() + MARKER_PT_OFFSET) & MARKER_BIT) != 0;
    }

    public static void setMarker(ByteBuf buf, boolean marker) {
        int at = buf.readerIndex() + MARKER_PT_OFFSET;
        int b = buf.getUnsignedByte(at);
        buf.setByte(at, marker ? b | MARKER_BIT : b & ~MARKER_BIT);
    }

    public static int payloadType(ByteBuf buf) {
        return buf.getByte(buf.readerIndex() + MARKER_PT_OFFSET) & PAYLOAD_TYPE_MASK;
    }

    /** Sets the payload type, keeping the marker bit. */
    public static void setPayloadType(ByteBuf buf, int payloadType) {
        int at = buf.readerIndex() + MARKER_PT_OFFSET;
        buf.setByte(at, (buf.getByte(at) & MARKER_BIT) | (payloadType & PAYLOAD_TYPE_MASK));
    }

    public static int sequenceNumber(ByteBuf buf) {
        return buf.getUnsignedShort(buf.readerIndex() + SEQUENCE_OFFSET);
    }

    public static void setSequenceNumber(ByteBuf buf, int sequenceNumber) {
        buf.setShort(buf.readerIndex() + SEQUENCE_OFFSET, sequenceNumber);
    }

    public static long timestamp(ByteBuf buf) {
        return buf.getUnsignedInt(buf.readerIndex() + TIMESTAMP_OFFSET);
    }

    public static void setTimestamp(ByteBuf buf, long timestamp) {
        buf.setInt(buf.readerIndex() + TIMESTAMP_OFFSET, (int) timestamp);
    }

    public static long ssrc(ByteBuf buf) {
        return buf.getUnsignedInt(buf.readerIndex() + SSRC_OFFSET);
    }

    public static void setSsrc(ByteBuf buf, long ssrc) {
        buf.setInt(buf.readerIndex() + SSRC_OFFSET, (int) ssrc);
    }

    /** Number of padding octets at the end of the packet (the last octet, RFC 3550 5.1), 0 if the P bit is clear. */
    public static int paddingLength(ByteBuf buf) {
        int len = buf.readableBytes();
        if (len < HEADER_LENGTH || !hasPadding(buf)) {
            return 0;
        }
        return buf.getUnsignedByte(buf.readerIndex() + len - 1);
    }

    /** Payload bytes between {@code payloadOffset} (from {@link #validate}) and the padding. */
    public static int payloadLength(ByteBuf buf, int payloadOffset) {
        return buf.readableBytes() - payloadOffset - paddingLength(buf);
    }

    /** Offset of the extension header word (profile + length), or -1 if the packet has no extension. */
    public static int extensionOffset(ByteBuf buf) {
        return hasExtension(buf) ? CSRC_OFFSET + 4 * csrcCount(buf) : -1;
    }

    /** The "defined by profile" field of the extension header, or -1 if the packet has no extension. */
    public static int extensionProfile(ByteBuf buf) {
        int off = extensionOffset(buf);
        return off < 0 ? -1 : buf.getUnsignedShort(buf.readerIndex() + off);
    }

    /**
     * Rewrites RFC 8285 extension element IDs in place: {@code idMap[oldId]} is the new ID, 0 removes the element
     * (its header and data bytes become padding zeros, so the block length and the rest of the packet stay as
     * they are). IDs beyond the end of {@code idMap}, and new IDs the form cannot carry (above 14 in the one-byte
     * form, above 255 in the two-byte form), are removed too. Does nothing if the packet is malformed or has no
     * RFC 8285 extension; stops at the first element that runs past the block.
     */
    public static void rewriteExtensionIds(ByteBuf buf, byte[] idMap) {
        if (validate(buf) < 0 || !hasExtension(buf)) {
            return;
        }
        rewriteBlock(buf, buf.readerIndex() + CSRC_OFFSET + 4 * csrcCount(buf), idMap);
    }

    /**
     * Rewrites the ids of the extension block whose header word is at absolute index {@code extOff} (see
     * {@link #rewriteExtensionIds}). Returns the absolute index just after the last element kept (trailing padding
     * and removed elements may be written over), -1 if the block has another profile or an element runs past it.
     */
    private static int rewriteBlock(ByteBuf buf, int extOff, byte[] idMap) {
        int profile = buf.getUnsignedShort(extOff);
        int pos = extOff + 4;
        int end = pos + 4 * buf.getUnsignedShort(extOff + 2);
        int lastEnd = pos;
        if (profile == ONE_BYTE_PROFILE) {
            while (pos < end) {
                int b = buf.getUnsignedByte(pos);
                int id = b >>> 4;
                if (id == 0) {
                    pos++;
                    continue;
                }
                if (id == ONE_BYTE_RESERVED_ID) {
                    return -1;
                }
                int elementLen = 1 + (b & 0x0F) + 1;
                if (pos + elementLen > end) {
                    return -1;
                }
                int newId = id < idMap.length ? idMap[id] & 0xFF : 0;
                if (newId == 0 || newId >= ONE_BYTE_RESERVED_ID) {
                    buf.setZero(pos, elementLen);
                } else {
                    buf.setByte(pos, (newId << 4) | (b & 0x0F));
                    lastEnd = pos + elementLen;
                }
                pos += elementLen;
            }
            return lastEnd;
        } else if ((profile & TWO_BYTE_PROFILE_MASK) == TWO_BYTE_PROFILE) {
            while (pos < end) {
                int id = buf.getUnsignedByte(pos);
                if (id == 0) {
                    pos++;
                    continue;
                }
                if (pos + 2 > end) {
                    return -1;
                }
                int elementLen = 2 + buf.getUnsignedByte(pos + 1);
                if (pos + elementLen > end) {
                    return -1;
                }
                int newId = id < idMap.length ? idMap[id] & 0xFF : 0;
                if (newId == 0) {
                    buf.setZero(pos, elementLen);
                } else {
                    buf.setByte(pos, newId);
                    lastEnd = pos + elementLen;
                }
                pos += elementLen;
            }
            return lastEnd;
        }
        return -1;
    }

    /** Most bytes {@link #writeHeader} adds to a header for an element of {@code dataLength} bytes. */
    public static int addedHeaderBytes(int dataLength) {
        return 4 + 2 + dataLength + 3; // block header word, two-byte element header, data, padding to 32 bits
    }

    /**
     * Writes the header of {@code src} (fixed header, CSRCs, extension block: the {@code payloadOffset} bytes that
     * {@link #validate} accepted) at {@code out}'s writerIndex, with extension ids mapped as by
     * {@link #rewriteExtensionIds}, and, if {@code addId > 0}, one element {@code addId} with the data
     * {@code addData} added to the block (a one-byte block is made if {@code src} has none). The element is added
     * in the block's form; it is left out if that form cannot carry it or the block is of another profile or
     * malformed. {@code out} must have room for {@code payloadOffset + addedHeaderBytes(addData.length)} more
     * bytes; the caller writes the payload after. Neither buffer's ownership changes; {@code src} is not modified.
     *
     * @param addId   id of the element to add, 1..14 (one-byte form) or 1..255 (two-byte form); 0 adds none
     * @param addData its data, 1..16 bytes for the one-byte form, at most 255 for the two-byte form
     * @return the header length in {@code out}: the offset of the payload from {@code out}'s readerIndex, if
     *     {@code out} held nothing before
     */
    public static int writeHeader(ByteBuf src, int payloadOffset, ByteBuf out, byte[] idMap, int addId,
                                  byte[] addData) {
        int start = out.writerIndex();
        int base = src.readerIndex();
        int extOff = CSRC_OFFSET + 4 * csrcCount(src);
        out.writeBytes(src, base, payloadOffset);
        int appendAt;
        boolean oneByte;
        if (hasExtension(src)) {
            appendAt = rewriteBlock(out, start + extOff, idMap);
            int profile = out.getUnsignedShort(start + extOff);
            oneByte = profile == ONE_BYTE_PROFILE;
        } else {
            if (addId <= 0) {
                return payloadOffset;
            }
            out.setByte(start + FLAGS_OFFSET, out.getByte(start + FLAGS_OFFSET) | EXTENSION_BIT);
            out.writeShort(ONE_BYTE_PROFILE).writeShort(0);
            appendAt = out.writerIndex();
            oneByte = true;
        }
        if (addId <= 0 || appendAt < 0 || addData.length > 255
                || (oneByte ? addId >= ONE_BYTE_RESERVED_ID || addData.length < 1 || addData.length > 16
                        : addId > 255)) {
            return out.writerIndex() - start;
        }
        int elementLen = (oneByte ? 1 : 2) + addData.length;
        int blockStart = start + extOff + 4;
        int blockEnd = Math.max(out.writerIndex(), blockStart + ((appendAt + elementLen - blockStart + 3) & ~3));
        out.writerIndex(appendAt);
        if (oneByte) {
            out.writeByte(addId << 4 | (addData.length - 1));
        } else {
            out.writeByte(addId).writeByte(addData.length);
        }
        out.writeBytes(addData);
        out.writeZero(blockEnd - out.writerIndex());
        out.setShort(start + extOff + 2, (blockEnd - blockStart) / 4);
        return blockEnd - start;
    }

    /**
     * Finds an RFC 8285 extension element.
     *
     * @return the offset (from readerIndex) of the element's data, or -1 if absent or the packet is malformed;
     *     the data length is {@link #extensionLength(ByteBuf, int)}
     */
    public static int findExtension(ByteBuf buf, int id) {
        if (id <= 0 || validate(buf) < 0 || !hasExtension(buf)) {
            return -1;
        }
        int base = buf.readerIndex();
        int extOff = CSRC_OFFSET + 4 * csrcCount(buf);
        int profile = buf.getUnsignedShort(base + extOff);
        int pos = extOff + 4;
        int end = pos + 4 * buf.getUnsignedShort(base + extOff + 2);
        if (profile == ONE_BYTE_PROFILE) {
            if (id >= ONE_BYTE_RESERVED_ID) {
                return -1;
            }
            while (pos < end) {
                int b = buf.getUnsignedByte(base + pos);
                int elementId = b >>> 4;
                if (elementId == 0) {
                    pos++;
                    continue;
                }
                if (elementId == ONE_BYTE_RESERVED_ID) {
                    return -1;
                }
                int dataLen = (b & 0x0F) + 1;
                if (pos + 1 + dataLen > end) {
                    return -1;
                }
                if (elementId == id) {
                    return pos + 1;
                }
                pos += 1 + dataLen;
            }
        } else if ((profile & TWO_BYTE_PROFILE_MASK) == TWO_BYTE_PROFILE) {
            while (pos < end) {
                int elementId = buf.getUnsignedByte(base + pos);
                if (elementId == 0) {
                    pos++;
                    continue;
                }
                if (pos + 2 > end) {
                    return -1;
                }
                int dataLen = buf.getUnsignedByte(base + pos + 1);
                if (pos + 2 + dataLen > end) {
                    return -1;
                }
                if (elementId == id) {
                    return pos + 2;
                }
                pos += 2 + dataLen;
            }
        }
        return -1;
    }

    /**
     * Length of the extension element data found at {@code dataOffset} by {@link #findExtension}; reads the element
     * header just before the data, using the form given by the extension profile.
     */
    public static int extensionLength(ByteBuf buf, int dataOffset) {
        int b = buf.getUnsignedByte(buf.readerIndex() + dataOffset - 1);
        return extensionProfile(buf) == ONE_BYTE_PROFILE ? (b & 0x0F) + 1 : b;
    }
}
