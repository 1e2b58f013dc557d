package io.cascadesfu.cascade;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A node's place in the cluster: its id and region, the cluster secret every node shares (it authenticates the
 * control channel and keys its encryption), where the control channel listens, and the peer nodes.
 *
 * @param port 0 for an ephemeral port (tests)
 */
public record ClusterConfig(String nodeId, String region, String secret, String bindHost, int port, List<Peer> peers) {
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9_-]{1,32}");
    public static final int MIN_SECRET_LENGTH = 32;

    /** A peer node's id and the address of its control channel. */
    public record Peer(String nodeId, String host, int port) {
        public Peer {
            Objects.requireNonNull(nodeId, "nodeId");
            Objects.requireNonNull(host, "host");
        }
    }

    public ClusterConfig {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bindHost, "bindHost");
        if (nodeId == null || !NODE_ID.matcher(nodeId).matches()) {
            throw new IllegalArgumentException("cluster node id must be 1..32 of [A-Za-z0-9_-], got \"" + nodeId + "\"");
        }
        if (secret == null || secret.length() < MIN_SECRET_LENGTH) {
            throw new IllegalArgumentException("the cluster secret must be at least " + MIN_SECRET_LENGTH
                    + " characters");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("cluster port must be 0..65535, got " + port);
        }
        if (!region.codePoints().allMatch(c -> c >= 0x20 && c != 0x7f) || region.length() > 64) {
            throw new IllegalArgumentException("region must be at most 64 printable characters");
        }
        peers = List.copyOf(peers);
        Set<String> ids = new HashSet<>();
        for (Peer p : peers) {
            if (!NODE_ID.matcher(p.nodeId()).matches()) {
                throw new IllegalArgumentException("peer node id must be 1..32 of [A-Za-z0-9_-], got \""
                        + p.nodeId() + "\"");
            }
            if (p.nodeId().equals(nodeId)) {
                throw new IllegalArgumentException("node " + nodeId + " lists itself as a peer");
            }
            if (!ids.add(p.nodeId())) {
                throw new IllegalArgumentException("peer " + p.nodeId() + " is listed twice");
            }
            if (p.port() < 1 || p.port() > 65535) {
                throw new IllegalArgumentException("peer " + p.nodeId() + " has port " + p.port());
            }
        }
    }

    /** The configured peer with {@code id}, or null. */
    public Peer peer(String id) {
        for (Peer p : peers) {
            if (p.nodeId().equals(id)) {
                return p;
            }
        }
        return null;
    }
}
