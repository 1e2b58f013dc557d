package io.cascadesfu.core.room;

import io.cascadesfu.core.media.Producer;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.worker.MediaWorker;
import java.util.ArrayList;
import java.util.List;

/**
 * A published track: a node-wide id, its origin (the member and endpoint it arrives on), and the producer that
 * receives it on the origin's worker. Where subscribers on other workers want it, it crosses to each of them
 * once, through the room's pipe ({@link PipedTrack}).
 *
 * <p>Threading: control thread; {@link #producer} is worker-owned (the origin's worker).
 */
public final class Track {
    private final String id;
    private final Member origin;
    private final Endpoint endpoint;
    private final ProducerParams params;
    final List<Subscription> subscriptions = new ArrayList<>();
    /** Index: destination worker. */
    final PipedTrack[] piped;
    private boolean closed;
    // Worker-owned (origin worker).
    Producer producer;

    Track(String id, Member origin, Endpoint endpoint, ProducerParams params, int workers) {
        this.id = id;
        this.origin = origin;
        this.endpoint = endpoint;
        this.params = params;
        this.piped = new PipedTrack[workers];
    }

    public String id() {
        return id;
    }

    public Member origin() {
        return origin;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    public ProducerParams params() {
        return params;
    }

    public TrackKind kind() {
        return params.kind();
    }

    public MediaWorker worker() {
        return endpoint.worker();
    }

    public boolean isClosed() {
        return closed;
    }

    void markClosed() {
        closed = true;
    }

    /** Subscriptions to this track (subscribers and relay links). Control thread. */
    /**
     * Stops (or resumes) forwarding this track to everyone, on this node and over pipes and relay links: what an
     * operator's mute does. On resume a keyframe is asked for. Control thread.
     */
    public void setPaused(boolean paused) {
        this.paused = paused;
        endpoint.worker().execute(() -> {
            if (producer != null) {
                producer.setPaused(paused, System.nanoTime());
            }
        });
        // Its copies behind pipes too, so that their consumers also start again from a keyframe on resume.
        for (PipedTrack p : piped) {
            if (p != null) {
                p.destination.execute(() -> {
                    if (p.destProducer != null) {
                        p.destProducer.setPaused(paused, System.nanoTime());
                    }
                });
            }
        }
    }

    /** Set by {@link #setPaused}; control thread. */
    boolean paused;

    public boolean isPaused() {
        return paused;
    }

    public int subscriptionCount() {
        return subscriptions.size();
    }

    /** Workers (other than the origin's) the track crosses to now. */
    public int pipedWorkers() {
        int n = 0;
        for (PipedTrack p : piped) {
            if (p != null) {
                n++;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "Track[" + id + " " + params.kind() + " from " + origin.id() + "]";
    }
}
