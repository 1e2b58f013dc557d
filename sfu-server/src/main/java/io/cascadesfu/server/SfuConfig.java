package io.cascadesfu.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node's configuration: one typed object, loaded once from an optional YAML file and then
 * overridden by environment variables (see config/sfu.example.yaml for every field).
 * Without a file the node runs in development mode on loopback.
 */
public final class SfuConfig {
    public boolean dev;
    public Http http = new Http();
    public Media media = new Media();
    public Dtls dtls = new Dtls();
    public Auth auth = new Auth();
    public Rooms rooms = new Rooms();
    public Codecs codecs = new Codecs();
    public Cluster cluster = new Cluster();
    public Admin admin = new Admin();
    public Drain drain = new Drain();
    public Turn turn = new Turn();

    /**
     * The admin API ({@code /admin/...} on the HTTP port, docs/ADMIN.md). Off while {@link #key} is empty; requests
     * carry it as {@code Authorization: Bearer <key>}.
     */
    /** A TURN server sharing a secret with the node (coturn use-auth-secret): clients behind strict firewalls. */
    public static final class Turn {
        /** {@code turn:host:3478?transport=udp}, {@code turns:host:443?transport=tcp}, ...; none: off. */
        public List<String> urls = new ArrayList<>();
        /** coturn's static-auth-secret. */
        public String secret = "";
        /** How long the credentials handed to a participant work. */
        public int ttlSeconds = 6 * 3600;

        public boolean enabled() {
            return !urls.isEmpty();
        }
    }

    public static final class Admin {
        /** At least {@value #MIN_KEY_CHARS} printable ASCII characters without spaces. */
        public String key = "";
        public static final int MIN_KEY_CHARS = 32;

        public boolean enabled() {
            return key != null && !key.isEmpty();
        }
    }

    /**
     * The cascade: this node's identity and its peer nodes. Off while {@link #secret} is empty (a single node).
     * Peers are {@code nodeId@host:port} of their cluster ports, listed statically and/or found in the fleet
     * registry on Redis ({@link #redis}; see docs/FLEET.md).
     */
    public static final class Cluster {
        public String nodeId = "";
        public String region = "";
        public String secret = "";
        public String bind = "127.0.0.1";
        public int port = 7890;
        public List<String> peers = new ArrayList<>();
        /** The base URL browsers use for this node's HTTP/WebSocket server, told to peers; empty: unknown. */
        public String publicUrl = "";
        /** The fleet registry, {@code redis://host:port}; empty: static peers only. */
        public String redis = "";
        /** The host other nodes dial for this node's cluster port, as registered in Redis; empty: {@link #bind}. */
        public String advertise = "";
        /**
         * {@code host:port} told to peers dialing a relay link to this node instead of its media candidate (a
         * NAT's public address, or an impairment relay in front of the media port); empty for the candidate.
         */
        public String linkAdvertise = "";
        /**
         * Per peer id, {@code host:port} told to that peer instead of {@link #linkAdvertise} (a private address for a
         * peer in the same VPC, or one impairment relay per node pair in the cascade benchmark).
         */
        public Map<String, String> linkAdvertiseFor = new LinkedHashMap<>();

        public boolean enabled() {
            return secret != null && !secret.isEmpty();
        }

        public boolean fleetEnabled() {
            return enabled() && redis != null && !redis.isBlank();
        }

        /** The host registered in the fleet for this node's cluster port. */
        public String advertisedHost() {
            return advertise == null || advertise.isBlank() ? bind : advertise;
        }
    }

    public static final class Http {
        public String bind = "127.0.0.1";
        public int port = 7880;
        @JsonProperty("maxMessageBytes")
        public int maxMessageBytes = 256 * 1024;
        /** A signaling socket that has not joined this long after opening is closed. */
        public int joinTimeoutSeconds = 10;
        /** HTTP/WebSocket connections held at once, in total and from one source address. */
        public int maxConnections = 10000;
        public int maxConnectionsPerAddress = 500;
    }

