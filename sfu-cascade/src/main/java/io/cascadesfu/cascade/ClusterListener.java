package io.cascadesfu.cascade;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** What the control channel reports. Called on the cluster node's own event loop, one call at a time. */
public interface ClusterListener {
    void onPeerUp(String peerId, String region);

    void onPeerDown(String peerId, String reason);

    /** A message from an authenticated peer; the channel's own types (handshake, ping, pong) never arrive here. */
    void onMessage(String peerId, ObjectNode message);
}
