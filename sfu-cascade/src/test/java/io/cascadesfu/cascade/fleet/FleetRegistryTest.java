package io.cascadesfu.cascade.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The registry against a real redis-server of the test's own: register and list, expiry, the room directory. */
class FleetRegistryTest {
    static final Duration TTL = Duration.ofSeconds(2);
    static final Duration HEARTBEAT = Duration.ofMillis(500);
    static final Duration TIMEOUT = Duration.ofMillis(400);

    RedisServerProcess redis;
    RedisClient rawClient;
    RedisCommands<String, String> raw;
    final List<FleetRegistry> registries = new ArrayList<>();

    @BeforeEach
    void startRedis() throws Exception {
        redis = RedisServerProcess.start();
        rawClient = RedisClient.create(redis.url());
        StatefulRedisConnection<String, String> c = rawClient.connect();
        c.setTimeout(Duration.ofSeconds(2));
        raw = c.sync();
    }

    @AfterEach
    void stop() throws Exception {
        registries.forEach(FleetRegistry::close);
        if (rawClient != null) {
            rawClient.shutdown(0, 2, TimeUnit.SECONDS);
        }
        if (redis != null) {
            redis.close();
        }
    }

    /** What a registry reported, in order, and the last node seen of each id. */
    static final class Recorder implements FleetListener {
        final List<String> events = new CopyOnWriteArrayList<>();
        final Map<String, FleetNode> added = new ConcurrentHashMap<>();

        @Override
        public void onNodeAdded(FleetNode node) {
            events.add("added:" + node.nodeId());
            added.put(node.nodeId(), node);
        }

        @Override
        public void onNodeRemoved(String nodeId) {
            events.add("removed:" + nodeId);
            added.remove(nodeId);
        }
    }

    static FleetConfig config(String url, String id, int clusterPort) {
        return FleetConfig.of(url, id, "region-" + id, "127.0.0.1", clusterPort, "http://127.0.0.1:" + (7000 + clusterPort % 1000))
                .withTiming(TTL, HEARTBEAT, TIMEOUT);
    }

    FleetRegistry registry(String id, int clusterPort, AtomicInteger load, FleetListener l, SimpleMeterRegistry m) {
        FleetRegistry r = FleetRegistry.start(config(redis.url(), id, clusterPort), load::get, l, m);
        registries.add(r);
        return r;
    }

    static void waitUntil(String what, long timeoutMs, BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(c.getAsBoolean(), "timed out after " + timeoutMs + " ms waiting for " + what);
    }

    static double gauge(SimpleMeterRegistry m, String name) {
        return m.get(name).gauge().value();
    }

    @Test
    void twoRegistriesSeeEachOtherWithTheirAddressesAndLoad() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        SimpleMeterRegistry ma = new SimpleMeterRegistry();
        AtomicInteger loadA = new AtomicInteger(3);
        FleetRegistry a = registry("a", 7101, loadA, ra, ma);
        FleetRegistry b = registry("b", 7102, new AtomicInteger(), rb, new SimpleMeterRegistry());
        waitUntil("each sees the other", 5_000, () -> ra.added.containsKey("b") && rb.added.containsKey("a"));
        FleetNode seenA = rb.added.get("a");
        assertEquals("region-a", seenA.region());
        assertEquals("127.0.0.1", seenA.clusterHost());
        assertEquals(7101, seenA.clusterPort());
        assertEquals("http://127.0.0.1:7101", seenA.publicUrl());
        assertEquals(3, seenA.load());
        assertTrue(seenA.heartbeatMs() > 0);
        assertEquals(List.of("added:b"), ra.events, "itself is not reported");
        waitUntil("a's view complete", 5_000, () -> a.nodes().size() == 2);
        assertEquals(List.of("a", "b"), a.nodes().stream().map(FleetNode::nodeId).toList());
        assertEquals(2, gauge(ma, "sfu.fleet.nodes"));
        assertEquals(1, gauge(ma, "sfu.fleet.redis.up"));
        assertTrue(a.redisUp());
        assertEquals(0, ma.get("sfu.fleet.redis.errors").counter().count());
        Long ttlMs = raw.pttl("sfu:fleet:node:a");
        assertTrue(ttlMs > 0 && ttlMs <= TTL.toMillis(), "the key has the TTL, got " + ttlMs);

        // The load is read at each heartbeat; a change of load is no new event.
        loadA.set(17);
        waitUntil("the new load in b's view", 5_000, () -> b.nodes().stream()
                .anyMatch(n -> n.nodeId().equals("a") && n.load() == 17));
        assertEquals(List.of("added:a"), rb.events);

