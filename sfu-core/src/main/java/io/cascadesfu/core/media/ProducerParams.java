package io.cascadesfu.core.media;

import io.cascadesfu.core.rtp.Codec;
import java.util.List;
import java.util.Objects;

/**
 * What a publisher negotiated for one track.
 *
 * @param mid            the publisher's m-section id, used to bind the SSRC when the SDP had none
 * @param ssrc           the primary media SSRC, or -1 to learn the SSRCs from the MID (and RID) header extensions.
 *                       A track with several streams whose SSRCs are known (a pipe) has stream {@code i} on
 *                       {@code ssrc + i}
 * @param payloadType    the payload type the publisher sends
 * @param midExtensionId the RFC 8843 MID header extension id the publisher uses, 0 if none
 * @param askForLoss     NACK the publisher for gaps (video). False where the publisher is a lossless link whose far
 *                       side repairs loss itself (a pipe between workers)
 * @param audioLevelExtensionId the RFC 6464 audio level extension id the publisher uses, 0 if none
 * @param rids           simulcast stream ids (RFC 8851), lowest quality first; empty: one stream. At most
 *                       {@link #MAX_STREAMS}
 * @param ridExtensionId the RFC 8852 rtp-stream-id header extension id, 0 if none
 * @param transportCcExtensionId the transport-wide sequence number extension id (draft-holmer-rmcat-transport-wide-
 *                       cc-extensions-01) the publisher stamps, 0 if not negotiated: the node then sends the
 *                       publisher transport-cc feedback, from which its congestion control finds the bandwidth
 * @param audioNack      audio only: the publisher negotiated generic NACK for it (RFC 4585), so gaps are asked for
 *                       as they are for video (with {@code askForLoss})
 */
public record ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                             int midExtensionId, boolean askForLoss, int audioLevelExtensionId, List<String> rids,
                             int ridExtensionId, int transportCcExtensionId, boolean audioNack) {
    /** Streams (simulcast layers) one track may have. */
    public static final int MAX_STREAMS = 4;

    public ProducerParams {
        Objects.requireNonNull(mid, "mid");
        Objects.requireNonNull(kind, "kind");
        rids = List.copyOf(rids);
        if (rids.size() > MAX_STREAMS) {
            throw new IllegalArgumentException("at most " + MAX_STREAMS + " simulcast streams, got " + rids.size());
        }
    }

    public ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                          int midExtensionId, boolean askForLoss, int audioLevelExtensionId, List<String> rids,
                          int ridExtensionId, int transportCcExtensionId) {
        this(mid, kind, codec, payloadType, clockRate, ssrc, midExtensionId, askForLoss, audioLevelExtensionId, rids,
                ridExtensionId, transportCcExtensionId, false);
    }

    public ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                          int midExtensionId, boolean askForLoss, int audioLevelExtensionId, List<String> rids,
                          int ridExtensionId) {
        this(mid, kind, codec, payloadType, clockRate, ssrc, midExtensionId, askForLoss, audioLevelExtensionId, rids,
                ridExtensionId, 0);
    }

    public ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                          int midExtensionId, boolean askForLoss, int audioLevelExtensionId) {
        this(mid, kind, codec, payloadType, clockRate, ssrc, midExtensionId, askForLoss, audioLevelExtensionId,
                List.of(), 0);
    }

    public ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                          int midExtensionId) {
        this(mid, kind, codec, payloadType, clockRate, ssrc, midExtensionId, true, 0);
    }

    public ProducerParams(String mid, TrackKind kind, Codec codec, int payloadType, int clockRate, long ssrc,
                          int midExtensionId, boolean askForLoss) {
        this(mid, kind, codec, payloadType, clockRate, ssrc, midExtensionId, askForLoss, 0);
    }

    /** Streams of the track: one per rid, or one. */
    public int streamCount() {
        return Math.max(1, rids.size());
    }

    /**
     * The same track as seen through a pipe: streams on {@code pipeSsrc + i}, no loss to ask for, nothing to bind,
     * no audio level to sample (the origin samples it). The transport-wide number element stays (the far side's
     * consumers stamp it for their subscribers), but no feedback goes back through the pipe ({@code askForLoss}
     * false: nothing is lost or congested inside the node).
     */
    public ProducerParams piped(long pipeSsrc) {
        return new ProducerParams(mid, kind, codec, payloadType, clockRate, pipeSsrc, 0, false, 0, rids, 0,
                transportCcExtensionId);
    }
}
