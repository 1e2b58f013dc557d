package io.cascadesfu.core.room;

import io.cascadesfu.core.worker.MediaWorker;
import java.util.ArrayList;
import java.util.List;

/**
 * A member of a room as the media plane sees it: placed on one worker, with the endpoints (transports) it
 * uses there and the tracks it publishes. Today a local participant; a remote participant behind a relay
 * link is the next kind.
 *
 * <p>Lifecycle: {@link Room#addMember}, then {@link #close}. Threading: control thread only.
 */
public final class Member {
    private final String id;
    private final Room room;
    private final MediaWorker worker;
    private final List<Endpoint> endpoints = new ArrayList<>(2);
    private final List<Track> tracks = new ArrayList<>();
    private boolean closed;

    Member(String id, Room room, MediaWorker worker) {
        this.id = id;
        this.room = room;
        this.worker = worker;
    }

    public String id() {
        return id;
    }

    public Room room() {
        return room;
    }

    /** The worker this member's transports live on. */
    public MediaWorker worker() {
        return worker;
    }

    public boolean isClosed() {
        return closed;
    }

    /** A WebRTC transport for this member on its worker, with fresh ICE credentials. */
    public Endpoint createWebRtcEndpoint(String endpointId, EndpointListener listener) {
        return createEndpoint(endpointId, Endpoint.WEBRTC, listener);
    }

    /** An endpoint whose transport {@code factory} makes on this member's worker. */
    public Endpoint createEndpoint(String endpointId, Endpoint.TransportFactory factory, EndpointListener listener) {
        room.assertInControl();
        if (closed) {
            throw new IllegalStateException("member " + id + " left");
        }
        Endpoint e = new Endpoint(endpointId, this, room.routerOn(worker), factory, listener);
        endpoints.add(e);
        return e;
    }

    /**
     * Publishes a track received on {@code endpoint}: a producer on this member's worker, available to every
     * subscriber of the room whatever its worker.
     */
    public Track publish(Endpoint endpoint, String trackId, io.cascadesfu.core.media.ProducerParams params) {
        room.assertInControl();
        if (closed || endpoint.member() != this) {
            throw new IllegalStateException("endpoint " + endpoint.id() + " is not a live endpoint of " + id);
        }
        Track t = room.publish(this, endpoint, trackId, params);
        tracks.add(t);
        return t;
    }

    /** Stops publishing a track: every subscription to it closes. */
    public void unpublish(Track track) {
        room.assertInControl();
        if (tracks.remove(track)) {
            room.unpublish(track);
        }
    }

    public List<Track> tracks() {
        return List.copyOf(tracks);
    }

    /** Leaves the room: tracks unpublished, subscriptions and transports closed. Idempotent. */
    public void close(String reason) {
        room.assertInControl();
        if (closed) {
            return;
        }
        closed = true;
        for (Track t : new ArrayList<>(tracks)) {
            room.unpublish(t);
        }
        tracks.clear();
        for (Endpoint e : new ArrayList<>(endpoints)) {
            e.close(reason);
        }
        endpoints.clear();
        room.removeMember(this);
    }

    @Override
    public String toString() {
        return "Member[" + id + " on " + worker + "]";
    }
}
