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
    /** How often the rooms' audio levels are sampled for the active speakers. */
    static final long SPEAKER_SAMPLE_MS = 500;
    private final java.util.concurrent.ScheduledFuture<?> speakerTimer;

    public RoomManager(MediaEngine engine, SignalingConfig config, MeterRegistry registry) {
        this.engine = engine;
        this.config = config;
        Gauge.builder("sfu.rooms", this, m -> m.roomCount).description("Rooms with participants").register(registry);
        Gauge.builder("sfu.participants", this, m -> m.participantCount).description("Joined participants")
                .register(registry);
        this.speakerTimer = engine.control().scheduleAtFixedRate(this::sampleSpeakers, SPEAKER_SAMPLE_MS,
                SPEAKER_SAMPLE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
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

    public boolean isAccepting() {
        return accepting;
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
        if (room == null) {
            room = new Room(token.room(), engine.rooms().open(token.room()));
            rooms.put(room.name, room);
            roomCount = rooms.size();
            log.info("room={} created", room.name);
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
        ObjectNode grants = joined.putObject("grants");
        grants.put("publish", p.grants.publish());
        grants.put("subscribe", p.grants.subscribe());
        ArrayNode others = joined.putArray("participants");
        for (Participant q : room.participants()) {
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
        p.updateSubscriptions();
        return new ParticipantHandle(p, this);
    }

    /** Samples the audio levels of every room with two or more participants; control thread. */
    private void sampleSpeakers() {
        for (Room room : rooms.values()) {
            if (room.size() >= 2) {
                room.core.sampleLoudness().thenAcceptAsync(levels -> onLoudness(room, levels), engine.control());
            }
        }
    }

    private void onLoudness(Room room, Map<io.cascadesfu.core.room.Track, Double> levels) {
        if (rooms.get(room.name) != room) {
            return;
        }
        Map<String, Double> byParticipant = new HashMap<>();
        for (Participant p : room.participants()) {
            for (PublishedTrack t : p.publishedTracks()) {
                Double v = levels.get(t.track);
                if (v != null && !t.muted) {
                    byParticipant.merge(p.id, v, Math::max);
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
        if (room.isEmpty() && rooms.get(room.name) == room) {
            room.core.close();
            rooms.remove(room.name);
            roomCount = rooms.size();
            log.info("room={} closed", room.name);
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