    public static final class Media {
        public String bind = "127.0.0.1";
        public int port = 10000;
        /**
         * ICE over TCP (RFC 6544 passive candidates, RFC 4571 framing) for clients whose network blocks UDP: one TCP
         * port for all workers, on {@link #bind}; 0 (the default): off.
         */
        public int tcpPort = 0;
        /** Addresses put in ICE candidates (a node behind NAT or on a cloud VM advertises its public IP). */
        public List<String> advertise = new ArrayList<>();
        public int consentTimeoutSeconds = 30;
        public int dtlsHandshakeTimeoutSeconds = 10;
        /** Media workers, one event loop and UDP port ({@code port + i}) each; 0: one per available core. */
        public int workers = 0;
        public Placement placement = new Placement();
        /** A publisher is asked for a keyframe at most once per this, per track, however many subscribers ask. */
        public int keyframeRequestIntervalMs = 300;
        /** Packets each worker's warm-up publisher sends through the node at start (JIT warm-up); 0: none. */
        public int warmupPackets = 20000;

        /** Workers to start: {@link #workers}, or the number of cores when 0. */
        public int workerCount() {
            return workers > 0 ? workers : Math.max(1, Runtime.getRuntime().availableProcessors());
        }
    }

    public static final class Placement {
        /** A room's members join the worker holding most of them until it holds this many members of all rooms. */
        public int memberBudget = 100;
        /** Every member to the least-loaded worker: rooms always span workers (tests, demos of pipes). */
        public boolean spread = false;
    }

    public static final class Dtls {
        /**
         * PEM certificate and PKCS#8 key; both empty: the one kept in {@link #stateDir}, or with no state directory an
         * ECDSA P-256 certificate made at start.
         */
        public String certificate;
        public String privateKey;
        /**
         * Where the node keeps the certificate it makes, so its DTLS identity (the fingerprint its peers and clients
         * see) survives a restart; made at first start, renewed 30 days before it expires. Empty: a new one each start.
         */
        public String stateDir;
    }

    public static final class Auth {
        /** JWT HS256 keys, key id to secret. */
        public Map<String, String> keys = new LinkedHashMap<>();
        /** The key {@code /token} signs with in development mode. */
        public String devKeyId = "dev";
    }

    /** What SIGTERM (and {@code POST /admin/drain} followed by a stop) does. */
    public static final class Drain {
        /** How long a draining node waits for its participants to move before it stops anyway. */
        public int timeoutSeconds = 30;
    }


    public static final class Rooms {
        public int maxParticipants = 100;
        public int maxTracksPerParticipant = 16;
        public int maxTracksPerRoom = 256;
        /**
         * A subscribe PC gets a new m-section for each new track until it has this many; beyond, a track reuses
         * the section of the same kind that has been inactive longest.
         */
        public int maxSubscribeSections = 64;
    }

    public static final class Codecs {
        public List<String> video = new ArrayList<>(List.of("VP8", "H264"));
    }

