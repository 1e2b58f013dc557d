package io.cascadesfu.signaling.room;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One room: its participants and the core room forwarding their media. Control thread only. */
final class Room {
    final String name;
    final io.cascadesfu.core.room.Room core;
    final ActiveSpeakers speakers = new ActiveSpeakers();
    private final Map<String, Participant> participants = new LinkedHashMap<>();
    /** Participants on other nodes of the cluster, by id. */
    final Map<String, RemoteParticipant> remotes = new LinkedHashMap<>();

    Room(String name, io.cascadesfu.core.room.Room core) {
        this.name = name;
        this.core = core;
    }

    Collection<Participant> participants() {
        return participants.values();
    }

    List<Participant> others(Participant p) {
        List<Participant> list = new ArrayList<>(participants.size());
        for (Participant q : participants.values()) {
            if (q != p) {
                list.add(q);
            }
        }
        return list;
    }

    /** Whose tracks {@code p} receives: the other participants here and those on other nodes. */
    List<TrackSource> sourcesOtherThan(Participant p) {
        List<TrackSource> list = new ArrayList<>(others(p));
        list.addAll(remotes.values());
        return list;
    }

    Participant byIdentity(String identity) {
        for (Participant p : participants.values()) {
            if (p.identity.equals(identity)) {
                return p;
            }
        }
        return null;
    }

    void add(Participant p) {
        participants.put(p.id, p);
    }

    void remove(Participant p) {
        participants.remove(p.id, p);
    }

    int size() {
        return participants.size();
    }

    /** Held open by the cascade without local participants (a node in the middle of a route); control thread. */
    boolean held;

    boolean isEmpty() {
        return participants.isEmpty();
    }

    void broadcast(Participant except, ObjectNode message) {
        for (Participant q : participants.values()) {
            if (q != except) {
                q.connection.send(message);
            }
        }
    }

    /** Every other participant re-evaluates what it receives (tracks came or went); {@code except} may be null. */
    void refreshSubscriptions(Participant except) {
        for (Participant q : others(except)) {
            q.updateSubscriptions();
        }
    }
}
