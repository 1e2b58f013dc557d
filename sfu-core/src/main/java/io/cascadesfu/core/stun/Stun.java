package io.cascadesfu.core.stun;

import io.netty.buffer.ByteBuf;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.util.Arrays;
import java.util.zip.CRC32;

import static io.cascadesfu.core.stun.StunMessage.ADDRESS_OFFSET;
import static io.cascadesfu.core.stun.StunMessage.ATTRIBUTE_HEADER_LENGTH;
import static io.cascadesfu.core.stun.StunMessage.ATTR_ERROR_CODE;
import static io.cascadesfu.core.stun.StunMessage.ATTR_FINGERPRINT;
import static io.cascadesfu.core.stun.StunMessage.ATTR_ICE_CONTROLLED;
import static io.cascadesfu.core.stun.StunMessage.ATTR_ICE_CONTROLLING;
import static io.cascadesfu.core.stun.StunMessage.ATTR_MESSAGE_INTEGRITY;
import static io.cascadesfu.core.stun.StunMessage.ATTR_PRIORITY;
import static io.cascadesfu.core.stun.StunMessage.ATTR_USERNAME;
import static io.cascadesfu.core.stun.StunMessage.ATTR_USE_CANDIDATE;
import static io.cascadesfu.core.stun.StunMessage.ATTR_XOR_MAPPED_ADDRESS;
import static io.cascadesfu.core.stun.StunMessage.CLASS_ERROR;
import static io.cascadesfu.core.stun.StunMessage.CLASS_REQUEST;
import static io.cascadesfu.core.stun.StunMessage.CLASS_SUCCESS;
import static io.cascadesfu.core.stun.StunMessage.FAMILY_IPV4;
import static io.cascadesfu.core.stun.StunMessage.FAMILY_IPV6;
import static io.cascadesfu.core.stun.StunMessage.FINGERPRINT_VALUE_LENGTH;
import static io.cascadesfu.core.stun.StunMessage.HEADER_LENGTH;
import static io.cascadesfu.core.stun.StunMessage.MAGIC_COOKIE;
import static io.cascadesfu.core.stun.StunMessage.MAGIC_COOKIE_OFFSET;
import static io.cascadesfu.core.stun.StunMessage.MESSAGE_INTEGRITY_VALUE_LENGTH;
import static io.cascadesfu.core.stun.StunMessage.MESSAGE_LENGTH_OFFSET;
import static io.cascadesfu.core.stun.StunMessage.METHOD_BINDING;
import static io.cascadesfu.core.stun.StunMessage.TRANSACTION_ID_LENGTH;

/**
 * STUN checks and writers (RFC 5389) for an ICE-lite server and its test clients.
 *
 * <p>MESSAGE-INTEGRITY (section 15.4) is HMAC-SHA1 over the message up to, not including, the
 * MESSAGE-INTEGRITY attribute, with the header's length field set as if MESSAGE-INTEGRITY were the
 * last attribute. FINGERPRINT (section 15.5) is CRC-32 over the message up to the FINGERPRINT
 * attribute, XORed with 0x5354554e. Writers always end with FINGERPRINT, as ICE requires.
 *
 * <p>Threading: every method may be called from any thread. Each thread keeps one {@link Mac},
 * one {@link CRC32} and a scratch array in a {@link ThreadLocal}; the Mac is re-keyed only when
 * the key differs from the previous call's on that thread.
 *
 * <p>Buffers: no method retains or releases a buffer it is given, nor moves the reader index of a
 * packet. Writers append at {@code out}'s writerIndex and advance it; {@code out} stays the
 * caller's.
 */
public final class Stun {

    /** RFC 5389 section 15.5. */
    public static final int FINGERPRINT_XOR = 0x5354554e;
    /** Full size of the MESSAGE-INTEGRITY attribute, header included. */
    public static final int MESSAGE_INTEGRITY_ATTRIBUTE_LENGTH = ATTRIBUTE_HEADER_LENGTH + MESSAGE_INTEGRITY_VALUE_LENGTH;
    /** Full size of the FINGERPRINT attribute, header included. */
    public static final int FINGERPRINT_ATTRIBUTE_LENGTH = ATTRIBUTE_HEADER_LENGTH + FINGERPRINT_VALUE_LENGTH;

