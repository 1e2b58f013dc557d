package io.cascadesfu.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cascadesfu.cascade.ClusterConfig;
import io.cascadesfu.cascade.ClusterNode;
import io.cascadesfu.cascade.fleet.FleetConfig;
import io.cascadesfu.cascade.fleet.FleetListener;
import io.cascadesfu.cascade.fleet.FleetNode;
import io.cascadesfu.cascade.fleet.FleetRegistry;
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
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
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
    private final ClusterNode cluster;
    /** The cascade's coordinator, null without a cluster; for the admin API. */
    private volatile io.cascadesfu.cascade.Cascade cascade;
    /** The fleet registry on Redis (who the peers are, which rooms they host), null without one. */
    private final FleetRegistry fleet;

    public SfuNode(SfuConfig config) {
        new JvmMemoryMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics().bindTo(registry); // pauses stall forwarding
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
        DtlsCertificate certificate = config.dtls.certificate != null
                ? DtlsCertificate.load(Path.of(config.dtls.certificate), Path.of(config.dtls.privateKey))
                : config.dtls.stateDir != null ? DtlsCertificate.loadOrCreate(Path.of(config.dtls.stateDir))
                : DtlsCertificate.generate();
        MediaConfig mediaConfig = new MediaConfig(config.media.bind, config.media.port, config.media.advertise,
                Duration.ofSeconds(config.media.consentTimeoutSeconds),
                Duration.ofSeconds(config.media.dtlsHandshakeTimeoutSeconds), config.media.workerCount(),
                new MediaConfig.Placement(config.media.placement.memberBudget, config.media.placement.spread),
                Duration.ofMillis(config.media.keyframeRequestIntervalMs), config.media.tcpPort);
        this.engine = MediaEngine.start(mediaConfig, certificate, new SfuMetrics(registry));
        HeapTrim.beforeStart();
        // Before anyone can join; compacting every 1000 packets keeps its garbage from growing the heap.
        HotPathWarmup.run(engine, config.media.warmupPackets, 1000, System::gc);

        Map<String, String> keys = new LinkedHashMap<>(config.auth.keys);
        if (config.dev && !keys.containsKey(config.auth.devKeyId)) {
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            keys.put(config.auth.devKeyId, HexFormat.of().formatHex(secret));
        }
        SignalingConfig signalingConfig = new SignalingConfig(config.http.bind, config.http.port, config.dev, keys,
                config.auth.devKeyId, config.codecs.video, config.http.maxMessageBytes, config.rooms.maxParticipants,
                Duration.ofSeconds(config.http.joinTimeoutSeconds), config.rooms.maxTracksPerParticipant,
                config.rooms.maxTracksPerRoom, config.rooms.maxSubscribeSections);
        TokenService tokens = new TokenService(keys, Clock.systemUTC());
        this.rooms = new RoomManager(engine, signalingConfig, registry);
        if (config.cluster.enabled()) {
            rooms.setNodeId(config.cluster.nodeId);
        }
        if (config.turn.enabled()) {
            rooms.setTurn(new io.cascadesfu.signaling.auth.TurnCredentials(config.turn.urls, config.turn.secret,
                    Duration.ofSeconds(config.turn.ttlSeconds), Clock.systemUTC()));
        }
        ObjectMapper json = new ObjectMapper();
        AdminApi admin = config.admin.enabled()
                ? new AdminApi(config.admin.key, rooms, engine.control(), () -> describeCluster(config.cluster),
                        () -> startDrain(Duration.ofSeconds(config.drain.timeoutSeconds)), registry, json)
                : null;
        HttpRoutes routes = new HttpRoutes(rooms::isAccepting, registry::scrape,
                config.dev ? new DevTokenEndpoint(tokens, config.auth.devKeyId, json) : null,
                config.cluster.enabled() ? q -> nodesAnswer(config.cluster, tokens, q) : null, admin);
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
        ClusterParts parts = config.cluster.enabled() ? startCluster(config) : null;
        this.cluster = parts == null ? null : parts.node();
        this.fleet = config.cluster.fleetEnabled() ? startFleet(config, parts) : null;
        log.info("node listening: http://{}:{}/ media udp {} ({} workers) candidates {}{} dtls fingerprint sha-256 {}{}",
                config.http.bind, http.localAddress().getPort(), engine.localAddresses(), engine.workers().size(),
                engine.candidates(),
                engine.tcpAddress() == null ? "" : " ICE-TCP " + engine.tcpAddress() + " candidates "
                        + engine.tcpCandidates(),
                engine.fingerprintSha256(), config.dev ? " (development mode: /token is open)" : "");
        if (admin != null) {
            log.info("admin API on http://{}:{}/admin", config.http.bind, http.localAddress().getPort());
        }
        // Last, once nothing of start-up allocates any more: a trim right after the warm-up left the rest of start-up
        // to run in a small young generation, whose many collections made G1 grow the heap again, for good.
        HeapTrim.afterStart();
    }

    /** The cluster's running pieces. */
    private record ClusterParts(ClusterNode node, io.cascadesfu.cascade.Cascade cascade) {
    }

    /** Starts the cascade: the control channel to the configured peers, and rooms spanning them. */
    private ClusterParts startCluster(SfuConfig config) {
        List<io.cascadesfu.cascade.ClusterConfig.Peer> peers = new java.util.ArrayList<>();
        for (String entry : config.cluster.peers) {
            String[] p = SfuConfig.parsePeer(entry);
            peers.add(new io.cascadesfu.cascade.ClusterConfig.Peer(p[0], p[1], Integer.parseInt(p[2])));
        }
        io.cascadesfu.cascade.ClusterConfig clusterConfig = new io.cascadesfu.cascade.ClusterConfig(
                config.cluster.nodeId, config.cluster.region, config.cluster.secret, config.cluster.bind,
                config.cluster.port, peers, config.cluster.publicUrl);
        io.cascadesfu.cascade.Cascade cascade = new io.cascadesfu.cascade.Cascade(engine, rooms,
                config.cluster.nodeId, config.media.bind, config.linkAdvertise(), config.linkAdvertiseFor());
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

                @Override
                public double rttMillis(String peerId) {
                    io.cascadesfu.cascade.ClusterNode n = started.get();
                    return n == null ? -1 : n.pathRttMillis(peerId);
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
        log.info("cluster: node {} ({}) on {}:{}, peers {}{}", config.cluster.nodeId, config.cluster.region,
                config.cluster.bind, node.boundPort(), config.cluster.peers,
                config.cluster.fleetEnabled() ? " and the fleet registry" : "");
        return new ClusterParts(node, cascade);
    }

    /**
     * Starts the fleet registry after the control channel: the nodes it lists become peers (a static peer keeps its
     * configured address), and the rooms opened here are listed in its directory.
     */
    private FleetRegistry startFleet(SfuConfig config, ClusterParts parts) {
        ClusterNode node = parts.node();
        Set<String> staticPeers = config.cluster.peers.stream().map(e -> SfuConfig.parsePeer(e)[0])
                .collect(Collectors.toUnmodifiableSet());
        FleetConfig fleetConfig = FleetConfig.of(config.cluster.redis, config.cluster.nodeId, config.cluster.region,
                config.cluster.advertisedHost(), node.boundPort(), config.cluster.publicUrl);
        FleetRegistry fleetRegistry;
        try {
            fleetRegistry = FleetRegistry.start(fleetConfig, rooms::participantCount, new FleetListener() {
                @Override
                public void onNodeAdded(FleetNode n) {
                    if (staticPeers.contains(n.nodeId())) {
                        return;
                    }
                    try {
                        node.addPeer(new ClusterConfig.Peer(n.nodeId(), n.clusterHost(), n.clusterPort()));
                    } catch (IllegalArgumentException e) {
                        log.warn("fleet: node {} cannot be a peer: {}", n.nodeId(), e.getMessage());
                    }
                }

                @Override
                public void onNodeRemoved(String nodeId) {
                    if (!staticPeers.contains(nodeId)) {
                        node.removePeer(nodeId);
                    }
                }
            }, this.registry);
        } catch (RuntimeException e) {
            node.close();
            http.close();
            engine.close();
            throw e;
        }
        io.cascadesfu.cascade.Cascade cascade = parts.cascade();
        try {
            engine.control().submit(() -> {
                rooms.setCascadeHooks(new RoomManager.CascadeHooks() {
                    @Override
                    public void roomOpened(String room) {
                        cascade.roomOpened(room);
                        fleetRegistry.roomHosted(room);
                    }

                    @Override
                    public void roomChanged(String room) {
                        cascade.roomChanged(room);
                    }

                    @Override
                    public void roomClosed(String room) {
                        cascade.roomClosed(room);
                        fleetRegistry.roomReleased(room);
                    }
                });
                rooms.roomNames().forEach(fleetRegistry::roomHosted); // opened before the hooks were set
            }).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            fleetRegistry.close();
            node.close();
            http.close();
            engine.close();
            throw new IllegalStateException("the fleet registry could not start", e);
        }
        log.info("fleet: registering {} at {}:{} in Redis at {}", config.cluster.nodeId, fleetConfig.clusterHost(),
                fleetConfig.clusterPort(), FleetConfig.redacted(config.cluster.redis));
        return fleetRegistry;
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

    /** Run when a drain has finished waiting (the process's main sets it to exit 0); null: nothing. */
    private volatile Runnable afterDrain;
    private final java.util.concurrent.atomic.AtomicBoolean drainStarted =
            new java.util.concurrent.atomic.AtomicBoolean();

    /** What runs once a drain started by {@link #startDrain} has finished waiting. */
    public void onDrained(Runnable action) {
        this.afterDrain = action;
    }

    /**
     * The whole drain, for SIGTERM and {@code POST /admin/drain}: joins stop at once; in the background the
     * participants are told to move and waited for ({@link #drainAndWait}), then {@link #onDrained} runs.
     * Idempotent; any thread.
     */
    public void startDrain(Duration timeout) {
        drain();
        if (!drainStarted.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            drainAndWait(timeout);
            Runnable then = afterDrain;
            if (then != null) {
                then.run();
            }
        }, "sfu-drain");
        t.setDaemon(true);
        t.start();
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
        ClusterNode.PeerInfo best = null;
        for (ClusterNode.PeerInfo p : cluster == null ? List.<ClusterNode.PeerInfo>of() : cluster.peers()) {
            if (p.up() && p.publicUrl() != null && !p.publicUrl().isEmpty()
                    && (best == null || rttOrder(p) < rttOrder(best))) {
                best = p;
            }
        }
        return best == null ? new String[] {null, null} : new String[] {best.publicUrl(), best.id()};
    }

    private static double rttOrder(ClusterNode.PeerInfo p) {
        return p.rttMs() >= 0 ? p.rttMs() : Double.MAX_VALUE;
    }

    /**
     * {@code GET /nodes}: this node and the peers that are up with a public URL, where clients may go, each with this
     * node's measured round trip to it.
     * <pre>{"self": {"id", "region", "url"}, "nodes": [{"id", "region", "url", "up", "rttMs"}]}</pre>
     * With {@code ?room=R&token=T} (a join token for room R), each node also says how many of R's participants
     * it holds ({@code "participants"}), so that a client can join the node nearest to the room's members, not
     * only to itself. A missing or wrong token is 401; the counts are nobody else's business. HTTP I/O thread.
     */
    private java.util.concurrent.CompletionStage<HttpRoutes.AdminResponse> nodesAnswer(
            SfuConfig.Cluster config, TokenService tokens, Map<String, List<String>> query) {
        Map<String, String> cors = Map.of("Access-Control-Allow-Origin", "*");
        String room = first(query, "room");
        if (room == null) {
            return java.util.concurrent.CompletableFuture.completedFuture(
                    new HttpRoutes.AdminResponse(200, nodesJson(config, null, Map.of()).toString(), cors));
        }
        String why;
        try {
            io.cascadesfu.signaling.auth.AccessToken token = tokens.verify(String.valueOf(first(query, "token")));
            why = token.room().equals(room) ? null : "the token is for another room";
        } catch (io.cascadesfu.signaling.auth.TokenException e) {
            why = e.getMessage();
        }
        if (why != null) {
            com.fasterxml.jackson.databind.node.ObjectNode error =
                    com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
            error.put("error", "unauthorized").put("message", "room counts need a join token for the room: " + why);
            return java.util.concurrent.CompletableFuture.completedFuture(
                    new HttpRoutes.AdminResponse(401, error.toString(), cors));
        }
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            Map<String, Integer> counts = new java.util.HashMap<>(
                    cascade == null ? Map.of() : cascade.remoteCounts(room));
            counts.put(config.nodeId, rooms.localParticipants(room).size());
            return new HttpRoutes.AdminResponse(200, nodesJson(config, room, counts).toString(), cors);
        }, engine.control());
    }

    private static String first(Map<String, List<String>> query, String name) {
        List<String> values = query.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** The body of {@link #nodesAnswer}; with {@code room}, each node's participant count from {@code counts}. */
    private com.fasterxml.jackson.databind.node.ObjectNode nodesJson(SfuConfig.Cluster config, String room,
                                                                     Map<String, Integer> counts) {
        com.fasterxml.jackson.databind.node.ObjectNode body =
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        com.fasterxml.jackson.databind.node.ObjectNode self = body.putObject("self");
        self.put("id", config.nodeId);
        self.put("region", config.region);
        self.put("url", config.publicUrl);
        if (room != null) {
            body.put("room", room);
        }
        com.fasterxml.jackson.databind.node.ArrayNode list = body.putArray("nodes");
        if (!config.publicUrl.isEmpty()) {
            com.fasterxml.jackson.databind.node.ObjectNode n = list.addObject().put("id", config.nodeId)
                    .put("region", config.region).put("url", config.publicUrl).put("up", rooms.isAccepting())
                    .put("rttMs", 0.0);
            if (room != null) {
                n.put("participants", counts.getOrDefault(config.nodeId, 0));
            }
        }
        for (ClusterNode.PeerInfo p : cluster == null ? List.<ClusterNode.PeerInfo>of() : cluster.peers()) {
            if (p.up() && p.publicUrl() != null && !p.publicUrl().isEmpty()) {
                com.fasterxml.jackson.databind.node.ObjectNode n = list.addObject().put("id", p.id())
                        .put("region", p.region()).put("url", p.publicUrl()).put("up", true).put("rttMs", p.rttMs());
                if (room != null) {
                    n.put("participants", counts.getOrDefault(p.id(), 0));
                }
            }
        }
        return body;
    }

    /** {@code GET /admin/links}; control thread. */
    private java.util.concurrent.CompletionStage<com.fasterxml.jackson.databind.JsonNode> describeCluster(
            SfuConfig.Cluster config) {
        com.fasterxml.jackson.databind.node.ObjectNode body =
                (com.fasterxml.jackson.databind.node.ObjectNode) ClusterLinks.describe(config, cluster, cascade);
        if (cascade == null) {
            return java.util.concurrent.CompletableFuture.completedFuture(body);
        }
        return cascade.describeLinks().thenApplyAsync(links -> body.set("links", links), engine.control())
                .thenComposeAsync(b -> cascade.describeWires(), engine.control())
                .thenApplyAsync(wires -> body.set("wires", wires), engine.control());
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
        if (fleet != null) {
            fleet.close(); // deregisters, so the other nodes stop dialling this one
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
    }
}
