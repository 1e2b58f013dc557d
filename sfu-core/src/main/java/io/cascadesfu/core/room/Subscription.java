package io.cascadesfu.core.room;

import io.cascadesfu.core.media.Consumer;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.SimpleConsumer;

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
    /** A relay to another node: every layer, SSRCs mapped from {@code params.ssrc()}, nothing else rewritten. */
    final boolean relay;
    private boolean closed;
    // Written on the control thread, read on the subscriber's worker in the task that follows each write.
    private volatile int maxLayer = SimpleConsumer.ANY_LAYER;
    private volatile int maxHeight;
    // Worker-owned (subscriber's worker).
    Consumer consumer;

    Subscription(Track track, Endpoint subscriber, ConsumerParams params, PipedTrack via, boolean relay) {
        this.track = track;
        this.subscriber = subscriber;
        this.params = params;
        this.via = via;
        this.relay = relay;
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

    /**
     * What the subscriber wants of a simulcast video: at most layer {@code maxLayer} (0 lowest;
     * {@link SimpleConsumer#ANY_LAYER} any; -1 pauses the track: nothing is sent until it is wanted again) and no
     * more than the lowest layer at least {@code height} lines tall (0: no size). Applies at the next keyframe of
     * the layer chosen. Control thread.
     */
    public void setPreference(int maxLayer, int height) {
        this.maxLayer = maxLayer;
        this.maxHeight = height;
        subscriber.member().room().preferenceChanged(this);
    }

    public int maxLayer() {
        return maxLayer;
    }

    /** Subscriber's worker. */
    void applyPreference() {
        if (consumer instanceof SimpleConsumer simple) {
            simple.setPreference(maxLayer, maxHeight);
        }
    }

    /** Stops sending the track to the subscriber. Idempotent. */
    public void close() {
        subscriber.member().room().unsubscribe(this);
    }
}
