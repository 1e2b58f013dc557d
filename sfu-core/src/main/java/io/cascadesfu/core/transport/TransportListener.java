package io.cascadesfu.core.transport;

import io.netty.buffer.ByteBuf;

/**
 * Receives what a {@link MediaTransport} decrypted or decided. Called on the transport's media
 * event loop. Packets are borrowed: valid only during the call, not to be released or retained
 * (copy or {@code retainedSlice()} to keep them).
 */
public interface TransportListener {

    void onTransportConnected(MediaTransport transport);

    /**
     * A decrypted RTP packet whose header the transport validated ({@code RtpPacket.validate}): its payload starts
     * at {@code payloadOffset}; nobody validates it again.
     */
    void onTransportRtp(MediaTransport transport, ByteBuf packet, int payloadOffset, long nowNs);

    /** A decrypted RTCP compound packet, validated as a whole. */
    void onTransportRtcp(MediaTransport transport, ByteBuf packet, long nowNs);

    /** The transport ended (consent lost, DTLS failure or close_notify, or closed by us). Once. */
    void onTransportClosed(MediaTransport transport, String reason);
}
