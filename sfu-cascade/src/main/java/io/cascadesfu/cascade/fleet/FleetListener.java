package io.cascadesfu.cascade.fleet;

/**
 * What the fleet registry reports of the other nodes. Called on the registry's own thread ({@code sfu-fleet}), one
 * call at a time; an implementation must not block for long (it delays the heartbeat).
 */
public interface FleetListener {
    /** A node appeared in the registry, or its cluster address, region or public URL changed. */
    void onNodeAdded(FleetNode node);

    /**
     * A node left the registry: it deregistered, or its key expired because it stopped heartbeating. Never reported
     * while Redis is unreachable, nor in the first TTL after Redis comes back (the nodes are registering again).
     */
    void onNodeRemoved(String nodeId);
}
