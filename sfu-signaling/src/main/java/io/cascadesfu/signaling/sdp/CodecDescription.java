package io.cascadesfu.signaling.sdp;

import java.util.List;
import java.util.Objects;

/**
 * One media codec of an m-section (a=rtpmap + a=fmtp + a=rtcp-fb). Retransmission is folded in: an
 * {@code rtx} payload type whose {@code apt} points at this codec is {@link #rtxPayloadType}.
 *
 * @param payloadType  RTP payload type, 0..127
 * @param name         encoding name as written (e.g. {@code opus}, {@code VP8}, {@code H264})
 * @param clockRate    RTP clock rate in Hz
 * @param channels     audio channels; when a=rtpmap has no channel count: 1 for audio, 0 for other kinds
 * @param fmtp         a=fmtp parameters as written, {@code ""} if none
 * @param rtcpFeedback a=rtcp-fb values in order, e.g. {@code "nack"}, {@code "nack pli"}, {@code "ccm fir"}
 * @param rtxPayloadType payload type of the associated rtx format, -1 if none
 */
public record CodecDescription(int payloadType, String name, int clockRate, int channels, String fmtp,
        List<String> rtcpFeedback, int rtxPayloadType) {

    public CodecDescription {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(fmtp, "fmtp");
        rtcpFeedback = List.copyOf(rtcpFeedback);
    }

    /** The same codec with other feedback and rtx payload type (used when answering a subset). */
    public CodecDescription withFeedbackAndRtx(List<String> feedback, int rtxPt) {
        return new CodecDescription(payloadType, name, clockRate, channels, fmtp, feedback, rtxPt);
    }
}