    public static final int ERROR_BAD_REQUEST = 400;
    public static final int ERROR_UNAUTHORIZED = 401;
    public static final int ERROR_ROLE_CONFLICT = 487;

    private static final String HMAC_SHA1 = "HmacSHA1";
    private static final ThreadLocal<Crypto> CRYPTO = ThreadLocal.withInitial(Crypto::new);

    private Stun() {
    }

    /**
     * Cheap demultiplexing test (RFC 7983 section 7: first byte 0..3 is STUN) plus the RFC 5389
     * header invariants: at least a header, message length a multiple of 4, magic cookie present.
     * Does not move indices.
     */
    public static boolean looksLikeStun(ByteBuf packet) {
        final int start = packet.readerIndex();
        if (packet.readableBytes() < HEADER_LENGTH) {
            return false;
        }
        return packet.getUnsignedByte(start) <= 3
                && (packet.getUnsignedShort(start + MESSAGE_LENGTH_OFFSET) & 3) == 0
                && packet.getInt(start + MAGIC_COOKIE_OFFSET) == MAGIC_COOKIE;
    }

    /**
     * Checks MESSAGE-INTEGRITY of {@code packet} with the short-term {@code key} (the ICE password as
     * UTF-8). {@code msg} must come from parsing {@code packet} with the same readerIndex; anything
     * inconsistent simply yields false. Returns false when MESSAGE-INTEGRITY is absent or the key is
     * null or empty. Never throws on packet content; does not retain or move {@code packet}.
     */
    public static boolean verifyMessageIntegrity(ByteBuf packet, StunMessage msg, byte[] key) {
        final int miOffset = msg.messageIntegrityOffset();
        if (key == null || key.length == 0 || miOffset < HEADER_LENGTH
                || miOffset + MESSAGE_INTEGRITY_ATTRIBUTE_LENGTH > packet.readableBytes()) {
            return false;
        }
        final int start = packet.readerIndex();
        final Crypto crypto = CRYPTO.get();
        final byte[] digest = crypto.hmac(packet, start, miOffset, key);
        int diff = 0;
        final int value = start + miOffset + ATTRIBUTE_HEADER_LENGTH;
        for (int i = 0; i < MESSAGE_INTEGRITY_VALUE_LENGTH; i++) {
            diff |= digest[i] ^ packet.getByte(value + i);
        }
        return diff == 0;
    }

    /**
     * Checks FINGERPRINT of {@code packet} (CRC-32 XOR 0x5354554e). Returns false when absent.
     * Never throws on packet content; does not retain or move {@code packet}.
     */
    public static boolean verifyFingerprint(ByteBuf packet, StunMessage msg) {
        final int fpOffset = msg.fingerprintOffset();
        if (fpOffset < HEADER_LENGTH || fpOffset + FINGERPRINT_ATTRIBUTE_LENGTH > packet.readableBytes()) {
            return false;
        }
        final int start = packet.readerIndex();
        final int expected = CRYPTO.get().crc32(packet, start, fpOffset) ^ FINGERPRINT_XOR;
        return expected == packet.getInt(start + fpOffset + ATTRIBUTE_HEADER_LENGTH);
    }

