package io.cascadesfu.core.stun;

import io.netty.buffer.ByteBuf;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * Reusable parsed view of one STUN message (RFC 5389). Not thread-safe; one per owning thread.
 *
 * <pre>
 * Header (RFC 5389 section 6):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|     STUN Message Type     |         Message Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Magic Cookie                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * |                     Transaction ID (96 bits)                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Message Type:
 *   0                 1
 *   2  3  4 5 6 7 8 9 0 1 2 3 4 5
 *  +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
 *  |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
 *  +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Attribute (section 15), value padded to a multiple of 4 bytes:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Type                  |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Value (variable)                ....
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * XOR-MAPPED-ADDRESS (section 15.2):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |x x x x x x x x|    Family     |         X-Port                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                X-Address (Variable)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>{@link #parse} copies the few fields ICE needs into this object (transaction id, username,
 * PRIORITY, ICE-CONTROLLING/CONTROLLED, USE-CANDIDATE, ERROR-CODE, XOR-MAPPED-ADDRESS bytes) and
 * records where MESSAGE-INTEGRITY and FINGERPRINT sit so that {@link Stun} can verify them against
 * the same packet. The only per-message allocation is the USERNAME string (when present); the
 * mapped address is turned into an {@link InetSocketAddress} only when asked for.
 *
 * <p>Per RFC 5389 section 15.4, attributes after MESSAGE-INTEGRITY other than FINGERPRINT are
 * ignored; anything after FINGERPRINT makes the message {@link StunParseResult#MALFORMED}.
 * Unknown attributes are skipped. When an attribute repeats, the first occurrence wins.
 */
public final class StunMessage {

    // --- header layout -------------------------------------------------------------------
    public static final int HEADER_LENGTH = 20;
    public static final int MESSAGE_TYPE_OFFSET = 0;
    public static final int MESSAGE_LENGTH_OFFSET = 2;
    public static final int MAGIC_COOKIE_OFFSET = 4;
    public static final int TRANSACTION_ID_OFFSET = 8;
    public static final int TRANSACTION_ID_LENGTH = 12;
    public static final int MAGIC_COOKIE = 0x2112A442;

    // --- attribute layout ----------------------------------------------------------------
    public static final int ATTRIBUTE_HEADER_LENGTH = 4;
    public static final int ATTRIBUTE_TYPE_OFFSET = 0;
    public static final int ATTRIBUTE_LENGTH_OFFSET = 2;

    // --- methods and classes (RFC 5389 section 6 and 18.1) -------------------------------
    public static final int METHOD_BINDING = 0x001;
    public static final int CLASS_REQUEST = 0b00;
    public static final int CLASS_INDICATION = 0b01;
    public static final int CLASS_SUCCESS = 0b10;
    public static final int CLASS_ERROR = 0b11;

    // --- attribute types (RFC 5389 section 18.2, RFC 8445 section 16.1) ------------------
    public static final int ATTR_MAPPED_ADDRESS = 0x0001;
    public static final int ATTR_USERNAME = 0x0006;
    public static final int ATTR_MESSAGE_INTEGRITY = 0x0008;
    public static final int ATTR_ERROR_CODE = 0x0009;
    public static final int ATTR_XOR_MAPPED_ADDRESS = 0x0020;
    public static final int ATTR_PRIORITY = 0x0024;
    public static final int ATTR_USE_CANDIDATE = 0x0025;
    public static final int ATTR_SOFTWARE = 0x8022;
    public static final int ATTR_FINGERPRINT = 0x8028;
    public static final int ATTR_ICE_CONTROLLED = 0x8029;
    public static final int ATTR_ICE_CONTROLLING = 0x802A;

    // --- fixed attribute value lengths ----------------------------------------------------
    public static final int MESSAGE_INTEGRITY_VALUE_LENGTH = 20;
    public static final int FINGERPRINT_VALUE_LENGTH = 4;
    public static final int PRIORITY_VALUE_LENGTH = 4;
    public static final int TIE_BREAKER_VALUE_LENGTH = 8;
    /** RFC 5389 section 15.3: USERNAME MUST be less than 513 bytes. */
    public static final int USERNAME_MAX_LENGTH = 512;

    // --- ERROR-CODE value (section 15.6): 21 reserved bits, Class (3 bits), Number (8 bits), reason
    public static final int ERROR_CLASS_OFFSET = 2;
    public static final int ERROR_NUMBER_OFFSET = 3;
    public static final int ERROR_REASON_OFFSET = 4;

    // --- (XOR-)MAPPED-ADDRESS value ----------------------------------------------------------
    public static final int ADDRESS_FAMILY_OFFSET = 1;
    public static final int ADDRESS_PORT_OFFSET = 2;
    public static final int ADDRESS_OFFSET = 4;
    public static final int FAMILY_IPV4 = 0x01;
    public static final int FAMILY_IPV6 = 0x02;
    public static final int IPV4_ADDRESS_LENGTH = 4;
    public static final int IPV6_ADDRESS_LENGTH = 16;

    private final byte[] transactionId = new byte[TRANSACTION_ID_LENGTH];
    private int method;
    private int messageClass;
    private int messageLength;
    private String username;
    private boolean useCandidate;
    private boolean hasPriority;
    private long priority;
    private boolean iceControlling;
    private boolean iceControlled;
    private long tieBreaker;
    private int errorCode;
    private int messageIntegrityOffset;
    private int fingerprintOffset;
    /** 0 when no XOR-MAPPED-ADDRESS, else FAMILY_IPV4 / FAMILY_IPV6; address kept un-XORed below. */
    private int mappedFamily;
    private int mappedPort;
    private final byte[] mappedAddress = new byte[IPV6_ADDRESS_LENGTH];

    public StunMessage() {
        reset();
    }

    private void reset() {
        method = -1;
        messageClass = -1;
        messageLength = 0;
        username = null;
        useCandidate = false;
        hasPriority = false;
        priority = 0;
        iceControlling = false;
        iceControlled = false;
        tieBreaker = 0;
        errorCode = -1;
        messageIntegrityOffset = -1;
        fingerprintOffset = -1;
        mappedFamily = 0;
        mappedPort = 0;
    }

    /**
     * Parses {@code packet} from its readerIndex to its writerIndex, which must hold exactly one
     * STUN message (one UDP datagram). The caller keeps ownership: indices are not moved, the
     * buffer is not retained, and no reference to it survives this call. Never throws on any
     * content. Accessors are meaningful only after {@link StunParseResult#OK}.
     */
    public StunParseResult parse(ByteBuf packet) {
        reset();
        final int start = packet.readerIndex();
        final int readable = packet.readableBytes();
        if (readable < 1) {
            return StunParseResult.NOT_STUN;
        }
        if ((packet.getUnsignedByte(start) & 0xC0) != 0) {
            return StunParseResult.NOT_STUN;
        }
        if (readable < HEADER_LENGTH) {
            return readable >= MAGIC_COOKIE_OFFSET + 4
                    && packet.getInt(start + MAGIC_COOKIE_OFFSET) != MAGIC_COOKIE
                    ? StunParseResult.NOT_STUN : StunParseResult.TRUNCATED;
        }
        if (packet.getInt(start + MAGIC_COOKIE_OFFSET) != MAGIC_COOKIE) {
            return StunParseResult.NOT_STUN;
        }
        final int type = packet.getUnsignedShort(start + MESSAGE_TYPE_OFFSET);
        final int length = packet.getUnsignedShort(start + MESSAGE_LENGTH_OFFSET);
        if ((length & 3) != 0) {
            return StunParseResult.MALFORMED;
        }
        if (HEADER_LENGTH + length > readable) {
            return StunParseResult.TRUNCATED;
        }
        if (HEADER_LENGTH + length < readable) {
            // Trailing garbage after the message inside one datagram.
            return StunParseResult.MALFORMED;
        }
        packet.getBytes(start + TRANSACTION_ID_OFFSET, transactionId);

        int offset = HEADER_LENGTH;
        final int end = HEADER_LENGTH + length;
        while (offset < end) {
            if (fingerprintOffset >= 0) {
                return fail(); // FINGERPRINT must be the last attribute (section 15.5)
            }
            if (end - offset < ATTRIBUTE_HEADER_LENGTH) {
                return fail();
            }
            final int attrType = packet.getUnsignedShort(start + offset + ATTRIBUTE_TYPE_OFFSET);
            final int attrLength = packet.getUnsignedShort(start + offset + ATTRIBUTE_LENGTH_OFFSET);
            final int valueOffset = offset + ATTRIBUTE_HEADER_LENGTH;
            final int paddedLength = (attrLength + 3) & ~3;
            if (paddedLength > end - valueOffset) {
                return fail();
            }
            final int value = start + valueOffset;
            if (attrType == ATTR_FINGERPRINT) {
                if (attrLength != FINGERPRINT_VALUE_LENGTH) {
                    return fail();
                }
                fingerprintOffset = offset;
            } else if (attrType == ATTR_MESSAGE_INTEGRITY) {
                if (attrLength != MESSAGE_INTEGRITY_VALUE_LENGTH) {
                    return fail();
                }
                if (messageIntegrityOffset < 0) {
                    messageIntegrityOffset = offset;
                }
            } else if (messageIntegrityOffset >= 0) {
                // Section 15.4: ignore everything after MESSAGE-INTEGRITY except FINGERPRINT.
            } else if (!parseAttribute(packet, attrType, value, attrLength)) {
                return fail();
            }
            offset = valueOffset + paddedLength;
        }
        this.method = decodeMethod(type);
        this.messageClass = decodeClass(type);
        this.messageLength = length;
        return StunParseResult.OK;
    }

    private StunParseResult fail() {
        reset();
        return StunParseResult.MALFORMED;
    }

    /** Returns false when a known attribute has an impossible length. {@code value} is absolute. */
    private boolean parseAttribute(ByteBuf packet, int attrType, int value, int attrLength) {
        switch (attrType) {
            case ATTR_USERNAME:
                if (attrLength > USERNAME_MAX_LENGTH) {
                    return false;
                }
                if (username == null) {
                    username = packet.toString(value, attrLength, StandardCharsets.UTF_8);
                }
                return true;
            case ATTR_PRIORITY:
                if (attrLength != PRIORITY_VALUE_LENGTH) {
                    return false;
                }
                if (!hasPriority) {
                    hasPriority = true;
                    priority = packet.getUnsignedInt(value);
                }
                return true;
            case ATTR_USE_CANDIDATE:
                if (attrLength != 0) {
                    return false;
                }
                useCandidate = true;
                return true;
            case ATTR_ICE_CONTROLLING:
            case ATTR_ICE_CONTROLLED:
                if (attrLength != TIE_BREAKER_VALUE_LENGTH) {
                    return false;
                }
                if (!iceControlling && !iceControlled) {
                    tieBreaker = packet.getLong(value);
                    iceControlling = attrType == ATTR_ICE_CONTROLLING;
                    iceControlled = attrType == ATTR_ICE_CONTROLLED;
                }
                return true;
            case ATTR_ERROR_CODE:
                if (attrLength < ERROR_REASON_OFFSET) {
                    return false;
                }
                if (errorCode < 0) {
                    final int errorClass = packet.getUnsignedByte(value + ERROR_CLASS_OFFSET) & 0x07;
                    final int number = packet.getUnsignedByte(value + ERROR_NUMBER_OFFSET);
                    if (errorClass < 3 || errorClass > 6 || number > 99) {
                        return false;
                    }
                    errorCode = errorClass * 100 + number;
                }
                return true;
            case ATTR_XOR_MAPPED_ADDRESS:
                return parseXorMappedAddress(packet, value, attrLength);
            default:
                return true; // unknown or uninteresting (SOFTWARE, MAPPED-ADDRESS...): skipped
        }
    }

    private boolean parseXorMappedAddress(ByteBuf packet, int value, int attrLength) {
        if (attrLength < ADDRESS_OFFSET) {
            return false;
        }
        final int family = packet.getUnsignedByte(value + ADDRESS_FAMILY_OFFSET);
        final int addressLength;
        if (family == FAMILY_IPV4) {
            addressLength = IPV4_ADDRESS_LENGTH;
        } else if (family == FAMILY_IPV6) {
            addressLength = IPV6_ADDRESS_LENGTH;
        } else {
            return false;
        }
        if (attrLength != ADDRESS_OFFSET + addressLength) {
            return false;
        }
        if (mappedFamily != 0) {
            return true;
        }
        mappedFamily = family;
        mappedPort = packet.getUnsignedShort(value + ADDRESS_PORT_OFFSET) ^ (MAGIC_COOKIE >>> 16);
        packet.getBytes(value + ADDRESS_OFFSET, mappedAddress, 0, addressLength);
        // X-Address is XORed with the magic cookie (IPv4) or magic cookie || transaction id (IPv6).
        for (int i = 0; i < addressLength; i++) {
            mappedAddress[i] ^= xorMaskByte(i, transactionId);
        }
        return true;
    }

    /** Byte {@code i} of magic cookie || transaction id, the XOR mask of section 15.2. */
    static byte xorMaskByte(int i, byte[] transactionId) {
        return i < 4 ? (byte) (MAGIC_COOKIE >>> (24 - 8 * i)) : transactionId[i - 4];
    }

    static int decodeMethod(int type) {
        return (type & 0x000F) | ((type & 0x00E0) >>> 1) | ((type & 0x3E00) >>> 2);
    }

    static int decodeClass(int type) {
        return ((type & 0x0010) >>> 4) | ((type & 0x0100) >>> 7);
    }

    static int encodeType(int method, int messageClass) {
        return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
                | ((messageClass & 0b01) << 4) | ((messageClass & 0b10) << 7);
    }

    /** STUN method, e.g. {@link #METHOD_BINDING}; -1 unless the last parse returned OK. */
    public int method() {
        return method;
    }

    /** One of the {@code CLASS_*} constants; -1 unless the last parse returned OK. */
    public int messageClass() {
        return messageClass;
    }

    /** Value of the header's Message Length field (bytes after the 20-byte header). */
    public int messageLength() {
        return messageLength;
    }

    /** The 12-byte transaction id. The array is owned by this object and overwritten by the next parse. */
    public byte[] transactionId() {
        return transactionId;
    }

    /** USERNAME decoded as UTF-8, or null if absent. */
    public String username() {
        return username;
    }

    public boolean useCandidate() {
        return useCandidate;
    }

    public boolean hasPriority() {
        return hasPriority;
    }

    /** PRIORITY as an unsigned 32-bit value; 0 when absent. */
    public long priority() {
        return priority;
    }

    public boolean iceControlling() {
        return iceControlling;
    }

    public boolean iceControlled() {
        return iceControlled;
    }

    /** Tie-breaker of ICE-CONTROLLING or ICE-CONTROLLED (unsigned 64 bits in a long); 0 when absent. */
    public long tieBreaker() {
        return tieBreaker;
    }

    /** ERROR-CODE as class * 100 + number, e.g. 401; -1 if none. */
    public int errorCode() {
        return errorCode;
    }

    /** XOR-MAPPED-ADDRESS, or null if absent. Allocates; meant for clients and tests, not the server path. */
    public InetSocketAddress xorMappedAddress() {
        if (mappedFamily == 0) {
            return null;
        }
        final int length = mappedFamily == FAMILY_IPV4 ? IPV4_ADDRESS_LENGTH : IPV6_ADDRESS_LENGTH;
        final byte[] address = new byte[length];
        System.arraycopy(mappedAddress, 0, address, 0, length);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(address), mappedPort);
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 bytes is always a valid address", e);
        }
    }

    /** Offset of the MESSAGE-INTEGRITY attribute header relative to the packet's readerIndex; -1 if absent. */
    public int messageIntegrityOffset() {
        return messageIntegrityOffset;
    }

    /** Offset of the FINGERPRINT attribute header relative to the packet's readerIndex; -1 if absent. */
    public int fingerprintOffset() {
        return fingerprintOffset;
    }
}
