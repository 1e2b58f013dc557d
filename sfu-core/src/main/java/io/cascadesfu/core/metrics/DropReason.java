package io.cascadesfu.core.metrics;

/**
 * Why a datagram or packet was dropped. A small fixed set so that the {@code reason} tag of
 * {@code sfu_packets_dropped_total} stays bounded.
 */
public enum DropReason {
    /** First byte matches none of STUN, DTLS, RTP/RTCP (RFC 7983). */
    UNKNOWN_PROTOCOL,
    /** Not STUN, from an address no transport has validated. */
    UNKNOWN_ADDRESS,
    STUN_MALFORMED,
    /** A STUN message that is not a Binding request, or names no transport of ours. */
    STUN_UNEXPECTED,
    STUN_UNAUTHORIZED,
    STUN_BAD_REQUEST,
    /** An authenticated STUN check replayed from an address other than the one it first came from. */
    STUN_REPLAYED,
    DTLS_REJECTED,
    /** SRTP/SRTCP before the DTLS handshake finished. */
    NOT_CONNECTED,
    /** A pipe between two workers was full: the receiving worker is overloaded. */
    PIPE_FULL,
    SRTP_AUTH_FAIL,
    SRTP_REPLAY,
    SRTP_INVALID,
    RTP_MALFORMED,
    RTCP_MALFORMED,
    /** RTP whose SSRC (and MID) matches no published track. */
    UNKNOWN_SSRC,
    /** Too old or duplicate for the subscriber's rewriter. */
    RTP_TOO_OLD,
    /** Video held back until a keyframe reaches a new subscriber. */
    WAITING_FOR_KEYFRAME,
    /** The socket could not take the packet. */
    SEND_FAILED,
    /** A resend a subscriber NACKed beyond its retransmission budget (about its stream's own bitrate). */
    RESEND_BUDGET,
    /** ICE-TCP (RFC 4571): a frame of length 0 or above the largest accepted; the connection is closed. */
    TCP_FRAME_INVALID,
    /** ICE-TCP: the first frame was not a STUN Binding request for a known ufrag, or a frame that is none of
     * STUN, DTLS, SRTP came later; the connection is closed. */
    TCP_REJECTED,
    /** ICE-TCP: no first frame in time, or a connection silent for too long; closed. */
    TCP_TIMEOUT,
    /** ICE-TCP: a connection accepted above the cap; closed at once. */
    TCP_CONNECTION_LIMIT,
    /** ICE-TCP: the connection's send buffer is full (the path is slower than the media): packet dropped. */
    TCP_BACKPRESSURE;

    /** The Prometheus tag value. */
    public String tag() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
