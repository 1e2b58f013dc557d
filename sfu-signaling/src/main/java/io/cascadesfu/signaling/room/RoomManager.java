package io.cascadesfu.signaling.room;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.core.MediaEngine;
import io.cascadesfu.signaling.SignalingConfig;
import io.cascadesfu.signaling.auth.AccessToken;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All rooms of the node. Rooms are made on first join and closed when their last participant
 * leaves.
 *
 * <p>Threading: the engine's control thread only; the counters read by the metrics scrape are volatile.
 */
public final class RoomManager {
    private static final Logger log = LoggerFactory.getLogger(RoomManager.class);
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ID_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789".toCharArray();

    private final MediaEngine engine;
    private final SignalingConfig config;
    private final Map<String, Room> rooms = new HashMap<>();
    private volatile int roomCount;
    private volatile int participantCount;
    private volatile boolean accepting = true;
    /** Set by {@link #drain()}: joins are refused, participants already in stay. */
    private volatile boolean draining;
    /** How often the rooms' audio levels are sampled for the active speakers. */
    static final long SPEAKER_SAMPLE_MS = 500;
    private final java.util.concurrent.ScheduledFuture<?> speakerTimer;
    private CascadeHooks cascade = CascadeHooks.NONE;
    private volatile String nodeId;
    private volatile io.cascadesfu.signaling.auth.TurnCredentials turn;

    /**
     * What the cascade (rooms spanning nodes) is told of this node's rooms. Control thread. Implementations must
     * not call back into the manager from these methods synchronously in a way that re-enters the same room change.
     */
    public interface CascadeHooks {
        CascadeHooks NONE = new CascadeHooks() {
        };

        /** A room was opened here (its first local participant joined): remote participants may be added. */
        default void roomOpened(String room) {
        }

        /** The local participants of a room, or their tracks, changed: the other nodes should hear of it. */
        default void roomChanged(String room) {
        }

        /** The room's last local participant left; its core room is closed. */
        default void roomClosed(String room) {
        }
    }

    /** A track of a participant, as the cascade tells other nodes of it or adds it from another node. */
    public record TrackView(String trackId, io.cascadesfu.signaling.sdp.PublishedTrackInfo info, boolean muted,
                            io.cascadesfu.core.room.Track track) {
    }

    /** A participant of this node, for the cascade. */
    public record ParticipantView(String participantId, String identity, String name, java.util.List<TrackView> tracks) {
    }

