package io.cascadesfu.core.media;

import io.cascadesfu.core.rtp.Codec;

/**
 * What a publisher negotiated for one track.
 *
 * @param mid            the publisher's m-section id, used to bind the SSRC when the SDP had none
 * @param ssrc           the primary media SSRC, or -1 to learn it from the MID header extension
 * @param payloadType    the payload type the publisher sends
 * @param midExtensionId the RFC 8843 MID header extension id the publisher uses, 0 if none
 * @param askForLoss     NACK the publisher for gaps (video). False where the publisher is a lossless link whose far
 *                       side repairs loss itself (a pipe between workers)
 * @param audioLevelExtensionId the RFC 6464 audio level extension id the publisher uses, 0 if none
 */
public record ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                             int midExtensionId, boolean askForLoss, int audioLevelExtensionId) {
    public ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                          int midExtensionId) {
        this(mid, kind, codec, payloadType, clockRate, ssrc, midExtensionId, true, 0);
    }

    public ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                          int midExtensionId, boolean askForLoss) {
        this(mid, kind, codec, payloadType, clockRate, ssrc, midExtensionId, askForLoss, 0);
    }
}
