package io.cascadesfu.cascade.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cascadesfu.cascade.ClusterConfig;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.MaintNotificationsConfig;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.event.DefaultEventPublisherOptions;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet registry on Redis: each node registers itself under a key that expires unless it is refreshed, lists
 * the live nodes and tells a {@link FleetListener} which appeared and which left, and keeps a directory of the
 * rooms each node hosts. The nodes' control channels ({@link io.cascadesfu.cascade.ClusterNode}) do not depend on
 * it: Redis only tells who to dial.
 *
 * <p><b>Keys</b> (prefix {@value FleetConfig#DEFAULT_KEY_PREFIX} by default):
 * <ul>
 *   <li>{@code node:<id>}: a string, JSON {@code {nodeId, region, clusterHost, clusterPort, publicUrl, load, ts}},
 *       written with a TTL at every heartbeat. A node is live while its key exists.</li>
 *   <li>{@code nodes}: a sorted set of node ids scored by their last heartbeat; the listing reads it instead of
 *       scanning a keyspace that may be shared. Ids not refreshed for two TTLs are trimmed.</li>
 *   <li>{@code room:<room>}: a sorted set of the ids of the nodes hosting the room, each scored by when its entry
 *       expires. A node re-adds its rooms with a new expiry at every heartbeat and removes a room when its last
 *       participant leaves; {@link #nodesHosting} takes only entries that have not expired, so the rooms of a node
 *       that died leave the directory with its key. The set itself expires one TTL after its last refresh.</li>
 * </ul>
 * Times are the Redis server's clock (read with {@code TIME} at every heartbeat), so the nodes' clocks need not
 * agree.
 *
 * <p><b>Losing Redis</b> must not break calls: on an error (a refused connection, a timeout, an error reply) the
 * registry keeps its last view of the fleet and removes no one, logs once per outage, counts the error, drops the
 * connection and tries again after a backoff that doubles from {@value #BACKOFF_MIN_MS} ms up to the heartbeat. When
 * Redis answers again it registers again (key, index, rooms) at once; for one TTL after that it still removes no
 * one, since the other nodes are registering again too (a Redis restarted without persistence is empty).
 *
 * <p>Metrics: {@code sfu_fleet_redis_up} (1 while the last exchange with Redis worked), {@code sfu_fleet_nodes}
 * (live nodes in the last view, this one included), {@code sfu_fleet_redis_errors_total}.
 *
 * <p>Threading: one thread ({@code sfu-fleet}) owns the connection and the view, makes every Redis call (each
 * bounded by the command timeout) and calls the listener. The public methods may be called from any thread and
 * never block on Redis, except {@link #close}, which waits a bounded time to deregister.
 */
public final class FleetRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FleetRegistry.class);
    static final long BACKOFF_MIN_MS = 250;
    /** A node entry longer than this is not one of ours. */
    static final int MAX_ENTRY_CHARS = 4096;

    private final FleetConfig config;
    private final IntSupplier load;
    private final FleetListener listener;
    private final ObjectMapper json = new ObjectMapper();
    private final ScheduledExecutorService loop;
    private final ClientResources resources;
    private final RedisClient client;
    private final String nodeKey;
    private final String indexKey;
    private final Counter errors;

    // The sfu-fleet thread only.
    private StatefulRedisConnection<String, String> connection;
    /** The Redis server's clock minus this machine's, ms. */
    private long clockOffsetMs;
    private long backoffMs;
    private boolean inOutage;
    private boolean everUp;
    private long outageStartNs;
    /** No node is removed before this (a TTL after Redis came back). */
    private long graceUntilNs = System.nanoTime();
    private boolean warnedDuplicateId;
    private final Set<String> hostedRooms = new LinkedHashSet<>();
    private final Map<String, FleetNode> view = new HashMap<>();

    // Any thread.
    private volatile List<FleetNode> nodes = List.of();
    private volatile boolean redisUp;
    private volatile boolean closed;

    /** Redis could not be asked (it is unreachable, or the registry is closed). */
    public static final class UnavailableException extends RuntimeException {
        UnavailableException(String message) {
            super(message);
        }
    }

    private FleetRegistry(FleetConfig config, IntSupplier load, FleetListener listener, MeterRegistry meters) {
        this.config = config;
        this.load = load;
        this.listener = listener;
        this.nodeKey = nodeKey(config.nodeId());
        this.indexKey = config.keyPrefix() + "nodes";
        RedisURI uri = RedisURI.create(config.redisUrl());
        uri.setTimeout(config.commandTimeout());
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2) // its minimum
                .commandLatencyRecorder(CommandLatencyRecorder.disabled())
                .commandLatencyPublisherOptions(DefaultEventPublisherOptions.disabled())
                .build();
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(false) // the registry reconnects itself, with its backoff and one log per outage
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .maintNotificationsConfig(MaintNotificationsConfig.disabled())
                .socketOptions(SocketOptions.builder().connectTimeout(config.commandTimeout()).keepAlive(true).build())
                .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()))
                .build());
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sfu-fleet");
            t.setDaemon(true);
            return t;
        });
        this.errors = Counter.builder("sfu.fleet.redis.errors")
                .description("Exchanges with Redis that failed (unreachable, timed out, error reply)")
                .register(meters);
        Gauge.builder("sfu.fleet.redis.up", this, r -> r.redisUp ? 1 : 0)
                .description("1 while the fleet registry's last exchange with Redis worked").register(meters);
        Gauge.builder("sfu.fleet.nodes", this, r -> r.nodes.size())
                .description("Live nodes in the fleet registry's last view, this one included").register(meters);
    }

    /**
     * Starts registering this node and listing the fleet, at once and then every heartbeat. Redis need not be
     * reachable yet: the registry keeps trying.
     *
     * @param load the participants joined on this node, read at each heartbeat on the registry's thread
     */
    public static FleetRegistry start(FleetConfig config, IntSupplier load, FleetListener listener,
                                      MeterRegistry meters) {
        FleetRegistry registry = new FleetRegistry(config, load, listener, meters);
        registry.loop.execute(registry::tick);
        return registry;
    }

    /** The live nodes as last seen in Redis, this one included, sorted by id; the last view while Redis is down. */
    public List<FleetNode> nodes() {
        return nodes;
    }

    /** Whether the last exchange with Redis worked. */
    public boolean redisUp() {
        return redisUp;
    }

    /** Lists this node as hosting {@code room} (at once if Redis is up, and at every heartbeat). Any thread. */
    public void roomHosted(String room) {
        run(() -> {
            if (hostedRooms.add(room) && redisUp) {
                try {
                    List<RedisFuture<?>> done = new ArrayList<>();
                    addRoomEntry(connection.async(), room, redisNowMs(), done);
                    awaitAll(done);
                } catch (RuntimeException e) {
                    failed("listing room " + room, e);
                }
            }
        });
    }

    /**
     * Takes this node out of {@code room}'s directory (at once if Redis is up; else its entry expires within a
     * TTL). Any thread.
     */
    public void roomReleased(String room) {
        run(() -> {
            if (hostedRooms.remove(room) && redisUp) {
                try {
                    await(connection.async().zrem(roomKey(room), config.nodeId()));
                } catch (RuntimeException e) {
                    failed("releasing room " + room, e);
                }
            }
        });
    }

    /**
     * The ids of the nodes hosting {@code room}, this one included if it does, read from Redis. Completes on the
     * registry's thread (do not block in a callback), within the command timeout; fails with
     * {@link UnavailableException} at once while Redis is down, or with the Redis error.
     */
    public CompletableFuture<Set<String>> nodesHosting(String room) {
        CompletableFuture<Set<String>> result = new CompletableFuture<>();
        boolean queued = run(() -> {
            if (!redisUp) {
                result.completeExceptionally(new UnavailableException("Redis is unavailable"));
                return;
            }
            try {
                List<String> ids = await(connection.async().zrangebyscore(roomKey(room),
                        Range.from(Range.Boundary.excluding(redisNowMs()), Range.Boundary.unbounded())));
                result.complete(Set.copyOf(ids));
            } catch (RuntimeException e) {
                failed("reading room " + room, e);
                result.completeExceptionally(e);
            }
        });
        if (!queued) {
            result.completeExceptionally(new UnavailableException("the fleet registry is closed"));
        }
        return result;
    }

    /** Deregisters (key, index entry, room entries; bounded wait) and stops. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Future<?> deregistered = null;
        try {
            deregistered = loop.submit(this::deregister);
        } catch (RejectedExecutionException e) {
            // stopped already
        }
        if (deregistered != null) {
            try {
                deregistered.get(config.commandTimeout().toMillis() * 3, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                log.debug("fleet: deregistering did not finish: {}", e.toString());
            }
        }
        stop();
    }

    /** Stops without deregistering, as if the process died: the entries expire after the TTL (tests). */
    void abandon() {
        closed = true;
        stop();
    }

    // ------------------------------------------------------------------------------------ the sfu-fleet thread

    /** One heartbeat: connect if needed, register, list; then the next one, sooner after a failure. */
    private void tick() {
        if (closed) {
            return;
        }
        long delayMs = config.heartbeat().toMillis();
        try {
            if (connection == null) {
                connection = client.connect();
            }
            heartbeat();
            if (!redisUp) {
                redisBack();
            }
            list();
            backoffMs = 0;
        } catch (RuntimeException e) {
            failed("heartbeat", e);
            backoffMs = backoffMs == 0 ? BACKOFF_MIN_MS : Math.min(backoffMs * 2, config.heartbeat().toMillis());
            delayMs = backoffMs;
        }
        try {
            loop.schedule(this::tick, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    /** Writes this node's key, index entry and room entries, and reads the Redis clock. */
    private void heartbeat() {
        RedisAsyncCommands<String, String> redis = connection.async();
        long beforeMs = System.currentTimeMillis();
        List<String> time = await(redis.time());
        long afterMs = System.currentTimeMillis();
        long nowMs = Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
        clockOffsetMs = nowMs - (beforeMs + afterMs) / 2;
        long ttlMs = config.ttl().toMillis();
        int participants;
        try {
            participants = load.getAsInt();
        } catch (RuntimeException e) {
            participants = 0;
            log.debug("fleet: the load callback failed: {}", e.toString());
        }
        String entry = json.createObjectNode().put("nodeId", config.nodeId()).put("region", config.region())
                .put("clusterHost", config.clusterHost()).put("clusterPort", config.clusterPort())
                .put("publicUrl", config.publicUrl()).put("load", participants).put("ts", nowMs).toString();
        List<RedisFuture<?>> done = new ArrayList<>();
        done.add(redis.set(nodeKey, entry, SetArgs.Builder.px(ttlMs)));
        done.add(redis.zadd(indexKey, (double) nowMs, config.nodeId()));
        done.add(redis.zremrangebyscore(indexKey,
                Range.from(Range.Boundary.unbounded(), Range.Boundary.including(nowMs - 2 * ttlMs))));
        for (String room : hostedRooms) {
            addRoomEntry(redis, room, nowMs, done);
        }
        awaitAll(done);
    }

    private void addRoomEntry(RedisAsyncCommands<String, String> redis, String room, long nowMs,
                              List<RedisFuture<?>> done) {
        String key = roomKey(room);
        long ttlMs = config.ttl().toMillis();
        done.add(redis.zadd(key, (double) (nowMs + ttlMs), config.nodeId()));
        done.add(redis.zremrangebyscore(key, Range.from(Range.Boundary.unbounded(), Range.Boundary.including(nowMs))));
        done.add(redis.pexpire(key, ttlMs));
    }

    /** Reads the live nodes and reports the changes to the listener. */
    private void list() {
        RedisAsyncCommands<String, String> redis = connection.async();
        List<String> ids = await(redis.zrange(indexKey, 0, -1));
        Map<String, FleetNode> seen = new HashMap<>();
        if (!ids.isEmpty()) {
            for (KeyValue<String, String> kv : await(redis.mget(ids.stream().map(this::nodeKey).toArray(String[]::new)))) {
                FleetNode n = kv.hasValue() ? parse(kv.getKey(), kv.getValue()) : null;
                if (n != null) {
                    seen.put(n.nodeId(), n);
                }
            }
        }
        FleetNode me = seen.get(config.nodeId());
        if (me != null && !warnedDuplicateId && (!me.clusterHost().equals(config.clusterHost())
                || me.clusterPort() != config.clusterPort())) {
            warnedDuplicateId = true;
            log.warn("fleet: another node registers as {} at {}:{}; node ids must be unique", config.nodeId(),
                    me.clusterHost(), me.clusterPort());
        }
        boolean mayRemove = System.nanoTime() - graceUntilNs >= 0;
        for (Iterator<Map.Entry<String, FleetNode>> it = view.entrySet().iterator(); it.hasNext(); ) {
            String id = it.next().getKey();
            if (!seen.containsKey(id) && mayRemove) {
                it.remove();
                if (!id.equals(config.nodeId())) {
                    log.info("fleet: node {} left", id);
                    tell(() -> listener.onNodeRemoved(id));
                }
            }
        }
        for (FleetNode n : seen.values()) {
            FleetNode before = view.put(n.nodeId(), n);
            if (!n.nodeId().equals(config.nodeId()) && (before == null || !before.sameAddress(n))) {
                log.info("fleet: node {} ({}) at {}:{}{}", n.nodeId(), n.region(), n.clusterHost(), n.clusterPort(),
                        n.publicUrl().isEmpty() ? "" : ", " + n.publicUrl());
                tell(() -> listener.onNodeAdded(n));
            }
        }
        List<FleetNode> sorted = new ArrayList<>(view.values());
        sorted.sort(Comparator.comparing(FleetNode::nodeId));
        nodes = List.copyOf(sorted);
    }

    /** A node entry as written by {@link #heartbeat}, or null if it is not one. */
    private FleetNode parse(String key, String value) {
        if (value.length() > MAX_ENTRY_CHARS) {
            return null;
        }
        try {
            JsonNode n = json.readTree(value);
            String id = n.path("nodeId").asText("");
            String host = n.path("clusterHost").asText("");
            int port = n.path("clusterPort").asInt(0);
            String region = n.path("region").asText("");
            String url = n.path("publicUrl").asText("");
            if (!ClusterConfig.isValidNodeId(id) || !key.equals(nodeKey(id)) || host.isEmpty() || host.length() > 255
                    || !host.chars().allMatch(c -> c > 0x20 && c < 0x7f) || port < 1 || port > 65535) {
                log.debug("fleet: {} is not a node entry", key);
                return null;
            }
            if (region.length() > 64 || !region.codePoints().allMatch(c -> c >= 0x20 && c != 0x7f)) {
                region = "";
            }
            if (!url.isEmpty() && !ClusterConfig.isValidPublicUrl(url)) {
                url = "";
            }
            return new FleetNode(id, region, host, port, url, n.path("load").asInt(0), n.path("ts").asLong(0));
        } catch (Exception e) {
            log.debug("fleet: {} is not a node entry: {}", key, e.toString());
            return null;
        }
    }

    private void redisBack() {
        redisUp = true;
        if (inOutage) {
            inOutage = false;
            log.info("fleet: Redis at {} is back after {} ms; registered again", FleetConfig.redacted(config.redisUrl()),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - outageStartNs));
        } else {
            log.info("fleet: registered {} in Redis at {}", config.nodeId(), FleetConfig.redacted(config.redisUrl()));
        }
        if (everUp) {
            graceUntilNs = System.nanoTime() + config.ttl().plus(config.heartbeat()).toNanos();
        }
        everUp = true;
    }

    /** An exchange with Redis failed: count it, log it once per outage, drop the connection. */
    private void failed(String what, RuntimeException e) {
        if (closed) {
            return; // stopping: the error is the interruption
        }
        errors.increment();
        redisUp = false;
        if (!inOutage) {
            inOutage = true;
            outageStartNs = System.nanoTime();
            log.warn("fleet: Redis at {} is unavailable ({}: {}); keeping the last view of {} nodes and retrying",
                    FleetConfig.redacted(config.redisUrl()), what, e.toString(), view.size());
        } else {
            log.debug("fleet: Redis still unavailable ({}: {})", what, e.toString());
        }
        if (connection != null) {
            connection.closeAsync();
            connection = null;
        }
    }

    private void deregister() {
        if (connection == null || !redisUp) {
            return;
        }
        try {
            RedisAsyncCommands<String, String> redis = connection.async();
            List<RedisFuture<?>> done = new ArrayList<>();
            done.add(redis.del(nodeKey));
            done.add(redis.zrem(indexKey, config.nodeId()));
            for (String room : hostedRooms) {
                done.add(redis.zrem(roomKey(room), config.nodeId()));
            }
            awaitAll(done);
            log.info("fleet: deregistered {}", config.nodeId());
        } catch (RuntimeException e) {
            log.info("fleet: could not deregister ({}); the entries expire within {} s", e.toString(),
                    config.ttl().toSeconds());
        }
    }

    private void stop() {
        loop.shutdownNow();
        try {
            loop.awaitTermination(config.commandTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        redisUp = false;
        client.shutdown(0, 2, TimeUnit.SECONDS); // closes the connection
        resources.shutdown(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------------------------ helpers

    private long redisNowMs() {
        return System.currentTimeMillis() + clockOffsetMs;
    }

    private String nodeKey(String id) {
        return config.keyPrefix() + "node:" + id;
    }

    private String roomKey(String room) {
        return config.keyPrefix() + "room:" + room;
    }

    /** Runs {@code task} on the registry's thread; false if it is closed. */
    private boolean run(Runnable task) {
        if (closed) {
            return false;
        }
        try {
            loop.execute(task);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    private void tell(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            log.warn("fleet: the listener failed", e);
        }
    }

    private <T> T await(RedisFuture<T> f) {
        return await(f, System.nanoTime() + config.commandTimeout().toNanos());
    }

    private void awaitAll(List<RedisFuture<?>> futures) {
        long deadlineNs = System.nanoTime() + config.commandTimeout().toNanos();
        for (RedisFuture<?> f : futures) {
            await(f, deadlineNs);
        }
    }

    private static <T> T await(RedisFuture<T> f, long deadlineNs) {
        try {
            return f.get(Math.max(0, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new RedisCommandTimeoutException("no answer within the command timeout");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new RedisException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisException("interrupted");
        }
    }
}
