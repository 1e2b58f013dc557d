package io.cascadesfu.core.room;

import io.cascadesfu.core.media.Consumer;
import io.cascadesfu.core.media.Producer;
import io.cascadesfu.core.pipe.Pipe;
import io.cascadesfu.core.worker.MediaWorker;

/**
 * A track crossing one pipe: a pipe consumer on the origin's router and a producer (the track as the far router
 * sees it) on the destination's router, shared by every subscriber there. Exists while at least one of them
 * subscribes.
 *
 * <p>Threading: control thread; {@link #sourceConsumer} belongs to the origin's worker, {@link #destProducer}
 * to the destination's.
 */
final class PipedTrack {
    final Track track;
    final Pipe pipe;
    final MediaWorker destination;
    final long ssrc;
    int subscribers;
    Consumer sourceConsumer;
    Producer destProducer;

    PipedTrack(Track track, Pipe pipe, MediaWorker destination, long ssrc) {
        this.track = track;
        this.pipe = pipe;
        this.destination = destination;
        this.ssrc = ssrc;
    }
}
