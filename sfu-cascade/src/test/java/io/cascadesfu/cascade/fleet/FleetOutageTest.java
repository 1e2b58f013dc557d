package io.cascadesfu.cascade.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.cascade.ClusterConfig;
import io.cascadesfu.cascade.ClusterListener;
import io.cascadesfu.cascade.ClusterNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Two real control channels that found each other through Redis, and Redis killed under them: the channels stay
 * up and keep carrying messages, nobody is removed, the registries log the outage once and register again when
 * Redis is back on the same port (empty, as without persistence).
 */
class FleetOutageTest {
    static final String SECRET = "a-cluster-secret-of-thirty-two-chars!";

    RedisServerProcess redis;
    final List<AutoCloseable> closeables = new ArrayList<>();
    final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    final ch.qos.logback.classic.Logger registryLog =
            (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(FleetRegistry.class);

    @AfterEach
    void stop() throws Exception {
        registryLog.detachAppender(logs);
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    /** A node of the test: its control channel, what it heard, and its registry wired as SfuNode wires it. */
    final class TestNode implements ClusterListener, FleetListener {
        final String id;
        final ClusterNode cluster;
        final SimpleMeterRegistry meters = new SimpleMeterRegistry();
        final List<String> peerEvents = new CopyOnWriteArrayList<>();
        final List<String> fleetEvents = new CopyOnWriteArrayList<>();
        final List<ObjectNode> messages = new CopyOnWriteArrayList<>();
        FleetRegistry fleet;

        TestNode(String id) throws Exception {
            this.id = id;
            cluster = ClusterNode.start(new ClusterConfig(id, "region-" + id, SECRET, "127.0.0.1",
                    RedisServerProcess.freePort(), List.of(), "http://127.0.0.1:788" + id.length()), this, meters);
            closeables.add(cluster);
            fleet = FleetRegistry.start(FleetConfig.of(redis.url(), id, "region-" + id, "127.0.0.1",
                            cluster.boundPort(), "").withTiming(FleetRegistryTest.TTL, FleetRegistryTest.HEARTBEAT,
                            FleetRegistryTest.TIMEOUT),
                    () -> 0, this, meters);
            closeables.add(fleet); // closed before its cluster node
        }

        @Override
        public void onNodeAdded(FleetNode node) {
            fleetEvents.add("added:" + node.nodeId());
            cluster.addPeer(new ClusterConfig.Peer(node.nodeId(), node.clusterHost(), node.clusterPort()));
        }

        @Override
        public void onNodeRemoved(String nodeId) {
            fleetEvents.add("removed:" + nodeId);
            cluster.removePeer(nodeId);
        }

        @Override
        public void onPeerUp(String peerId, String region) {
            peerEvents.add("up:" + peerId);
        }

        @Override
        public void onPeerDown(String peerId, String reason) {
            peerEvents.add("down:" + peerId);
        }

        @Override
        public void onMessage(String peerId, ObjectNode message) {
            messages.add(message);
        }
    }

    @Test
    void nodesThatMetThroughRedisStayConnectedThroughAnOutageAndRegisterAgain() throws Exception {
        redis = RedisServerProcess.start();
        TestNode a = new TestNode("a");
        TestNode b = new TestNode("b");
        a.fleet.roomHosted("r");
        FleetRegistryTest.waitUntil("a and b connected through the registry", 10_000,
                () -> a.cluster.upPeers().contains("b") && b.cluster.upPeers().contains("a"));
        ClusterNode.PeerInfo bSeenByA = a.cluster.peers().get(0);
        assertEquals(new ClusterNode.PeerInfo("b", "region-b", "http://127.0.0.1:7881", true, bSeenByA.rttMs()),
                bSeenByA);

        // Messages both ways, all through the outage.
        AtomicBoolean sending = new AtomicBoolean(true);
        AtomicInteger sentAtoB = new AtomicInteger();
        AtomicInteger sentBtoA = new AtomicInteger();
        Thread sender = new Thread(() -> {
            while (sending.get()) {
                if (a.cluster.send("b", JsonNodeFactory.instance.objectNode().put("type", "n")
                        .put("i", sentAtoB.get()))) {
                    sentAtoB.incrementAndGet();
                }
                if (b.cluster.send("a", JsonNodeFactory.instance.objectNode().put("type", "n")
                        .put("i", sentBtoA.get()))) {
                    sentBtoA.incrementAndGet();
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "test-sender");
        sender.setDaemon(true);
        sender.start();
        FleetRegistryTest.waitUntil("messages flowing", 5_000, () -> b.messages.size() > 10 && a.messages.size() > 10);

        logs.start();
        registryLog.addAppender(logs);
        redis.kill();
        long killedNs = System.nanoTime();
        FleetRegistryTest.waitUntil("both registries see Redis down", 5_000,
                () -> !a.fleet.redisUp() && !b.fleet.redisUp());
        assertEquals(0, a.meters.get("sfu.fleet.redis.up").gauge().value());
        assertTrue(a.fleet.nodesHosting("r").handle((v, e) -> e).get(2, TimeUnit.SECONDS)
                instanceof FleetRegistry.UnavailableException);
        int messagesAtKill = b.messages.size();
        // Down for twice the TTL: had the registries trusted expiry while blind, they would have removed each other.
        while (System.nanoTime() - killedNs < FleetRegistryTest.TTL.multipliedBy(2).toNanos()) {
            Thread.sleep(100);
            assertTrue(a.cluster.upPeers().contains("b") && b.cluster.upPeers().contains("a"), "channels stay up");
        }
        assertTrue(b.messages.size() > messagesAtKill + 50, "messages kept flowing during the outage");
        assertEquals(List.of("a", "b"), a.fleet.nodes().stream().map(FleetNode::nodeId).toList(), "last view kept");
        assertEquals(2, a.meters.get("sfu.fleet.nodes").gauge().value());
        assertTrue(a.meters.get("sfu.fleet.redis.errors").counter().count() >= 2, "retried");
        long warnings = logs.list.stream().filter(e -> e.getLevel() == Level.WARN).count();
        assertEquals(2, warnings, "one warning per registry for the whole outage: " + logs.list);

        redis.restart(); // same port, empty
        RedisClient rawClient = RedisClient.create(redis.url());
        closeables.add(() -> rawClient.shutdown(0, 2, TimeUnit.SECONDS));
        StatefulRedisConnection<String, String> raw = rawClient.connect();
        raw.setTimeout(Duration.ofSeconds(2));
        FleetRegistryTest.waitUntil("both registered again", 5_000, () -> raw.sync().exists("sfu:fleet:node:a",
                "sfu:fleet:node:b") == 2 && a.fleet.redisUp() && b.fleet.redisUp());
        assertEquals(1, b.meters.get("sfu.fleet.redis.up").gauge().value());
        FleetRegistryTest.waitUntil("a's room listed again", 5_000,
                () -> FleetRegistryTest.hosting(b.fleet, "r").equals(Set.of("a")));
        // Past the grace after the restart: still nobody removed, the channels never went down.
        Thread.sleep(FleetRegistryTest.TTL.plus(FleetRegistryTest.HEARTBEAT).toMillis() + 500);
        assertEquals(List.of("added:b"), a.fleetEvents);
        assertEquals(List.of("added:a"), b.fleetEvents);
        assertEquals(List.of("up:b"), a.peerEvents);
        assertEquals(List.of("up:a"), b.peerEvents);
        assertEquals(2, logs.list.stream().filter(e -> e.getLevel() == Level.INFO
                && e.getFormattedMessage().contains("is back")).count(), "each registry logs the recovery once");

        sending.set(false);
        sender.join(2_000);
        FleetRegistryTest.waitUntil("every message delivered", 5_000,
                () -> b.messages.size() == sentAtoB.get() && a.messages.size() == sentBtoA.get());
        for (int i = 0; i < b.messages.size(); i++) {
            assertEquals(i, b.messages.get(i).get("i").asInt(), "in order, none lost");
        }
    }
}
