package io.cascadesfu.core.dtls;

/**
 * Sends one DTLS datagram to the peer. Called from a handshake-executor thread (and from {@code close()}'s
 * caller); the implementation copies {@code data[offset, offset + length)} before returning, typically
 * into a ByteBuf written on the transport's event loop. Must not block.
 */
@FunctionalInterface
public interface DatagramSender {
    void send(byte[] data, int offset, int length);
}
