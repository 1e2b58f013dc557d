package io.cascadesfu.cascade;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A node's place in the cluster: its id and region, the cluster secret every node shares (it authenticates the
 * control channel and keys its encryption), where the control channel listens, the static peer nodes, and the
 * public URL browsers use for this node (told to peers in the handshake).
 *
 * @param port 0 for an ephemeral port (tests)
 * @param peers the static peers; more may be added at run time ({@link ClusterNode#addPeer})
 * @param publicUrl the base URL of this node's HTTP/WebSocket server as browsers reach it
 *                  ({@code http://203.0.113.7:7881}), or empty if unknown
 */
public record ClusterConfig(String nodeId, String region, String secret, String bindHost, int port, List<Peer> peers,
                            String publicUrl) {
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9_-]{1,32}");
    public static final int MIN_SECRET_LENGTH = 32;
    public static final int MAX_PUBLIC_URL_LENGTH = 256;

    /** A peer node's id and the address of its control channel. */
    public record Peer(String nodeId, String host, int port) {
        public Peer {
            Objects.requireNonNull(nodeId, "nodeId");
            Objects.requireNonNull(host, "host");
        }
    }

    /** Without a public URL. */
    public ClusterConfig(String nodeId, String region, String secret, String bindHost, int port, List<Peer> peers) {
        this(nodeId, region, secret, bindHost, port, peers, "");
    }

    public ClusterConfig {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bindHost, "bindHost");
        Objects.requireNonNull(publicUrl, "publicUrl");
        if (!isValidNodeId(nodeId)) {
            throw new IllegalArgumentException("cluster node id must be 1..32 of [A-Za-z0-9_-], got \"" + nodeId + "\"");
        }
        if (!publicUrl.isEmpty() && !isValidPublicUrl(publicUrl)) {
            throw new IllegalArgumentException("the public URL must be an http:// or https:// URL with a host, no "
                    + "query or fragment, at most " + MAX_PUBLIC_URL_LENGTH + " characters, got \"" + publicUrl + "\"");
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
            checkPeer(nodeId, p);
            if (!ids.add(p.nodeId())) {
                throw new IllegalArgumentException("peer " + p.nodeId() + " is listed twice");
            }
        }
    }

    /** Throws an {@link IllegalArgumentException} if {@code p} cannot be a peer of node {@code selfId}. */
    static void checkPeer(String selfId, Peer p) {
        if (!isValidNodeId(p.nodeId())) {
            throw new IllegalArgumentException("peer node id must be 1..32 of [A-Za-z0-9_-], got \""
                    + p.nodeId() + "\"");
        }
        if (p.nodeId().equals(selfId)) {
            throw new IllegalArgumentException("node " + selfId + " lists itself as a peer");
        }
        if (p.host().isEmpty() || p.port() < 1 || p.port() > 65535) {
            throw new IllegalArgumentException("peer " + p.nodeId() + " has address " + p.host() + ":" + p.port());
        }
    }

    public static boolean isValidNodeId(String id) {
        return id != null && NODE_ID.matcher(id).matches();
    }

    /**
     * Whether {@code url} can be a node's public URL: {@code http} or {@code https}, a host, an optional port and
     * path, no user info, query or fragment, printable ASCII, at most {@value #MAX_PUBLIC_URL_LENGTH} characters.
     */
    public static boolean isValidPublicUrl(String url) {
        if (url == null || url.isEmpty() || url.length() > MAX_PUBLIC_URL_LENGTH
                || !url.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            return false;
        }
        try {
            URI u = new URI(url);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            return (scheme.equals("http") || scheme.equals("https")) && u.getHost() != null
                    && u.getRawUserInfo() == null && u.getRawQuery() == null && u.getRawFragment() == null;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** The static peer with {@code id}, or null. */
    public Peer peer(String id) {
        for (Peer p : peers) {
            if (p.nodeId().equals(id)) {
                return p;
            }
        }
        return null;
    }
}
