package io.cascadesfu.core.media;

/**
 * What was negotiated with one subscriber for one track.
 *
 * @param ssrc         SSRC the subscriber sees (announced in its SDP)
 * @param payloadType  payload type the subscriber expects
 * @param extensionIds header extension id map: {@code extensionIds[publisherId] = subscriberId}, 0 removes the element;
 *                     256 entries
 * @param rtxSsrc      SSRC of the subscriber's retransmission stream (RFC 4588), -1 if rtx was not negotiated:
 *                     retransmissions then go in the stream itself, numbered as first sent
 * @param rtxPayloadType payload type of rtx for this stream's codec, -1 if none
 * @param red          how RFC 2198 redundancy (Opus red) is passed on, null if the publisher sends none
 * @param midExtensionId subscriber-side id (1..14) of the {@code sdes:mid} header extension (RFC 8843): every
 *                     packet sent gets an element with {@link #mid}; 0 if not negotiated. The publisher's own mid
 *                     element must be removed by {@link #extensionIds}
 * @param mid          the subscriber's mid of the m-section this track is sent in, ASCII, 1..16 bytes; null when
 *                     {@code midExtensionId} is 0
 * @param audioNack    audio only: the subscriber negotiated generic NACK for it (RFC 4585), so the node keeps the
 *                     track's recent packets and resends those asked for (video is always NACKable)
 */
public record ConsumerParams(long ssrc, int payloadType, byte[] extensionIds, long rtxSsrc, int rtxPayloadType,
                             RedMapping red, int midExtensionId, String mid, boolean audioNack) {

    public ConsumerParams(long ssrc, int payloadType, byte[] extensionIds, long rtxSsrc, int rtxPayloadType,
                          RedMapping red, int midExtensionId, String mid) {
        this(ssrc, payloadType, extensionIds, rtxSsrc, rtxPayloadType, red, midExtensionId, mid, false);
    }

    public ConsumerParams(long ssrc, int payloadType, byte[] extensionIds, long rtxSsrc, int rtxPayloadType,
                          RedMapping red) {
        this(ssrc, payloadType, extensionIds, rtxSsrc, rtxPayloadType, red, 0, null);
    }

    /**
     * Red from a publisher: its red and primary payload types, and the subscriber's red payload type (-1: it did not
     * take red, so each red packet is cut down to its primary block) and primary payload type.
     */
    public record RedMapping(int publisherRed, int publisherPrimary, int subscriberRed, int subscriberPrimary) {
    }

    public ConsumerParams(long ssrc, int payloadType, byte[] extensionIds, long rtxSsrc, int rtxPayloadType) {
        this(ssrc, payloadType, extensionIds, rtxSsrc, rtxPayloadType, null);
    }
    private static final byte[] IDENTITY_EXTENSIONS = identity();

    /** Params that keep the payload type and every header extension id as they are. */
    public static ConsumerParams unchanged(long ssrc, int payloadType) {
        return new ConsumerParams(ssrc, payloadType, IDENTITY_EXTENSIONS);
    }

    public ConsumerParams(long ssrc, int payloadType, byte[] extensionIds) {
        this(ssrc, payloadType, extensionIds, -1, -1, null);
    }

    public boolean hasRtx() {
        return rtxSsrc >= 0 && rtxPayloadType >= 0;
    }

    private static byte[] identity() {
        byte[] ids = new byte[256];
        for (int i = 0; i < 256; i++) {
            ids[i] = (byte) i;
        }
        return ids;
    }

    public ConsumerParams {
        if (extensionIds.length != 256) {
            throw new IllegalArgumentException("extensionIds must have 256 entries");
        }
        extensionIds = extensionIds.clone();
        if (midExtensionId != 0 && (midExtensionId < 1 || midExtensionId > 14 || mid == null || mid.isEmpty()
                || mid.length() > 16 || !mid.chars().allMatch(c -> c > ' ' && c < 0x7f))) {
            throw new IllegalArgumentException("mid extension " + midExtensionId + " with mid '" + mid
                    + "': expected an id 1..14 and 1..16 printable ASCII characters");
        }
    }

    /** {@link #mid} as the bytes of the extension element, null if none. */
    public byte[] midBytes() {
        return midExtensionId == 0 ? null : mid.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
