package io.cascadesfu.signaling.sdp;

import java.util.List;
import java.util.Objects;

/**
 * What the server agreed to receive in one m-section of a publish PC; the input for creating a Producer.
 *
 * @param mid        a=mid, also carried in the sdes:mid header extension when the SSRC is not signalled
 * @param kind       {@code audio} or {@code video}
 * @param codec      the one accepted codec, rtcp-fb limited to what the answer lists, rtx payload type -1
 * @param extensions accepted header extensions with the offer's ids
 * @param ssrc       media SSRC announced in the offer, -1 if not announced (e.g. rid-based simulcast offer)
 * @param rtxSsrc    always -1 for now: rtx is not negotiated, so the browser retransmits on {@link #ssrc}
 * @param rids       accepted rids; empty while simulcast is not accepted
 * @param streamId   a=msid stream id, {@code ""} if none
 * @param trackId    a=msid track id, {@code ""} if none
 */
public record PublishedTrackInfo(String mid, String kind, CodecDescription codec, List<HeaderExtension> extensions,
        long ssrc, long rtxSsrc, List<String> rids, String streamId, String trackId) {

    public PublishedTrackInfo {
        Objects.requireNonNull(mid, "mid");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(codec, "codec");
        Objects.requireNonNull(streamId, "streamId");
        Objects.requireNonNull(trackId, "trackId");
        extensions = List.copyOf(extensions);
        rids = List.copyOf(rids);
    }
}
