package io.cascadesfu.signaling.room;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A participant of the room connected to another node of the cluster: its tracks are published here by the
 * cascade, as tracks of the relay link's member, and the node's participants receive them like any other.
 * Control thread only.
 */
final class RemoteParticipant implements TrackSource {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    final String id;
    final String identity;
    final String name;
    /** The node the participant is connected to. */
    final String node;
    /** The peer whose relay link carries its tracks here: {@link #node}, or a node in between (transit). */
    String via;
    final Map<String, PublishedTrack> published = new LinkedHashMap<>(); // by trackId
    boolean left;

    RemoteParticipant(String id, String identity, String name, String node) {
        this.id = id;
        this.identity = identity;
        this.name = name;
        this.node = node;
        this.via = node;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public boolean hasLeft() {
        return left;
    }

    @Override
    public Collection<PublishedTrack> publishedTracks() {
        return published.values();
    }

    @Override
    public ObjectNode describe() {
        ObjectNode p = JSON.objectNode();
        p.put("participantId", id);
        p.put("identity", identity);
        p.put("name", name);
        p.put("node", node);
        if (!via.equals(node)) {
            p.put("via", via);
        }
        ArrayNode tracks = p.putArray("tracks");
        for (PublishedTrack t : published.values()) {
            tracks.add(Participant.describe(t));
        }
        return p;
    }
}
