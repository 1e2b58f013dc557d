package io.cascadesfu.cascade.fleet;

import io.cascadesfu.cascade.ClusterConfig;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * What a node tells the fleet registry of itself, and how it talks to Redis.
 *
 * @param redisUrl       {@code redis://[user:password@]host[:port][/database]} or {@code rediss://...} (TLS)
 * @param clusterHost    the host other nodes dial for this node's control channel
 * @param clusterPort    its control channel port
 * @param publicUrl      the base URL browsers use for this node, or empty if unknown
 * @param ttl            how long this node's entries live in Redis without a heartbeat
 * @param heartbeat      how often the entries are refreshed and the fleet listed; at most a third of the TTL
 * @param commandTimeout how long a Redis command (or a connection attempt) may take; shorter than the heartbeat
 * @param keyPrefix      prefix of every key (several clusters may share a Redis with different prefixes)
 */
public record FleetConfig(String redisUrl, String nodeId, String region, String clusterHost, int clusterPort,
                          String publicUrl, Duration ttl, Duration heartbeat, Duration commandTimeout,
                          String keyPrefix) {
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(10);
    public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(1);
    public static final String DEFAULT_KEY_PREFIX = "sfu:fleet:";

    public FleetConfig {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(publicUrl, "publicUrl");
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        String urlError = checkRedisUrl(redisUrl);
        if (urlError != null) {
            throw new IllegalArgumentException(urlError);
        }
        if (!ClusterConfig.isValidNodeId(nodeId)) {
            throw new IllegalArgumentException("node id must be 1..32 of [A-Za-z0-9_-], got \"" + nodeId + "\"");
        }
        if (clusterHost == null || clusterHost.isEmpty() || clusterPort < 1 || clusterPort > 65535) {
            throw new IllegalArgumentException("the cluster address must be a host and a port 1..65535, got "
                    + clusterHost + ":" + clusterPort);
        }
        if (!publicUrl.isEmpty() && !ClusterConfig.isValidPublicUrl(publicUrl)) {
            throw new IllegalArgumentException("the public URL \"" + publicUrl + "\" is not an http(s) URL");
        }
        if (ttl.toMillis() < 1000 || heartbeat.toMillis() < 100 || heartbeat.multipliedBy(3).compareTo(ttl) > 0) {
            throw new IllegalArgumentException("the TTL must be at least 1 s and at least three heartbeats, got ttl "
                    + ttl + " heartbeat " + heartbeat);
        }
        if (commandTimeout.toMillis() < 10 || commandTimeout.compareTo(heartbeat) >= 0) {
            throw new IllegalArgumentException("the command timeout must be 10 ms or more and below the heartbeat, "
                    + "got " + commandTimeout);
        }
    }

    /** With the default TTL ({@code 10 s}), heartbeat ({@code 3 s}), command timeout ({@code 1 s}) and prefix. */
    public static FleetConfig of(String redisUrl, String nodeId, String region, String clusterHost, int clusterPort,
                                 String publicUrl) {
        return new FleetConfig(redisUrl, nodeId, region, clusterHost, clusterPort, publicUrl, DEFAULT_TTL,
                DEFAULT_HEARTBEAT, DEFAULT_COMMAND_TIMEOUT, DEFAULT_KEY_PREFIX);
    }

    /** The same with another TTL, heartbeat and command timeout (tests). */
    public FleetConfig withTiming(Duration ttl, Duration heartbeat, Duration commandTimeout) {
        return new FleetConfig(redisUrl, nodeId, region, clusterHost, clusterPort, publicUrl, ttl, heartbeat,
                commandTimeout, keyPrefix);
    }

    /** What is wrong with {@code url} as a Redis URL, for the operator, or null if it is fine. */
    public static String checkRedisUrl(String url) {
        if (url == null || url.isBlank()) {
            return "the Redis URL is empty";
        }
        String scheme = url.contains("://") ? url.substring(0, url.indexOf("://")).toLowerCase(Locale.ROOT) : "";
        if (!scheme.equals("redis") && !scheme.equals("rediss")) {
            return "the Redis URL must start with redis:// or rediss://, got \"" + redacted(url) + "\"";
        }
        try {
            java.net.URI parsed = new java.net.URI(url);
            if (parsed.getHost() == null || parsed.getPort() > 65535 || parsed.getPort() == 0) {
                return "the Redis URL \"" + redacted(url) + "\" needs a host and at most a port 1..65535";
            }
            RedisURI uri = RedisURI.create(url);
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                return "the Redis URL \"" + redacted(url) + "\" has no host";
            }
            if (uri.getPort() < 1 || uri.getPort() > 65535) {
                return "the Redis URL \"" + redacted(url) + "\" has no valid port";
            }
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return "the Redis URL \"" + redacted(url) + "\" is not valid"; // its message may repeat a password
        }
        return null;
    }

    /** {@code url} with any password replaced by {@code ***}, for logs and errors. */
    public static String redacted(String url) {
        int scheme = url.indexOf("://");
        int at = url.lastIndexOf('@');
        if (scheme < 0 || at < scheme) {
            return url;
        }
        String userInfo = url.substring(scheme + 3, at);
        int colon = userInfo.indexOf(':');
        String user = colon < 0 ? "" : userInfo.substring(0, colon);
        return url.substring(0, scheme + 3) + user + ":***" + url.substring(at);
    }
}