    /**
     * Appends a Binding success response: XOR-MAPPED-ADDRESS = {@code mapped} (IPv4 or IPv6),
     * MESSAGE-INTEGRITY with {@code key} (skipped when null), FINGERPRINT.
     *
     * @param out           appended to at its writerIndex; owned by the caller
     * @param transactionId the request's 12-byte transaction id
     * @param mapped        resolved address the request came from
     */
    public static void writeBindingSuccess(ByteBuf out, byte[] transactionId, InetSocketAddress mapped, byte[] key) {
        final InetAddress address = mapped.getAddress();
        if (address == null) {
            throw new IllegalArgumentException("unresolved address " + mapped);
        }
        final byte[] raw = address.getAddress();
        final int start = writeHeader(out, METHOD_BINDING, CLASS_SUCCESS, transactionId);
        writeAttributeHeader(out, ATTR_XOR_MAPPED_ADDRESS, ADDRESS_OFFSET + raw.length);
        out.writeByte(0); // reserved
        out.writeByte(raw.length == 4 ? FAMILY_IPV4 : FAMILY_IPV6);
        out.writeShort(mapped.getPort() ^ (MAGIC_COOKIE >>> 16));
        for (int i = 0; i < raw.length; i++) {
            out.writeByte(raw[i] ^ StunMessage.xorMaskByte(i, transactionId));
        }
        finish(out, start, key);
    }

    /**
     * Appends an error response with ERROR-CODE {@code code} and {@code reason}, then
     * MESSAGE-INTEGRITY when {@code keyOrNull} is given, then FINGERPRINT.
     *
     * @param out appended to at its writerIndex; owned by the caller
     */
    public static void writeError(ByteBuf out, int method, byte[] transactionId, int code, String reason,
                                  byte[] keyOrNull) {
        if (code < 300 || code > 699) {
            throw new IllegalArgumentException("error code out of range: " + code);
        }
        final byte[] reasonBytes = reason == null ? new byte[0] : reason.getBytes(StandardCharsets.UTF_8);
        final int start = writeHeader(out, method, CLASS_ERROR, transactionId);
        writeAttributeHeader(out, ATTR_ERROR_CODE, StunMessage.ERROR_REASON_OFFSET + reasonBytes.length);
        out.writeShort(0); // reserved
        out.writeByte(code / 100);
        out.writeByte(code % 100);
        out.writeBytes(reasonBytes);
        writePadding(out, reasonBytes.length);
        finish(out, start, keyOrNull);
    }

    /**
     * Appends an ICE connectivity check (Binding request): USERNAME (skipped when null), PRIORITY,
     * USE-CANDIDATE when asked, ICE-CONTROLLING or ICE-CONTROLLED with {@code tieBreaker},
     * MESSAGE-INTEGRITY with {@code key} (skipped when null), FINGERPRINT. For tests and the load tool.
     *
     * @param out      appended to at its writerIndex; owned by the caller
     * @param priority unsigned 32-bit PRIORITY
     */
    public static void writeBindingRequest(ByteBuf out, byte[] transactionId, String username, byte[] key,
                                           long priority, boolean useCandidate, boolean controlling,
                                           long tieBreaker) {
        final int start = writeHeader(out, METHOD_BINDING, CLASS_REQUEST, transactionId);
        if (username != null) {
            final byte[] usernameBytes = username.getBytes(StandardCharsets.UTF_8);
            if (usernameBytes.length > StunMessage.USERNAME_MAX_LENGTH) {
                throw new IllegalArgumentException("USERNAME longer than 512 bytes");
            }
            writeAttributeHeader(out, ATTR_USERNAME, usernameBytes.length);
            out.writeBytes(usernameBytes);
            writePadding(out, usernameBytes.length);
        }
        writeAttributeHeader(out, ATTR_PRIORITY, StunMessage.PRIORITY_VALUE_LENGTH);
        out.writeInt((int) priority);
        if (useCandidate) {
            writeAttributeHeader(out, ATTR_USE_CANDIDATE, 0);
        }
        writeAttributeHeader(out, controlling ? ATTR_ICE_CONTROLLING : ATTR_ICE_CONTROLLED,
                StunMessage.TIE_BREAKER_VALUE_LENGTH);
        out.writeLong(tieBreaker);
        finish(out, start, key);
    }

    // --- writing helpers ---------------------------------------------------------------------

    /** Writes a header with length 0 and returns its absolute index in {@code out}. */
    private static int writeHeader(ByteBuf out, int method, int messageClass, byte[] transactionId) {
        if (transactionId == null || transactionId.length != TRANSACTION_ID_LENGTH) {
            throw new IllegalArgumentException("transaction id must be 12 bytes");
        }
        final int start = out.writerIndex();
        out.writeShort(StunMessage.encodeType(method, messageClass));
        out.writeShort(0); // message length, patched by finish()
        out.writeInt(MAGIC_COOKIE);
        out.writeBytes(transactionId);
        return start;
    }

