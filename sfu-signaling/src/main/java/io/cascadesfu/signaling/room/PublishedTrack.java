package io.cascadesfu.signaling.room;

import io.cascadesfu.core.media.Producer;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;

/** A track a participant publishes: what its SDP said, and the producer forwarding it. Media loop only. */
final class PublishedTrack {
    final String trackId;
    final PublishedTrackInfo info;
    final Producer producer;
    boolean muted;

    PublishedTrack(String trackId, PublishedTrackInfo info, Producer producer) {
        this.trackId = trackId;
        this.info = info;
        this.producer = producer;
    }

    String kind() {
        return info.kind();
    }
}
