package io.cascadesfu.signaling.sdp;

import java.util.List;
import java.util.Objects;

/**
 * One m-section of a subscribe PC. Slots are never removed: when the forwarded track goes away the slot becomes
 * inactive, so m-line order is stable. The signaling layer decides when an inactive slot carries another track of
 * the same kind (only once the PC has {@code rooms.maxSubscribeSections} sections).
 *
 * @param mid        a=mid, unique within the PC
 * @param kind       {@code audio} or {@code video}
 * @param active     true: a=sendonly with msid/ssrc; false: a=inactive, no msid/ssrc
 * @param codec      codec sent in this slot; its rtx payload type, if not -1, is offered as rtx with apt
 * @param extensions header extensions the server writes
 * @param ssrc       SSRC the server sends with (ignored when inactive)
 * @param cname      RTCP CNAME announced for {@link #ssrc}
 * @param streamId   MediaStream id the browser groups the track into
 * @param trackId    track id
 * @param rtxSsrc    SSRC of the retransmission stream (RFC 4588, grouped with {@link #ssrc} by a=ssrc-group:FID), -1
 *                   if none
 */
public record SubscriberSlot(String mid, String kind, boolean active, CodecDescription codec,
        List<HeaderExtension> extensions, long ssrc, String cname, String streamId, String trackId, long rtxSsrc) {

    public SubscriberSlot(String mid, String kind, boolean active, CodecDescription codec,
            List<HeaderExtension> extensions, long ssrc, String cname, String streamId, String trackId) {
        this(mid, kind, active, codec, extensions, ssrc, cname, streamId, trackId, -1);
    }

    public SubscriberSlot {
        Objects.requireNonNull(mid, "mid");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(codec, "codec");
        Objects.requireNonNull(cname, "cname");
        Objects.requireNonNull(streamId, "streamId");
        Objects.requireNonNull(trackId, "trackId");
        extensions = List.copyOf(extensions);
    }
}
