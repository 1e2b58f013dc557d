package io.cascadesfu.signaling.room;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;

/**
 * Someone in a room whose tracks the node's participants receive: a participant on this node, or one on another
 * node of the cluster whose tracks arrive over a relay link ({@link RemoteParticipant}). Control thread only.
 */
interface TrackSource {
    String id();

    boolean hasLeft();

    Collection<PublishedTrack> publishedTracks();

    /** The participant as the protocol's {@code participant} object. */
    ObjectNode describe();
}
