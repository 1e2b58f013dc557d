package io.cascadesfu.core.media;

/**
 * What was negotiated with one subscriber for one track.
 *
 * @param ssrc         SSRC the subscriber sees (announced in its SDP)
 * @param payloadType  payload type the subscriber expects
 * @param extensionIds header extension id map: {@code extensionIds[publisherId] = subscriberId}, 0 removes the element;
 *                     256 entries
 */
public record ConsumerParams(long ssrc, int payloadType, byte[] extensionIds) {
    public ConsumerParams {
        if (extensionIds.length != 256) {
            throw new IllegalArgumentException("extensionIds must have 256 entries");
        }
        extensionIds = extensionIds.clone();
    }
}
