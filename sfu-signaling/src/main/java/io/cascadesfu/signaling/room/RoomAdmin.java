package io.cascadesfu.signaling.room;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the admin API reads of this node's rooms and does to them: views as plain records (the server module
 * writes them as JSON), and the operator's actions, which go through the same paths as the participants' own
 * (a removed participant leaves as after {@code leave}, an operator's mute is announced as a {@code mute}).
 *
 * <p>Threading: the engine's control thread only, like the {@link RoomManager}.
 */
public final class RoomAdmin {
    private static final Logger log = LoggerFactory.getLogger(RoomAdmin.class);

    private final RoomManager manager;

    public RoomAdmin(RoomManager manager) {
        this.manager = manager;
    }

    /** A room in the list: participants here and on other nodes, and the tracks of all of them. */
    public record RoomSummary(String room, int localParticipants, int remoteParticipants, int tracks) {
    }

    /**
     * A published track.
     *
     * @param layers      the simulcast rids, lowest first; empty for a single stream
     * @param subscribers subscriptions to it on this node (local subscribers and relay links to other nodes)
     */
    public record TrackInfo(String trackId, String kind, String mid, String codec, boolean muted, List<String> layers,
                            int subscribers) {
    }

    /**
     * A participant of a room.
     *
     * @param node          null for a participant of this node, else the id of the node it is connected to
     * @param joinedAt      when it joined this node; null for a participant of another node
     * @param subscriptions tracks it receives now; -1 for a participant of another node (its node knows)
     */
    public record ParticipantInfo(String participantId, String identity, String name, String node, Instant joinedAt,
                                  List<TrackInfo> tracks, int subscriptions) {
    }

    public record RoomInfo(String room, List<ParticipantInfo> participants) {
    }

    /** How an action ended. */
    public enum Outcome {
        DONE,
        /** Nothing changed: the track was already in that state. */
        UNCHANGED,
        NO_ROOM,
        NO_PARTICIPANT,
        NO_TRACK,
        /** The participant (or the track's publisher) is connected to another node: act there. */
        NOT_LOCAL
    }

    /**
     * @param participantId the participant acted on (for a mute: the track's publisher), or null
     * @param node          for {@link Outcome#NOT_LOCAL}: the node it is on
     */
    public record Result(Outcome outcome, String participantId, String node) {
        static Result of(Outcome outcome) {
            return new Result(outcome, null, null);
        }
    }

    /** Every room with participants on this node, in no particular order. */
    public List<RoomSummary> rooms() {
        List<RoomSummary> list = new ArrayList<>();
        for (Room r : manager.rooms()) {
            int tracks = 0;
            for (Participant p : r.participants()) {
                tracks += p.publishedTracks().size();
            }
            for (RemoteParticipant p : r.remotes.values()) {
                tracks += p.publishedTracks().size();
            }
            list.add(new RoomSummary(r.name, r.size(), r.remotes.size(), tracks));
        }
        return list;
    }

    /** The participants of {@code room}, this node's first, in the order they joined; null if there is no such room. */
    public RoomInfo room(String room) {
        Room r = manager.room(room);
        if (r == null) {
            return null;
        }
        List<ParticipantInfo> list = new ArrayList<>();
        for (Participant p : r.participants()) {
            list.add(new ParticipantInfo(p.id, p.identity, p.name, null, p.joinedAt, tracks(p),
                    p.subscriptionCount()));
        }
        for (RemoteParticipant p : r.remotes.values()) {
            list.add(new ParticipantInfo(p.id, p.identity, p.name, p.node, null, tracks(p), -1));
        }
        return new RoomInfo(r.name, list);
    }

    private static List<TrackInfo> tracks(TrackSource p) {
        List<TrackInfo> list = new ArrayList<>();
        for (PublishedTrack t : p.publishedTracks()) {
            list.add(new TrackInfo(t.trackId, t.kind(), t.info.mid(), t.info.codec().name(), t.muted,
                    List.copyOf(t.info.rids()), t.track.subscriptionCount()));
        }
        return list;
    }

    /**
     * Removes a participant of this node: its socket gets {@code error removed} and is closed, the others see it
     * leave as after {@code leave}.
     */
    public Result removeParticipant(String room, String participantId) {
        Room r = manager.room(room);
        if (r == null) {
            return Result.of(Outcome.NO_ROOM);
        }
        for (Participant p : r.participants()) {
            if (p.id.equals(participantId)) {
                p.connection.closeWithError("removed", "removed from the room by the operator");
                manager.leave(p, "removed by the operator");
                return new Result(Outcome.DONE, p.id, null);
            }
        }
        RemoteParticipant remote = r.remotes.get(participantId);
        return remote == null ? Result.of(Outcome.NO_PARTICIPANT)
                : new Result(Outcome.NOT_LOCAL, remote.id, remote.node);
    }

    /**
     * Mutes or unmutes a track of a participant of this node, as if it had sent {@code mute}; the publisher is told
     * too ({@code track_muted} with its own id).
     */
    public Result muteTrack(String room, String trackId, boolean muted) {
        Room r = manager.room(room);
        if (r == null) {
            return Result.of(Outcome.NO_ROOM);
        }
        for (Participant p : r.participants()) {
            for (PublishedTrack t : p.publishedTracks()) {
                if (t.trackId.equals(trackId)) {
                    boolean changed = p.muteByOperator(t, muted);
                    if (changed) {
                        log.info("room={} participant={} track {} {} by the operator", r.name, p.id, trackId,
                                muted ? "muted" : "unmuted");
                    }
                    return new Result(changed ? Outcome.DONE : Outcome.UNCHANGED, p.id, null);
                }
            }
        }
        for (RemoteParticipant p : r.remotes.values()) {
            if (p.published.containsKey(trackId)) {
                return new Result(Outcome.NOT_LOCAL, p.id, p.node);
            }
        }
        return Result.of(Outcome.NO_TRACK);
    }

    /**
     * Closes {@code room} on this node: every participant here gets {@code error room_closed} and leaves; with the
     * last one the room closes (participants on other nodes stay there). Returns how many left, -1 if there was no
     * such room.
     */
    public int closeRoom(String room) {
        Room r = manager.room(room);
        if (r == null) {
            return -1;
        }
        List<Participant> everyone = new ArrayList<>(r.participants());
        for (Participant p : everyone) {
            p.connection.closeWithError("room_closed", "the room was closed by the operator");
            manager.leave(p, "room closed by the operator");
        }
        log.info("room={} closed by the operator ({} participants)", room, everyone.size());
        return everyone.size();
    }
}