    /** Reads the file (if any), applies the environment, validates. */
    public static SfuConfig load(Path file, Map<String, String> env) {
        SfuConfig c;
        if (file == null) {
            c = new SfuConfig();
            c.dev = true;
        } else {
            ObjectMapper yaml = new ObjectMapper(new YAMLFactory())
                    .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
            // A section with every setting commented out (`dtls:` alone) keeps its defaults.
            yaml.setDefaultSetterInfo(JsonSetter.Value.forValueNulls(Nulls.SKIP));
            try {
                if (!Files.isRegularFile(file)) {
                    throw new ConfigException("config file " + file + " does not exist");
                }
                com.fasterxml.jackson.databind.JsonNode tree = yaml.readTree(file.toFile());
                // An empty file, or one with only comments, is all defaults.
                c = tree == null || tree.isMissingNode() || tree.isNull()
                        ? new SfuConfig() : yaml.treeToValue(tree, SfuConfig.class);
            } catch (UnrecognizedPropertyException e) {
                throw new ConfigException(file + ": unknown setting \"" + e.getPropertyName() + "\" at "
                        + e.getPathReference());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ConfigException(file + ": " + e.getOriginalMessage()
                        + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
            } catch (IOException e) {
                throw new ConfigException(file + ": " + e.getMessage());
            }
        }
        c.applyEnvironment(env);
        c.validate();
        return c;
    }

    void applyEnvironment(Map<String, String> env) {
        String v;
        if ((v = env.get("SFU_DEV")) != null) dev = parseBoolean("SFU_DEV", v);
        if ((v = env.get("SFU_HTTP_BIND")) != null) http.bind = v;
        if ((v = env.get("SFU_HTTP_PORT")) != null) http.port = parseInt("SFU_HTTP_PORT", v);
        if ((v = env.get("SFU_MEDIA_BIND")) != null) media.bind = v;
        if ((v = env.get("SFU_MEDIA_PORT")) != null) media.port = parseInt("SFU_MEDIA_PORT", v);
        if ((v = env.get("SFU_MEDIA_TCP_PORT")) != null) media.tcpPort = parseInt("SFU_MEDIA_TCP_PORT", v);
        if ((v = env.get("SFU_ADVERTISE")) != null) media.advertise = splitList(v);
        if ((v = env.get("SFU_MEDIA_WORKERS")) != null) media.workers = parseInt("SFU_MEDIA_WORKERS", v);
        if ((v = env.get("SFU_KEYFRAME_REQUEST_INTERVAL_MS")) != null) {
            media.keyframeRequestIntervalMs = parseInt("SFU_KEYFRAME_REQUEST_INTERVAL_MS", v);
        }
        if ((v = env.get("SFU_WARMUP_PACKETS")) != null) media.warmupPackets = parseInt("SFU_WARMUP_PACKETS", v);
        if ((v = env.get("SFU_PLACEMENT_MEMBER_BUDGET")) != null) {
            media.placement.memberBudget = parseInt("SFU_PLACEMENT_MEMBER_BUDGET", v);
        }
        if ((v = env.get("SFU_PLACEMENT_SPREAD")) != null) media.placement.spread = parseBoolean("SFU_PLACEMENT_SPREAD", v);
        if ((v = env.get("SFU_CONSENT_TIMEOUT_SECONDS")) != null) {
            media.consentTimeoutSeconds = parseInt("SFU_CONSENT_TIMEOUT_SECONDS", v);
        }
        if ((v = env.get("SFU_DTLS_CERTIFICATE")) != null) dtls.certificate = v;
        if ((v = env.get("SFU_DTLS_PRIVATE_KEY")) != null) dtls.privateKey = v;
        if ((v = env.get("SFU_STATE_DIR")) != null) dtls.stateDir = v.isBlank() ? null : v;
        if ((v = env.get("SFU_KEYS")) != null) {
            auth.keys = new LinkedHashMap<>();
            for (String pair : splitList(v)) {
                int colon = pair.indexOf(':');
                if (colon <= 0 || colon == pair.length() - 1) {
                    throw new ConfigException("SFU_KEYS: expected kid:secret[,kid:secret...], got \"" + pair + "\"");
                }
                auth.keys.put(pair.substring(0, colon), pair.substring(colon + 1));
            }
        }
        if ((v = env.get("SFU_VIDEO_CODECS")) != null) codecs.video = splitList(v);
        if ((v = env.get("SFU_MAX_PARTICIPANTS")) != null) rooms.maxParticipants = parseInt("SFU_MAX_PARTICIPANTS", v);
        if ((v = env.get("SFU_MAX_TRACKS_PER_PARTICIPANT")) != null) {
            rooms.maxTracksPerParticipant = parseInt("SFU_MAX_TRACKS_PER_PARTICIPANT", v);
        }
        if ((v = env.get("SFU_MAX_TRACKS_PER_ROOM")) != null) rooms.maxTracksPerRoom = parseInt("SFU_MAX_TRACKS_PER_ROOM", v);
        if ((v = env.get("SFU_MAX_SUBSCRIBE_SECTIONS")) != null) {
            rooms.maxSubscribeSections = parseInt("SFU_MAX_SUBSCRIBE_SECTIONS", v);
        }
        if ((v = env.get("SFU_JOIN_TIMEOUT_SECONDS")) != null) http.joinTimeoutSeconds = parseInt("SFU_JOIN_TIMEOUT_SECONDS", v);
        if ((v = env.get("SFU_MAX_CONNECTIONS")) != null) http.maxConnections = parseInt("SFU_MAX_CONNECTIONS", v);
        if ((v = env.get("SFU_MAX_CONNECTIONS_PER_ADDRESS")) != null) {
            http.maxConnectionsPerAddress = parseInt("SFU_MAX_CONNECTIONS_PER_ADDRESS", v);
        }
        if ((v = env.get("SFU_NODE_ID")) != null) cluster.nodeId = v.trim();
        if ((v = env.get("SFU_TURN_URLS")) != null) turn.urls = splitList(v);
        if ((v = env.get("SFU_TURN_SECRET")) != null) turn.secret = v;
        if ((v = env.get("SFU_TURN_TTL_SECONDS")) != null) turn.ttlSeconds = parseInt("SFU_TURN_TTL_SECONDS", v);
        if ((v = env.get("SFU_DRAIN_TIMEOUT_SECONDS")) != null) {
            drain.timeoutSeconds = parseInt("SFU_DRAIN_TIMEOUT_SECONDS", v);
        }
        if ((v = env.get("SFU_REGION")) != null) cluster.region = v.trim();
        if ((v = env.get("SFU_CLUSTER_SECRET")) != null) cluster.secret = v;
        if ((v = env.get("SFU_CLUSTER_BIND")) != null) cluster.bind = v.trim();
        if ((v = env.get("SFU_CLUSTER_PORT")) != null) cluster.port = parseInt("SFU_CLUSTER_PORT", v);
        if ((v = env.get("SFU_CLUSTER_PEERS")) != null) cluster.peers = splitList(v);
        if ((v = env.get("SFU_CLUSTER_LINK_ADVERTISE")) != null) cluster.linkAdvertise = v.trim();
        if ((v = env.get("SFU_CLUSTER_LINK_ADVERTISE_FOR")) != null) {
            cluster.linkAdvertiseFor = new LinkedHashMap<>();
            for (String entry : splitList(v)) {
                int eq = entry.indexOf('=');
                if (eq <= 0) {
                    throw new ConfigException("SFU_CLUSTER_LINK_ADVERTISE_FOR: \"" + entry
                            + "\" is not peer=IP:port");
                }
                cluster.linkAdvertiseFor.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
            }
        }
        if ((v = env.get("SFU_ADMIN_KEY")) != null) admin.key = v.trim();
        if ((v = env.get("SFU_PUBLIC_URL")) != null) cluster.publicUrl = v.trim();
        if ((v = env.get("SFU_REDIS_URL")) != null) cluster.redis = v.trim();
        if ((v = env.get("SFU_CLUSTER_ADVERTISE")) != null) cluster.advertise = v.trim();
    }

    void validate() {
        checkPort("http.port", http.port);
        checkPort("media.port", media.port);
        checkPort("media.tcpPort", media.tcpPort);
        if (media.tcpPort != 0 && media.tcpPort == http.port) {
            throw new ConfigException("media.tcpPort and http.port are both " + http.port);
        }
        if (http.maxMessageBytes < 4096 || http.maxMessageBytes > 16 * 1024 * 1024) {
            throw new ConfigException("http.maxMessageBytes must be between 4096 and 16777216");
        }
        if (turn.enabled()) {
            if (turn.secret == null || turn.secret.length() < 16) {
                throw new ConfigException("turn.secret (the TURN server's static-auth-secret, at least 16 characters)"
                        + " is required with turn.urls");
            }
            for (String url : turn.urls) {
                if (!url.matches("turns?:[^\\s?]+(\\?transport=(udp|tcp))?")) {
                    throw new ConfigException("turn.urls: \"" + url + "\" is not turn:host[:port][?transport=udp|tcp]"
                            + " or turns:...");
                }
            }
            if (turn.ttlSeconds < 60 || turn.ttlSeconds > 7 * 86_400) {
                throw new ConfigException("turn.ttlSeconds must be between 60 and 604800");
            }
        }
        if (drain.timeoutSeconds < 0 || drain.timeoutSeconds > 86_400) {
            throw new ConfigException("drain.timeoutSeconds must be between 0 and 86400");
        }
        if (media.consentTimeoutSeconds < 5 || media.consentTimeoutSeconds > 600) {
            throw new ConfigException("media.consentTimeoutSeconds must be between 5 and 600");
        }
        if (media.workers < 0 || media.workers > 256) {
            throw new ConfigException("media.workers must be between 0 (one per core) and 256");
        }
        if (media.port != 0 && media.port + media.workerCount() - 1 > 65535) {
            throw new ConfigException("media.port " + media.port + " + " + media.workerCount()
                    + " workers needs ports up to " + (media.port + media.workerCount() - 1) + ", above 65535");
        }
        if (media.keyframeRequestIntervalMs < 50 || media.keyframeRequestIntervalMs > 10_000) {
            throw new ConfigException("media.keyframeRequestIntervalMs must be between 50 and 10000");
        }
        if (media.warmupPackets < 0 || media.warmupPackets > 1_000_000) {
            throw new ConfigException("media.warmupPackets must be between 0 and 1000000");
        }
        if (media.placement.memberBudget < 1) {
            throw new ConfigException("media.placement.memberBudget must be at least 1");
        }
        if (media.dtlsHandshakeTimeoutSeconds < 1 || media.dtlsHandshakeTimeoutSeconds > 120) {
            throw new ConfigException("media.dtlsHandshakeTimeoutSeconds must be between 1 and 120");
        }
        if ((dtls.certificate == null) != (dtls.privateKey == null)) {
            throw new ConfigException("dtls.certificate and dtls.privateKey must be set together");
        }
        if (http.joinTimeoutSeconds < 1 || http.joinTimeoutSeconds > 300) {
            throw new ConfigException("http.joinTimeoutSeconds must be between 1 and 300");
        }
        if (http.maxConnections < 1 || http.maxConnectionsPerAddress < 1) {
            throw new ConfigException("http.maxConnections and http.maxConnectionsPerAddress must be at least 1");
        }
        if (rooms.maxTracksPerParticipant < 1 || rooms.maxTracksPerRoom < 1) {
            throw new ConfigException("rooms.maxTracksPerParticipant and rooms.maxTracksPerRoom must be at least 1");
        }
        if (rooms.maxTracksPerRoom > 512) {
            // Every track is an m-section in each member's subscribe offer; the browser's answer to ~500 of them
            // approaches the 256 KiB message limit.
            throw new ConfigException("rooms.maxTracksPerRoom must be at most 512");
        }
        if (rooms.maxSubscribeSections < 1
                || rooms.maxSubscribeSections > io.cascadesfu.signaling.sdp.SdpParser.MAX_MEDIA_SECTIONS) {
            // The node parses the answer with every section; it refuses more than this many.
            throw new ConfigException("rooms.maxSubscribeSections must be between 1 and "
                    + io.cascadesfu.signaling.sdp.SdpParser.MAX_MEDIA_SECTIONS);
        }
        if (rooms.maxParticipants < 1) {
            throw new ConfigException("rooms.maxParticipants must be at least 1");
        }
        if (codecs.video.isEmpty()) {
            throw new ConfigException("codecs.video must name at least one of VP8, H264, VP9, AV1");
        }
        for (String codec : codecs.video) {
            if (!java.util.Set.of("VP8", "H264", "VP9", "AV1").contains(codec.toUpperCase(java.util.Locale.ROOT))) {
                throw new ConfigException("codecs.video: unsupported codec \"" + codec + "\" (VP8, H264, VP9, AV1)");
            }
        }
        for (Map.Entry<String, String> e : auth.keys.entrySet()) {
            if (e.getValue() == null || e.getValue().length() < 32) {
                throw new ConfigException("auth.keys." + e.getKey() + ": secrets must be at least 32 characters");
            }
        }
        if (cluster.enabled()) {
            if (!cluster.nodeId.matches("[A-Za-z0-9_-]{1,32}")) {
                throw new ConfigException("cluster.nodeId must be 1..32 of [A-Za-z0-9_-] when the cluster is on");
            }
            if (cluster.secret.length() < 32) {
                throw new ConfigException("cluster.secret must be at least 32 characters");
            }
            checkPort("cluster.port", cluster.port);
            for (String peer : cluster.peers) {
                parsePeer(peer);
            }
            linkAdvertise();
            linkAdvertiseFor();
        }
        if (admin.enabled() && (admin.key.length() < Admin.MIN_KEY_CHARS || admin.key.length() > 1024
                || !admin.key.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f))) {
            throw new ConfigException("admin.key (SFU_ADMIN_KEY) must be " + Admin.MIN_KEY_CHARS + " to 1024 printable "
                    + "ASCII characters without spaces, e.g. the output of `openssl rand -hex 32`; got "
                    + admin.key.length() + " characters");
        }
        if (!cluster.publicUrl.isEmpty() && !io.cascadesfu.cascade.ClusterConfig.isValidPublicUrl(cluster.publicUrl)) {
            throw new ConfigException("cluster.publicUrl must be the http:// or https:// base URL browsers use for "
                    + "this node (a host, an optional port and path, no query), got \"" + cluster.publicUrl + "\"");
        }
        if (!cluster.redis.isBlank()) {
            if (!cluster.enabled()) {
                throw new ConfigException("cluster.redis is set but the cluster is off: set cluster.secret and "
                        + "cluster.nodeId too");
            }
            String error = io.cascadesfu.cascade.fleet.FleetConfig.checkRedisUrl(cluster.redis);
            if (error != null) {
                throw new ConfigException("cluster.redis: " + error);
            }
            String host = cluster.advertisedHost();
            if (host.isBlank() || host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
                throw new ConfigException("cluster.advertise must name the host other nodes dial for this node's "
                        + "cluster port when cluster.bind is " + (host.isBlank() ? "empty" : host)
                        + " and cluster.redis is set");
            }
            if (host.length() > 255 || !host.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new ConfigException("cluster.advertise must be a host name or address, got \"" + host + "\"");
            }
        }
        if (!dev && auth.keys.isEmpty()) {
            throw new ConfigException("auth.keys is empty: outside development mode the node needs at least one "
                    + "JWT key (or set dev: true)");
        }
    }

