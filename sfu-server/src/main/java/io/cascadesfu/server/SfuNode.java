package io.cascadesfu.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cascadesfu.core.HotPathWarmup;
import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.MediaEngine;
import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.signaling.SignalingConfig;
import io.cascadesfu.signaling.auth.Grants;
import io.cascadesfu.signaling.auth.TokenService;
import io.cascadesfu.signaling.http.HttpRoutes;
import io.cascadesfu.signaling.http.HttpServer;
import io.cascadesfu.signaling.room.RoomManager;
import io.cascadesfu.signaling.ws.SignalingHandler;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One running node: media engine, rooms, HTTP/WebSocket server and metrics, wired together. */
public final class SfuNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SfuNode.class);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final MediaEngine engine;
    private final RoomManager rooms;
    private final HttpServer http;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    /** The control channel to the other nodes, null without a cluster. */
    private final io.cascadesfu.cascade.ClusterNode cluster;
    /** The cascade's coordinator, null without a cluster; for the admin API. */
    private volatile io.cascadesfu.cascade.Cascade cascade;

    public SfuNode(SfuConfig config) {
        new JvmMemoryMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        DtlsCertificate certificate = config.dtls.certificate == null
                ? DtlsCertificate.generate()
                : DtlsCertificate.load(Path.of(config.dtls.certificate), Path.of(config.dtls.privateKey));
        MediaConfig mediaConfig = new MediaConfig(config.media.bind, config.media.port, config.media.advertise,
                Duration.ofSeconds(config.media.consentTimeoutSeconds),
                Duration.ofSeconds(config.media.dtlsHandshakeTimeoutSeconds), config.media.workerCount(),
                new MediaConfig.Placement(config.media.placement.memberBudget, config.media.placement.spread),
                Duration.ofMillis(config.media.keyframeRequestIntervalMs));
        this.engine = MediaEngine.start(mediaConfig, certificate, new SfuMetrics(registry));
        HeapTrim.beforeStart();
        // Before anyone can join; compacting every 1000 packets keeps its garbage from growing the heap.
        HotPathWarmup.run(engine, config.media.warmupPackets, 1000, System::gc);
        HeapTrim.afterStart();

        Map<String, String> keys = new LinkedHashMap<>(config.auth.keys);
        if (config.dev && !keys.containsKey(config.auth.devKeyId)) {
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            keys.put(config.auth.devKeyId, HexFormat.of().formatHex(secret));
        }
        SignalingConfig signalingConfig = new SignalingConfig(config.http.bind, config.http.port, config.dev, keys,
                config.auth.devKeyId, config.codecs.video, config.http.maxMessageBytes, config.rooms.maxParticipants,
                Duration.ofSeconds(config.http.joinTimeoutSeconds), config.rooms.maxTracksPerParticipant,
                config.rooms.maxTracksPerRoom);
        TokenService tokens = new TokenService(keys, Clock.systemUTC());
        this.rooms = new RoomManager(engine, signalingConfig, registry);
        if (config.cluster.enabled()) {
            rooms.setNodeId(config.cluster.nodeId);
        }
        ObjectMapper json = new ObjectMapper();
        AdminApi admin = config.admin.enabled()
                ? new AdminApi(config.admin.key, rooms, engine.control(), () -> describeCluster(config.cluster),
                        this::drain, registry, json)
                : null;
        HttpRoutes routes = new HttpRoutes(rooms::isAccepting, registry::scrape,
                config.dev ? new DevTokenEndpoint(tokens, config.auth.devKeyId, json) : null, null, admin);
        try {
            this.http = HttpServer.bind(new InetSocketAddress(config.http.bind, config.http.port), routes,
                    () -> new SignalingHandler(json, tokens, rooms, engine.control(), config.http.maxMessageBytes,
                            Duration.ofSeconds(config.http.joinTimeoutSeconds)),
                    config.http.maxMessageBytes, config.http.maxConnections, config.http.maxConnectionsPerAddress,
                    registry);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        this.cluster = config.cluster.enabled() ? startCluster(config) : null;
        log.info("node listening: http://{}:{}/ media udp {} ({} workers) candidates {} dtls fingerprint sha-256 {}{}",
                config.http.bind, http.localAddress().getPort(), engine.localAddresses(), engine.workers().size(),
                engine.candidates(),
                engine.fingerprintSha256(), config.dev ? " (development mode: /token is open)" : "");
        if (admin != null) {
            log.info("admin API on http://{}:{}/admin", config.http.bind, http.localAddress().getPort());
        }
    }

    /** Starts the cascade: the control channel to the configured peers, and rooms spanning them. */
    private io.cascadesfu.cascade.ClusterNode startCluster(SfuConfig config) {
        List<io.cascadesfu.cascade.ClusterConfig.Peer> peers = new java.util.ArrayList<>();
        for (String entry : config.cluster.peers) {
            String[] p = SfuConfig.parsePeer(entry);
            peers.add(new io.cascadesfu.cascade.ClusterConfig.Peer(p[0], p[1], Integer.parseInt(p[2])));
        }
        io.cascadesfu.cascade.ClusterConfig clusterConfig = new io.cascadesfu.cascade.ClusterConfig(
                config.cluster.nodeId, config.cluster.region, config.cluster.secret, config.cluster.bind,
                config.cluster.port, peers);
        io.cascadesfu.cascade.Cascade cascade = new io.cascadesfu.cascade.Cascade(engine, rooms,
                config.cluster.nodeId, config.media.bind, config.linkAdvertise());
        this.cascade = cascade;
        io.micrometer.core.instrument.Gauge.builder("sfu.cascade.relays", cascade,
                io.cascadesfu.cascade.Cascade::servedRelays)
                .description("Tracks this node relays to peer nodes, one per track per link").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("sfu.cascade.ignored.messages", cascade,
                io.cascadesfu.cascade.Cascade::badMessages)
                .description("Cascade messages from authenticated peers that were malformed or named nothing known")
                .register(registry);
        java.util.concurrent.atomic.AtomicReference<io.cascadesfu.cascade.ClusterNode> started =
                new java.util.concurrent.atomic.AtomicReference<>();
        try {
            engine.control().submit(() -> cascade.attach(new io.cascadesfu.cascade.ClusterBus() {
                @Override
                public boolean send(String peerId, com.fasterxml.jackson.databind.node.ObjectNode message) {
                    io.cascadesfu.cascade.ClusterNode n = started.get();
                    return n != null && n.send(peerId, message);
                }

                @Override
                public java.util.Set<String> upPeers() {
                    io.cascadesfu.cascade.ClusterNode n = started.get();
                    return n == null ? java.util.Set.of() : n.upPeers();
                }
            })).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the cascade could not start", e);
        }
        io.cascadesfu.cascade.ClusterNode node;
        try {
            node = io.cascadesfu.cascade.ClusterNode.start(clusterConfig, new io.cascadesfu.cascade.ClusterListener() {
                @Override
                public void onPeerUp(String peerId, String region) {
                    log.info("cluster: peer {} ({}) up", peerId, region);
                    cascade.onPeerUp(peerId);
                }

                @Override
                public void onPeerDown(String peerId, String reason) {
                    log.info("cluster: peer {} down: {}", peerId, reason);
                    cascade.onPeerDown(peerId);
                }

                @Override
                public void onMessage(String peerId, com.fasterxml.jackson.databind.node.ObjectNode message) {
                    cascade.onMessage(peerId, message);
                }
            }, registry);
        } catch (RuntimeException e) {
            http.close();
            engine.close();
            throw e;
        }
        started.set(node);
        for (String peer : node.upPeers()) {
            cascade.onPeerUp(peer); // came up before the bus could send: hear the rooms now
        }
        log.info("cluster: node {} ({}) on {}:{}, peers {}", config.cluster.nodeId, config.cluster.region,
                config.cluster.bind, node.boundPort(), config.cluster.peers);
        return node;
    }

    /**
     * Stops accepting joins: {@code /health} answers 503 (a load balancer sends new users elsewhere) and a join gets
     * {@code error draining}; the participants already here stay. Idempotent; any thread.
     */
    public void drain() {
        if (!rooms.isDraining()) {
            log.info("draining: new joins are refused, {} participants stay", rooms.participantCount());
        }
        rooms.drain();
    }

    /**
     * Drains, then waits: joins are refused, every local participant is told to move to another node of the
     * cluster, and this returns once none is left here or after {@code timeout}. The caller then closes the node.
     */
    public void drainAndWait(Duration timeout) {
        drain();
        String[] target = moveTarget();
        try {
            int told = engine.control().submit(() -> rooms.hintReconnect(target[0], target[1], "drain"))
                    .get(5, TimeUnit.SECONDS);
            log.info("draining: {} participants told to move{}; waiting up to {} s for them to leave", told,
                    target[1] == null ? "" : " to " + target[1] + " (" + target[0] + ")", timeout.toSeconds());
        } catch (Exception e) {
            log.warn("draining: the participants could not be told to move", e);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (rooms.participantCount() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        int left = rooms.participantCount();
        if (left > 0) {
            log.warn("draining: {} participants still here after {} s; stopping anyway", left, timeout.toSeconds());
        } else {
            log.info("draining: every participant has moved");
        }
    }

    /** Where a draining node sends its clients: base URL and id of a peer that is up, or nulls (the client picks). */
    private String[] moveTarget() {
        return new String[] {null, null};
    }

    /** {@code GET /admin/links}; control thread. */
    private java.util.concurrent.CompletionStage<com.fasterxml.jackson.databind.JsonNode> describeCluster(
            SfuConfig.Cluster config) {
        com.fasterxml.jackson.databind.node.ObjectNode body =
                (com.fasterxml.jackson.databind.node.ObjectNode) ClusterLinks.describe(config, cluster, cascade);
        if (cascade == null) {
            return java.util.concurrent.CompletableFuture.completedFuture(body);
        }
        return cascade.describeLinks().thenApplyAsync(links -> body.set("links", links), engine.control());
    }

    public InetSocketAddress httpAddress() {
        return http.localAddress();
    }

    public InetSocketAddress mediaAddress() {
        return engine.localAddress();
    }

    public MediaEngine engine() {
        return engine;
    }

    public List<InetSocketAddress> candidates() {
        return engine.candidates();
    }

    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        try {
            engine.control().submit(rooms::shutdown).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("shutdown of rooms did not finish", e);
        }
        if (cluster != null) {
            cluster.close();
        }
        http.close();
        engine.close();
        registry.close();
    }

    /** {@code GET /token?room=R&identity=I[&name=N]} in development mode. */
    record DevTokenEndpoint(TokenService tokens, String keyId, ObjectMapper json)
            implements java.util.function.Function<Map<String, List<String>>, HttpRoutes.TokenResponse> {
        @Override
        public HttpRoutes.TokenResponse apply(Map<String, List<String>> query) {
            String room = first(query, "room");
            String identity = first(query, "identity");
            String name = first(query, "name");
            if (!TokenService.isValidRoomName(room) || !TokenService.isValidIdentity(identity)) {
                return new HttpRoutes.TokenResponse(400, json.createObjectNode()
                        .put("error", "room (1..64 of [A-Za-z0-9_.-]) and identity (1..64 chars) are required")
                        .toString());
            }
            String token = tokens.issue(keyId, identity, room, name, Grants.ALL, Duration.ofHours(6));
            return new HttpRoutes.TokenResponse(200, json.createObjectNode().put("token", token).toString());
        }

        private static String first(Map<String, List<String>> query, String key) {
            List<String> v = query.get(key);
            return v == null || v.isEmpty() ? null : v.get(0);
        }
    }
}
