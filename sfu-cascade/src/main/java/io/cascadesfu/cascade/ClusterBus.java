package io.cascadesfu.cascade;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Set;

/**
 * What the cascade needs of the control channel between nodes: send a message to a peer node, and know which are
 * up. {@link ClusterNode} is the real one (authenticated, encrypted); tests may use others.
 */
public interface ClusterBus {
    /** Sends {@code message} to {@code peerId}; false (dropped) if that peer is not up. Never blocks. Any thread. */
    boolean send(String peerId, ObjectNode message);

    /** The peers whose channel is up now. Any thread. */
    Set<String> upPeers();

    /**
     * The round trip of the path to {@code peerId} in ms (the least of recent measurements: its length, not its
     * queueing), -1 if it is not up or not measured yet. Routes are weighed on it. Any thread.
     */
    default double rttMillis(String peerId) {
        return -1;
    }
}
