package io.cascadesfu.core.dtls;

import io.netty.buffer.ByteBuf;

/**
 * Shape checks on DTLS datagrams before they are queued for BouncyCastle (RFC 6347 4.1):
 * <pre>
 *  0               1               2               3
 * +---------------+---------------+---------------+---------------+
 * | content type  |  version (0xFE, minor)        |     epoch ...
 * +---------------+---------------+---------------+---------------+
 *   ... epoch     |            sequence_number (48 bits) ...
 * +---------------+---------------+---------------+---------------+
 *                 ...                             |    length ...
 * +---------------+---------------+---------------+---------------+
 *   ... length    |  fragment (length bytes), then the next record
 * </pre>
 * A datagram passes only if it is a whole number of records with known content types, so random bytes
 * are dropped here instead of costing a handshake thread.
 */
final class DtlsRecords {

    static final int RECORD_HEADER_LENGTH = 13;
    private static final int OFFSET_VERSION_MAJOR = 1;
    private static final int OFFSET_EPOCH = 3;
    private static final int OFFSET_LENGTH = 11;
    private static final int DTLS_VERSION_MAJOR = 0xFE;
    private static final int CONTENT_CHANGE_CIPHER_SPEC = 20;
    private static final int CONTENT_HEARTBEAT = 24;
    private static final int CONTENT_HANDSHAKE = 22;
    private static final int HANDSHAKE_CLIENT_HELLO = 1;

    private DtlsRecords() {
    }

    /** True if {@code datagram[readerIndex, writerIndex)} is a sequence of well-formed DTLS record headers. */
    static boolean isWellFormed(ByteBuf datagram) {
        int index = datagram.readerIndex();
        int end = datagram.writerIndex();
        if (index >= end) {
            return false;
        }
        while (index < end) {
            if (end - index < RECORD_HEADER_LENGTH) {
                return false;
            }
            int type = datagram.getUnsignedByte(index);
            if (type < CONTENT_CHANGE_CIPHER_SPEC || type > CONTENT_HEARTBEAT) {
                return false;
            }
            if (datagram.getUnsignedByte(index + OFFSET_VERSION_MAJOR) != DTLS_VERSION_MAJOR) {
                return false;
            }
            int length = datagram.getUnsignedShort(index + OFFSET_LENGTH);
            index += RECORD_HEADER_LENGTH + length;
        }
        return index == end;
    }

    /** True if the first record is an epoch-0 handshake record starting a ClientHello. Assumes well-formed. */
    static boolean startsWithClientHello(ByteBuf datagram) {
        int index = datagram.readerIndex();
        return datagram.readableBytes() > RECORD_HEADER_LENGTH
            && datagram.getUnsignedByte(index) == CONTENT_HANDSHAKE
            && datagram.getUnsignedShort(index + OFFSET_EPOCH) == 0
            && datagram.getUnsignedByte(index + RECORD_HEADER_LENGTH) == HANDSHAKE_CLIENT_HELLO;
    }
}
