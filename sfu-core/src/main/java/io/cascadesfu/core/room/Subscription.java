package io.cascadesfu.core.room;

import io.cascadesfu.core.media.Consumer;
import io.cascadesfu.core.media.ConsumerParams;

/**
 * One subscriber endpoint receiving one track: a consumer on the subscriber's worker, fed by the track's producer
 * on the same worker or by the track's piped producer there.
 *
 * <p>Threading: control thread; {@link #consumer} is worker-owned (the subscriber's worker).
 */
public final class Subscription {
    final Track track;
    final Endpoint subscriber;
    final ConsumerParams params;
    final PipedTrack via;
    private boolean closed;
    // Worker-owned (subscriber's worker).
    Consumer consumer;

    Subscription(Track track, Endpoint subscriber, ConsumerParams params, PipedTrack via) {
        this.track = track;
        this.subscriber = subscriber;
        this.params = params;
        this.via = via;
    }

    public Track track() {
        return track;
    }

    public Endpoint subscriber() {
        return subscriber;
    }

    /** True when the track reaches the subscriber through a pipe from another worker. */
    public boolean isPiped() {
        return via != null;
    }

    public boolean isClosed() {
        return closed;
    }

    void markClosed() {
        closed = true;
    }

    /** Stops sending the track to the subscriber. Idempotent. */
    public void close() {
        subscriber.member().room().unsubscribe(this);
    }
}
