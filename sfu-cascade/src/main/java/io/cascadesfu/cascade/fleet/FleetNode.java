package io.cascadesfu.cascade.fleet;

/**
 * A node as the fleet registry lists it: what it wrote under its key at its last heartbeat.
 *
 * @param clusterHost where its control channel is dialled
 * @param publicUrl   the base URL browsers use for it, or empty if unknown
 * @param load        its joined participants at its last heartbeat
 * @param heartbeatMs the time of its last heartbeat, in ms since the epoch by the Redis server's clock
 */
public record FleetNode(String nodeId, String region, String clusterHost, int clusterPort, String publicUrl,
                        int load, long heartbeatMs) {

    /** Whether {@code other} has the same cluster address, region and public URL (load and time aside). */
    boolean sameAddress(FleetNode other) {
        return clusterHost.equals(other.clusterHost) && clusterPort == other.clusterPort
                && region.equals(other.region) && publicUrl.equals(other.publicUrl);
    }
}
