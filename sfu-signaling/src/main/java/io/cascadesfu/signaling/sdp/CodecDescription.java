package io.cascadesfu.signaling.sdp;

import java.util.List;
import java.util.Objects;

/**
 * One media codec of an m-section (a=rtpmap + a=fmtp + a=rtcp-fb). Retransmission and redundancy are folded
 * in: an {@code rtx} payload type whose {@code apt} points at this codec is {@link #rtxPayloadType}; a {@code red}
 * payload type (RFC 2198) whose fmtp names only this codec ({@code 111/111}) is {@link #redPayloadType}.
 *
 * @param payloadType  RTP payload type, 0..127
 * @param name         encoding name as written (e.g. {@code opus}, {@code VP8}, {@code H264})
 * @param clockRate    RTP clock rate in Hz
 * @param channels     audio channels; when a=rtpmap has no channel count: 1 for audio, 0 for other kinds
 * @param fmtp         a=fmtp parameters as written, {@code ""} if none
 * @param rtcpFeedback a=rtcp-fb values in order, e.g. {@code "nack"}, {@code "nack pli"}, {@code "ccm fir"}
 * @param rtxPayloadType payload type of the associated rtx format, -1 if none
 * @param redPayloadType payload type of red carrying this codec, -1 if none
 */
public record CodecDescription(int payloadType, String name, int clockRate, int channels, String fmtp,
        List<String> rtcpFeedback, int rtxPayloadType, int redPayloadType) {

    public CodecDescription(int payloadType, String name, int clockRate, int channels, String fmtp,
            List<String> rtcpFeedback, int rtxPayloadType) {
        this(payloadType, name, clockRate, channels, fmtp, rtcpFeedback, rtxPayloadType, -1);
    }

    public CodecDescription {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(fmtp, "fmtp");
        rtcpFeedback = List.copyOf(rtcpFeedback);
    }

    /** The same codec with other feedback and rtx payload type (used when answering a subset). */
    public CodecDescription withFeedbackAndRtx(List<String> feedback, int rtxPt) {
        return new CodecDescription(payloadType, name, clockRate, channels, fmtp, feedback, rtxPt, redPayloadType);
    }

    /** The same codec with another red payload type (-1: none). */
    public CodecDescription withRed(int redPt) {
        return new CodecDescription(payloadType, name, clockRate, channels, fmtp, rtcpFeedback, rtxPayloadType, redPt);
    }

    /** The m-line formats of this codec: red first where there is red (the sender then prefers it), then rtx. */
    public String formats() {
        StringBuilder f = new StringBuilder();
        if (redPayloadType >= 0) {
            f.append(redPayloadType).append(' ');
        }
        f.append(payloadType);
        if (rtxPayloadType >= 0) {
            f.append(' ').append(rtxPayloadType);
        }
        return f.toString();
    }
}