    private static void writeAttributeHeader(ByteBuf out, int type, int length) {
        out.writeShort(type);
        out.writeShort(length);
    }

    private static void writePadding(ByteBuf out, int valueLength) {
        out.writeZero((4 - (valueLength & 3)) & 3);
    }

    /** Appends MESSAGE-INTEGRITY (when key is non-null) and FINGERPRINT, fixing the length field each time. */
    private static void finish(ByteBuf out, int start, byte[] key) {
        final Crypto crypto = CRYPTO.get();
        if (key != null) {
            final int miOffset = out.writerIndex() - start;
            // hmac() computes the length field as if MESSAGE-INTEGRITY were last, which it is for now.
            final byte[] digest = crypto.hmac(out, start, miOffset, key);
            writeAttributeHeader(out, ATTR_MESSAGE_INTEGRITY, MESSAGE_INTEGRITY_VALUE_LENGTH);
            out.writeBytes(digest, 0, MESSAGE_INTEGRITY_VALUE_LENGTH);
        }
        final int fpOffset = out.writerIndex() - start;
        out.setShort(start + MESSAGE_LENGTH_OFFSET, fpOffset + FINGERPRINT_ATTRIBUTE_LENGTH - HEADER_LENGTH);
        final int crc = crypto.crc32(out, start, fpOffset) ^ FINGERPRINT_XOR;
        writeAttributeHeader(out, ATTR_FINGERPRINT, FINGERPRINT_VALUE_LENGTH);
        out.writeInt(crc);
    }

    /** Per-thread crypto state; see the class comment. */
    private static final class Crypto {
        private final Mac mac;
        private final CRC32 crc = new CRC32();
        private final byte[] digest = new byte[MESSAGE_INTEGRITY_VALUE_LENGTH];
        private byte[] macKey;
        private byte[] scratch = new byte[1500];

        Crypto() {
            try {
                mac = Mac.getInstance(HMAC_SHA1);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA1 is mandatory in every JRE", e);
            }
        }

        /**
         * HMAC-SHA1 over {@code buf[start, start + miOffset)} with the length field replaced by
         * {@code miOffset + 24 - 20}. Returns the per-thread digest array (valid until the next call).
         */
        byte[] hmac(ByteBuf buf, int start, int miOffset, byte[] key) {
            if (macKey == null || !Arrays.equals(macKey, key)) {
                try {
                    mac.init(new SecretKeySpec(key, HMAC_SHA1));
                } catch (InvalidKeyException e) {
                    throw new IllegalArgumentException("unusable HMAC key", e);
                }
                macKey = key.clone();
            }
            final byte[] bytes = copy(buf, start, miOffset);
            final int adjustedLength = miOffset + MESSAGE_INTEGRITY_ATTRIBUTE_LENGTH - HEADER_LENGTH;
            bytes[MESSAGE_LENGTH_OFFSET] = (byte) (adjustedLength >>> 8);
            bytes[MESSAGE_LENGTH_OFFSET + 1] = (byte) adjustedLength;
            mac.update(bytes, 0, miOffset);
            try {
                mac.doFinal(digest, 0);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("20-byte output buffer is always large enough", e);
            }
            return digest;
        }

        int crc32(ByteBuf buf, int start, int length) {
            final byte[] bytes = copy(buf, start, length);
            crc.reset();
            crc.update(bytes, 0, length);
            return (int) crc.getValue();
        }

        /** Copies into the scratch array so that heap, direct and composite buffers take one path. */
        private byte[] copy(ByteBuf buf, int start, int length) {
            if (scratch.length < length) {
                scratch = new byte[Math.max(length, scratch.length * 2)];
            }
            buf.getBytes(start, scratch, 0, length);
            return scratch;
        }
    }
}
