package io.cascadesfu.signaling.room;

import io.cascadesfu.core.room.Track;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;

/** A track a participant publishes: what its SDP said, and the core's track forwarding it. Control thread only. */
final class PublishedTrack {
    final String trackId;
    final PublishedTrackInfo info;
    final Track track;
    boolean muted;

    PublishedTrack(String trackId, PublishedTrackInfo info, Track track) {
        this.trackId = trackId;
        this.info = info;
        this.track = track;
    }

    String kind() {
        return info.kind();
    }
}