    /**
     * {@link Cluster#linkAdvertise} as an address, null when empty; throws a {@link ConfigException} unless it is
     * {@code host:port} with an IP address (a peer's ICE checks go there, no name is resolved).
     */
    java.net.InetSocketAddress linkAdvertise() {
        return linkAddress("cluster.linkAdvertise (SFU_CLUSTER_LINK_ADVERTISE)", cluster.linkAdvertise);
    }

    /** {@link Cluster#linkAdvertiseFor} as addresses by peer id; a {@link ConfigException} names a bad entry. */
    Map<String, java.net.InetSocketAddress> linkAdvertiseFor() {
        Map<String, java.net.InetSocketAddress> out = new LinkedHashMap<>();
        cluster.linkAdvertiseFor.forEach((peer, address) -> {
            String what = "cluster.linkAdvertiseFor." + peer + " (SFU_CLUSTER_LINK_ADVERTISE_FOR)";
            if (peer == null || !peer.matches("[A-Za-z0-9_-]{1,32}")) {
                throw new ConfigException(what + ": \"" + peer + "\" is not a node id");
            }
            java.net.InetSocketAddress a = linkAddress(what, address);
            if (a == null) {
                throw new ConfigException(what + ": empty, expected IP:port");
            }
            out.put(peer, a);
        });
        return out;
    }

