package io.cascadesfu.core.transport;

import io.netty.buffer.ByteBuf;

/**
 * Something that carries RTP and RTCP between this node and one peer: a browser's
 * {@link WebRtcTransport} today, a relay link to a peer node later. The forwarding core
 * ({@code io.cascadesfu.core.media}) only ever sees this interface.
 *
 * <p>Threading: every method is called on the worker event loop that owns the transport.
 */
public interface MediaTransport {

    /** Stable id for logs and metrics. */
    String id();

    /** True once packets can flow (for WebRTC: ICE selected a pair and DTLS finished). */
    boolean isConnected();

    /**
     * Sends one plain RTP packet (readerIndex..writerIndex). Takes ownership: the buffer is
     * always released by the transport, sent or not.
     */
    void sendRtp(ByteBuf packet);

    /**
     * Sends one plain RTP packet already validated, whose payload starts at {@code payloadOffset}; a transport that
     * hands packets to another router (a pipe) passes the offset on, so the far side does not validate again.
     * Takes ownership like {@link #sendRtp(ByteBuf)}.
     */
    default void sendRtp(ByteBuf packet, int payloadOffset) {
        sendRtp(packet);
    }

    /** Sends one plain RTCP compound packet. Takes ownership like {@link #sendRtp}. */
    void sendRtcp(ByteBuf packet);

    /** Pushes out what {@code sendRtp}/{@code sendRtcp} queued outside a receive burst. */
    void flush();

    void setListener(TransportListener listener);

    /** One of our outgoing streams on this transport ended (its consumer closed): drop its per-SSRC state. */
    default void onSsrcRetired(long ssrc) {
    }

    /** Stops the transport; the listener gets {@code onTransportClosed} once. Idempotent. */
    void close(String reason);

    /**
     * Whether the transport-wide sequence numbers in what arrives were stamped for this transport (a browser's
     * transport, a relay link whose serving node numbers each hop): the node reports their arrival back, for the
     * sender's congestion control. False for a pipe between workers, which passes the publisher's own numbers.
     */
    default boolean carriesTransportWideNumbers() {
        return true;
    }

    /**
     * Whether the far end is a pipe end of this project (a worker's pipe, a relay link) that reads layer requests:
     * the producers on such a transport ask it for only the layers their consumers want.
     */
    default boolean understandsLayerRequests() {
        return false;
    }

    /**
     * The transport-wide state this transport shares with others on the same wire (a relay link's room channels),
     * or null when it has its own.
     */
    default io.cascadesfu.core.bwe.TransportWide sharedTransportWide() {
        return null;
    }

    /** This transport's slot in {@link #sharedTransportWide()} (unique among those sharing it). */
    default int sharedSlot() {
        return -1;
    }

    /**
     * The SSRC the peer on this transport must send its own RTCP from (a relay channel's: the far node routes by
     * it), or -1 for a random one.
     */
    default long rtcpSsrc() {
        return -1;
    }
}