        // Closed: deregistered at once, not left to expire.
        a.close();
        assertEquals(0, raw.exists("sfu:fleet:node:a"), "deregistered");
        waitUntil("b hears a left", 5_000, () -> rb.events.contains("removed:a"));
        assertEquals(List.of("b"), b.nodes().stream().map(FleetNode::nodeId).toList());
    }

    @Test
    void aNodeThatStopsHeartbeatingDisappearsWhenItsKeyExpires() throws Exception {
        Recorder rb = new Recorder();
        FleetRegistry a = registry("a", 7101, new AtomicInteger(), new Recorder(), new SimpleMeterRegistry());
        a.roomHosted("r");
        registry("b", 7102, new AtomicInteger(), rb, new SimpleMeterRegistry());
        waitUntil("b sees a", 5_000, () -> rb.added.containsKey("a"));
        a.abandon(); // as if its process died: nothing deregistered
        long stoppedNs = System.nanoTime();
        assertEquals(1, raw.exists("sfu:fleet:node:a"), "still there until the TTL");
        waitUntil("b hears a left", TTL.toMillis() * 3, () -> rb.events.contains("removed:a"));
        long afterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedNs);
        assertTrue(afterMs >= TTL.toMillis() - HEARTBEAT.toMillis() - 100,
                "removed only when the key expired, not before: " + afterMs + " ms");
        assertEquals(0, raw.exists("sfu:fleet:node:a"));
        waitUntil("its room entry expired too", 2_000, () -> raw.zrangebyscore("sfu:fleet:room:r",
                io.lettuce.core.Range.create((double) System.currentTimeMillis(), Double.POSITIVE_INFINITY)).isEmpty());
    }

    @Test
    void theRoomDirectoryTellsWhichLiveNodesHostARoom() throws Exception {
        FleetRegistry a = registry("a", 7101, new AtomicInteger(), new Recorder(), new SimpleMeterRegistry());
        FleetRegistry b = registry("b", 7102, new AtomicInteger(), new Recorder(), new SimpleMeterRegistry());
        waitUntil("both registered", 5_000, () -> a.redisUp() && b.redisUp());
        a.roomHosted("r1");
        b.roomHosted("r1");
        b.roomHosted("r2");
        waitUntil("r1 on both", 5_000, () -> hosting(a, "r1").equals(Set.of("a", "b")));
        // Each registration is written on the registry's own thread: b's r2 may land just after its r1.
        waitUntil("r2 on b", 5_000, () -> hosting(a, "r2").equals(Set.of("b")));
        assertEquals(Set.of(), hosting(a, "nowhere"));

        a.roomReleased("r1");
        waitUntil("a released r1", 5_000, () -> hosting(b, "r1").equals(Set.of("b")));

        // Re-added at each heartbeat: an entry lost in Redis comes back.
        raw.del("sfu:fleet:room:r2");
        waitUntil("r2 listed again", 5_000, () -> hosting(a, "r2").equals(Set.of("b")));
        assertTrue(raw.pttl("sfu:fleet:room:r2") > 0, "the room key expires too");

        // A node that dies leaves the directory with its key.
        b.abandon();
        waitUntil("b's rooms expired", TTL.toMillis() * 3, () -> hosting(a, "r1").isEmpty()
                && hosting(a, "r2").isEmpty());
    }

    @Test
    void aRegistryStartedWithoutRedisRegistersWhenRedisAppears() throws Exception {
        redis.kill();
        Recorder ra = new Recorder();
        SimpleMeterRegistry ma = new SimpleMeterRegistry();
        FleetRegistry a = registry("a", 7101, new AtomicInteger(), ra, ma);
        waitUntil("errors counted", 5_000, () -> ma.get("sfu.fleet.redis.errors").counter().count() >= 2);
        assertFalse(a.redisUp());
        assertEquals(0, gauge(ma, "sfu.fleet.redis.up"));
        assertTrue(a.nodesHosting("r").handle((v, e) -> e).get(2, TimeUnit.SECONDS)
                instanceof FleetRegistry.UnavailableException, "fails at once while Redis is down");
        redis.restart();
        waitUntil("registered", 5_000, () -> a.redisUp() && raw.exists("sfu:fleet:node:a") == 1);
        assertEquals(1, gauge(ma, "sfu.fleet.redis.up"));
    }

    static Set<String> hosting(FleetRegistry r, String room) {
        try {
            return r.nodesHosting(room).get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("nodesHosting(" + room + ") failed", e);
        }
    }
}