    private static java.net.InetSocketAddress linkAddress(String what, String value) {
        String v = value == null ? "" : value.trim();
        if (v.isEmpty()) {
            return null;
        }
        int colon = v.lastIndexOf(':');
        String host = colon > 0 ? v.substring(0, colon) : "";
        String port = colon > 0 ? v.substring(colon + 1) : "";
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        boolean literal = host.matches("[0-9.]+") && host.split("\\.", -1).length == 4 || host.contains(":");
        if (!literal || port.isEmpty() || port.length() > 5 || !port.chars().allMatch(Character::isDigit)
                || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            throw new ConfigException(what + ": \"" + v + "\" is not IP:port");
        }
        try {
            return new java.net.InetSocketAddress(java.net.InetAddress.getByName(host), Integer.parseInt(port));
        } catch (java.net.UnknownHostException e) {
            throw new ConfigException(what + ": \"" + v + "\" is not IP:port");
        }
    }

    /** A peer as {@code nodeId@host:port}; throws a {@link ConfigException} naming the entry otherwise. */
    static String[] parsePeer(String entry) {
        int at = entry.indexOf('@');
        int colon = entry.lastIndexOf(':');
        if (at <= 0 || colon <= at + 1 || colon == entry.length() - 1) {
            throw new ConfigException("cluster.peers: \"" + entry + "\" is not nodeId@host:port");
        }
        String port = entry.substring(colon + 1);
        if (!port.chars().allMatch(Character::isDigit) || port.length() > 5 || Integer.parseInt(port) > 65535
                || Integer.parseInt(port) < 1) {
            throw new ConfigException("cluster.peers: \"" + entry + "\" has no valid port");
        }
        return new String[] {entry.substring(0, at), entry.substring(at + 1, colon), port};
    }

    private static void checkPort(String name, int port) {
        if (port < 0 || port > 65535) {
            throw new ConfigException(name + " must be between 0 and 65535, got " + port);
        }
    }

    private static int parseInt(String name, String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(name + " must be a number, got \"" + v + "\"");
        }
    }

    private static boolean parseBoolean(String name, String v) {
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new ConfigException(name + " must be true or false, got \"" + v + "\"");
        };
    }

    private static List<String> splitList(String v) {
        List<String> list = new ArrayList<>();
        for (String s : Arrays.asList(v.split(","))) {
            if (!s.isBlank()) {
                list.add(s.trim());
            }
        }
        return list;
    }

    /** A configuration error, with a message fit for the operator. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
        }
    }
}