    public RoomManager(MediaEngine engine, SignalingConfig config, MeterRegistry registry) {
        this.engine = engine;
        this.config = config;
        Gauge.builder("sfu.rooms", this, m -> m.roomCount).description("Rooms with participants").register(registry);
        Gauge.builder("sfu.participants", this, m -> m.participantCount).description("Joined participants")
                .register(registry);
        this.speakerTimer = engine.control().scheduleAtFixedRate(this::sampleSpeakers, SPEAKER_SAMPLE_MS,
                SPEAKER_SAMPLE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Credentials for the configured TURN server, handed to each participant in {@code joined}; null: none. */
    public void setTurn(io.cascadesfu.signaling.auth.TurnCredentials turn) {
        this.turn = turn;
    }

    /** This node's id in a cluster (sent in {@code joined} and with local participants), or null alone. */
    public void setNodeId(String nodeId) {
        this.nodeId = nodeId == null || nodeId.isBlank() ? null : nodeId;
    }

    public String nodeId() {
        return nodeId;
    }

    public void setCascadeHooks(CascadeHooks hooks) {
        this.cascade = hooks == null ? CascadeHooks.NONE : hooks;
    }

    /** The core room of {@code room} while it has local participants or is held, else null. Control thread. */
    public io.cascadesfu.core.room.Room coreRoom(String room) {
        Room r = rooms.get(room);
        return r == null ? null : r.core;
    }

    /** The local participants of {@code room} and their tracks (empty if none). Control thread. */
    public java.util.List<ParticipantView> localParticipants(String room) {
        Room r = rooms.get(room);
        java.util.List<ParticipantView> list = new ArrayList<>();
        if (r != null) {
            for (Participant p : r.participants()) {
                java.util.List<TrackView> tracks = new ArrayList<>();
                for (PublishedTrack t : p.publishedTracks()) {
                    tracks.add(new TrackView(t.trackId, t.info, t.muted, t.track));
                }
                list.add(new ParticipantView(p.id, p.identity, p.name, tracks));
            }
        }
        return list;
    }

    /**
     * Adds or updates a participant of {@code room} connected to {@code node}: its tracks (published here by the
     * cascade on the relay link's member) are announced to the local participants and received like theirs;
     * tracks no longer listed are announced gone (the cascade closes their core tracks). Ignored if the room has
     * no local participants. Control thread.
     */
    public void putRemote(String room, String node, ParticipantView view) {
        putRemote(room, node, node, view);
    }

    /**
     * As {@link #putRemote(String, String, ParticipantView)}, for a participant of {@code node} whose tracks come over
     * the relay link from {@code via} (a node in between when the direct path is down; {@code node} otherwise). A
     * participant already here moves to the new route, its subscriptions with it.
     */
    public void putRemote(String room, String node, String via, ParticipantView view) {
        Room r = rooms.get(room);
        if (r == null) {
            return;
        }
        RemoteParticipant p = r.remotes.get(view.participantId());
        if (p != null && !p.via.equals(via)) {
            log.info("room={} remote participant={} now reached via {}", room, p.id, via);
            p.via = via;
        }
        if (p == null) {
            p = new RemoteParticipant(view.participantId(), view.identity(), view.name(), node);
            p.via = via;
            r.remotes.put(p.id, p);
            ObjectNode event = JSON.objectNode();
            event.put("type", "participant_joined");
            event.set("participant", p.describe());
            r.broadcast(null, event);
            log.info("room={} remote participant={} identity={} on node {}", room, p.id, p.identity, node);
        }
        java.util.Set<String> listed = new java.util.HashSet<>();
        for (TrackView t : view.tracks()) {
            listed.add(t.trackId());
            PublishedTrack known = p.published.get(t.trackId());
            if (known != null && known.track != t.track()) {
                // The cascade published it again (a new relay link): subscriptions move to the new core track.
                p.published.remove(t.trackId());
                known = null;
            }
            if (known == null) {
                PublishedTrack added = new PublishedTrack(t.trackId(), t.info(), t.track());
                added.muted = t.muted();
                p.published.put(t.trackId(), added);
                ObjectNode event = JSON.objectNode();
                event.put("type", "track_published");
                event.put("participantId", p.id);
                event.set("track", Participant.describe(added));
                r.broadcast(null, event);
            } else if (known.muted != t.muted()) {
                known.muted = t.muted();
                ObjectNode event = JSON.objectNode();
                event.put("type", "track_muted");
                event.put("participantId", p.id);
                event.put("trackId", t.trackId());
                event.put("muted", t.muted());
                r.broadcast(null, event);
            }
        }
        for (String gone : new ArrayList<>(p.published.keySet())) {
            if (!listed.contains(gone)) {
                p.published.remove(gone);
                ObjectNode event = JSON.objectNode();
                event.put("type", "track_unpublished");
                event.put("participantId", p.id);
                event.put("trackId", gone);
                r.broadcast(null, event);
            }
        }
        r.refreshSubscriptions(null);
    }

    /** A participant on another node left {@code room} (or its node went away). Control thread. */
    public void removeRemote(String room, String participantId) {
        Room r = rooms.get(room);
        RemoteParticipant p = r == null ? null : r.remotes.remove(participantId);
        if (p == null) {
            return;
        }
        p.left = true;
        r.speakers.remove(p.id);
        ObjectNode event = JSON.objectNode();
        event.put("type", "participant_left");
        event.put("participantId", p.id);
        r.broadcast(null, event);
        r.refreshSubscriptions(null);
        log.info("room={} remote participant={} left", room, p.id);
    }

    /**
     * Ids of the remote participants of {@code room} whose tracks come over the link from {@code via}. Control
     * thread.
     */
    public java.util.List<String> remotesOn(String room, String via) {
        Room r = rooms.get(room);
        java.util.List<String> ids = new ArrayList<>();
        if (r != null) {
            for (RemoteParticipant p : r.remotes.values()) {
                if (p.via.equals(via)) {
                    ids.add(p.id);
                }
            }
        }
        return ids;
    }

    /** Names of the rooms with local participants. Control thread. */
    public java.util.Set<String> roomNames() {
        return java.util.Set.copyOf(rooms.keySet());
    }

    void localStateChanged(Room room) {
        if (rooms.get(room.name) == room) {
            cascade.roomChanged(room.name);
        }
    }

    static String newId(String prefix) {
        StringBuilder sb = new StringBuilder(prefix);
        for (int i = 0; i < 12; i++) {
            sb.append(ID_CHARS[RANDOM.nextInt(ID_CHARS.length)]);
        }
        return sb.toString();
    }

    MediaEngine engine() {
        return engine;
    }

    SignalingConfig config() {
        return config;
    }

    /** True while joins are accepted: not stopping, not draining ({@code /health}). Any thread. */
    public boolean isAccepting() {
        return accepting && !draining;
    }

    /**
     * Stops accepting joins (they get {@code draining}); the participants already in stay. Idempotent. Any thread.
     */
    public void drain() {
        draining = true;
    }

    /**
     * Tells every local participant to move to another node ({@code reconnect}, with that node's base URL and id
     * when one is known; the client library otherwise picks the next node it knows). Control thread.
     */
    public int hintReconnect(String url, String node, String reason) {
        int told = 0;
        for (Room room : rooms.values()) {
            for (Participant p : room.participants()) {
                ObjectNode m = JSON.objectNode();
                m.put("type", "reconnect");
                m.put("reason", reason);
                if (url != null) {
                    m.put("url", url);
                }
                if (node != null) {
                    m.put("node", node);
                }
                p.connection.send(m);
                told++;
            }
        }
        return told;
    }

    public boolean isDraining() {
        return draining;
    }

    /** The room {@code name} while it has local participants, else null. Control thread. */
    Room room(String name) {
        return rooms.get(name);
    }

    /** Every room with local participants. Control thread. */
    java.util.Collection<Room> rooms() {
        return rooms.values();
    }

    public int roomCount() {
        return roomCount;
    }

    public int participantCount() {
        return participantCount;
    }

    /** Joins a verified token's participant to its room. Returns the session's handle. */
    public ParticipantHandle join(AccessToken token, ClientConnection connection, String requestId)
            throws SignalingException {
        if (!accepting) {
            throw new SignalingException("server_shutting_down", "the node is stopping");
        }
        if (draining) {
            throw new SignalingException("draining", "the node is draining: join another node");
        }
        Room room = rooms.get(token.room());
        if (room != null) {
            Participant previous = room.byIdentity(token.identity());
            if (previous != null) {
                previous.connection.closeWithError("replaced", "the same identity joined again");
                leave(previous, "replaced");
                room = rooms.get(token.room());
            }
        }
        if (room != null && room.size() >= config.maxParticipantsPerRoom()) {
            throw new SignalingException("room_full", "room " + token.room() + " is full");
        }
        boolean opened = false;
        if (room == null) {
            room = new Room(token.room(), engine.rooms().open(token.room()));
            rooms.put(room.name, room);
            roomCount = rooms.size();
            log.info("room={} created", room.name);
            opened = true;
        }
        Participant p = new Participant(newId("PA_"), token.identity(), token.name(), token.grants(), connection,
                room, this);
        ObjectNode joined = JSON.objectNode();
        joined.put("type", "joined");
        if (requestId != null) {
            joined.put("id", requestId);
        }
        joined.put("protocol", 1);
        joined.put("room", room.name);
        joined.put("participantId", p.id);
        joined.put("identity", p.identity);
        if (nodeId != null) {
            joined.put("node", nodeId);
        }
        if (turn != null) {
            joined.set("iceServers", turn.iceServers(p.id));
        }
        ObjectNode grants = joined.putObject("grants");
        grants.put("publish", p.grants.publish());
        grants.put("subscribe", p.grants.subscribe());
        ArrayNode others = joined.putArray("participants");
        for (Participant q : room.participants()) {
            others.add(q.describe());
        }
        for (RemoteParticipant q : room.remotes.values()) {
            others.add(q.describe());
        }
        room.add(p);
        participantCount++;
        connection.send(joined);
        ObjectNode event = JSON.objectNode();
        event.put("type", "participant_joined");
        event.set("participant", p.describe());
        room.broadcast(p, event);
        log.info("room={} participant={} identity={} joined from {}", room.name, p.id, p.identity,
                connection.remoteAddress());
        if (opened) {
            cascade.roomOpened(room.name); // may add the room's participants on other nodes, before the first offer
        }
        p.updateSubscriptions();
        cascade.roomChanged(room.name);
        return new ParticipantHandle(p, this);
    }

    /** Samples the audio levels of every room with two or more participants; control thread. */
    private void sampleSpeakers() {
        for (Room room : rooms.values()) {
            if (room.size() + room.remotes.size() >= 2) {
                room.core.sampleLoudness().thenAcceptAsync(levels -> onLoudness(room, levels), engine.control());
            }
        }
    }

    private void onLoudness(Room room, Map<io.cascadesfu.core.room.Track, Double> levels) {
        if (rooms.get(room.name) != room) {
            return;
        }
        Map<String, Double> byParticipant = new HashMap<>();
        java.util.List<TrackSource> everyone = new ArrayList<>(room.participants());
        everyone.addAll(room.remotes.values());
        for (TrackSource p : everyone) {
            for (PublishedTrack t : p.publishedTracks()) {
                Double v = levels.get(t.track);
                if (v != null && !t.muted) {
                    byParticipant.merge(p.id(), v, Math::max);
                }
            }
        }
        if (room.speakers.update(byParticipant)) {
            ObjectNode event = JSON.objectNode();
            event.put("type", "active_speakers");
            if (room.speakers.dominant() == null) {
                event.putNull("dominant");
            } else {
                event.put("dominant", room.speakers.dominant());
            }
            ArrayNode list = event.putArray("speakers");
            room.speakers.speakers().forEach(list::add);
            room.broadcast(null, event);
        }
    }

    /** Removes a participant: its media stops, the others are told. Idempotent. */
    void leave(Participant p, String reason) {
        if (p.hasLeft()) {
            return;
        }
        Room room = p.room();
        p.close();
        participantCount--;
        room.remove(p);
        room.speakers.remove(p.id);
        log.info("room={} participant={} identity={} left: {}", room.name, p.id, p.identity, reason);
        ObjectNode event = JSON.objectNode();
        event.put("type", "participant_left");
        event.put("participantId", p.id);
        room.broadcast(p, event);
        room.refreshSubscriptions(p);
        if (room.isEmpty() && !room.held && rooms.get(room.name) == room) {
            close(room);
        } else {
            cascade.roomChanged(room.name);
        }
    }

    private void close(Room room) {
        for (RemoteParticipant q : room.remotes.values()) {
            q.left = true;
        }
        room.remotes.clear();
        room.core.close();
        rooms.remove(room.name);
        roomCount = rooms.size();
        log.info("room={} closed", room.name);
        cascade.roomClosed(room.name);
    }

    /**
     * Opens {@code room} here without local participants, or keeps it open when they leave, until
     * {@link #release}: the cascade holds a room on a node in the middle of a route (its peers' participants pass
     * through it). The hooks are not told of the opening; the caller knows. Control thread.
     *
     * @return the core room
     */
    public io.cascadesfu.core.room.Room hold(String name) {
        Room room = rooms.get(name);
        if (room == null) {
            room = new Room(name, engine.rooms().open(name));
            rooms.put(name, room);
            roomCount = rooms.size();
            log.info("room={} opened to pass media on between other nodes", name);
        }
        room.held = true;
        return room.core;
    }

    /** Ends a {@link #hold}: the room closes if it has no local participants (the hooks hear it). Control thread. */
    public void release(String name) {
        Room room = rooms.get(name);
        if (room != null && room.held) {
            room.held = false;
            if (room.isEmpty()) {
                close(room);
            }
        }
    }

    /** Stops accepting joins and disconnects everyone (node shutdown). */
    public void shutdown() {
        accepting = false;
        speakerTimer.cancel(false);
        for (Room room : new ArrayList<>(rooms.values())) {
            for (Participant p : new ArrayList<>(room.participants())) {
                p.connection.closeWithError("server_shutting_down", "the node is stopping");
                leave(p, "node shutting down");
            }
        }
    }
}
