package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.cascadesfu.cascade.fleet.RedisServerProcess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two in-process nodes with {@code cluster.redis} and no static peers: they find each other through a real
 * redis-server of the test's own, their control channels come up, a room opened on one is in the directory until
 * it closes, and a node that stops deregisters.
 */
@Timeout(60)
class FleetSfuNodeTest {
    static final String CLUSTER_SECRET = "a-cluster-secret-of-thirty-two-chars!";

    RedisServerProcess redis;
    RedisClient rawClient;
    final List<SfuNode> nodes = new ArrayList<>();
    final List<WsClient> clients = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        clients.forEach(WsClient::close);
        nodes.forEach(SfuNode::close);
        if (rawClient != null) {
            rawClient.shutdown(0, 2, TimeUnit.SECONDS);
        }
        if (redis != null) {
            redis.close();
        }
    }

    SfuNode node(String id) {
        SfuConfig c = SignalingProtocolTest.devConfig();
        c.media.workers = 1;
        c.cluster.nodeId = id;
        c.cluster.region = "region-" + id;
        c.cluster.secret = CLUSTER_SECRET;
        c.cluster.port = 0;
        c.cluster.redis = redis.url();
        c.cluster.publicUrl = "http://127.0.0.1:1788" + id.length();
        c.validate();
        SfuNode n = new SfuNode(c);
        nodes.add(n);
        return n;
    }

    static double gauge(SfuNode node, String name) throws Exception {
        String body = SignalingProtocolTest.get(node.httpAddress(), "/metrics").body();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? (\\S+)$").matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    static void waitUntil(String what, BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    static boolean gaugeIs(SfuNode node, String name, double value) {
        try {
            return gauge(node, name) == value;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void nodesFindEachOtherInRedisAndListTheirRooms() throws Exception {
        redis = RedisServerProcess.start();
        rawClient = RedisClient.create(redis.url());
        StatefulRedisConnection<String, String> connection = rawClient.connect();
        connection.setTimeout(Duration.ofSeconds(2));
        RedisCommands<String, String> raw = connection.sync();
        SfuNode a = node("a");
        SfuNode b = node("b");
        waitUntil("the control channel up through the registry", () -> gaugeIs(a, "sfu_cascade_peers_up", 1)
                && gaugeIs(b, "sfu_cascade_peers_up", 1));
        assertEquals(2, gauge(a, "sfu_fleet_nodes"));
        assertEquals(1, gauge(a, "sfu_fleet_redis_up"));
        String entry = raw.get("sfu:fleet:node:b");
        assertNotNull(entry);
        assertTrue(entry.contains("\"publicUrl\":\"http://127.0.0.1:17881\"") && entry.contains("\"region\":\"region-b\""),
                entry);

        InetSocketAddress http = a.httpAddress();
        WsClient alice = WsClient.joined(http, SignalingProtocolTest.token("alice"));
        clients.add(alice);
        waitUntil("the room in the directory", () -> raw.zscore("sfu:fleet:room:" + SignalingProtocolTest.ROOM, "a")
                != null);
        waitUntil("alice's load registered", () -> {
            String e = raw.get("sfu:fleet:node:a");
            return e != null && e.contains("\"load\":1");
        });
        alice.close();
        waitUntil("the room out of the directory", () -> raw.zscore("sfu:fleet:room:" + SignalingProtocolTest.ROOM,
                "a") == null);

        b.close();
        nodes.remove(b);
        assertEquals(0, raw.exists("sfu:fleet:node:b"), "deregistered on close");
        waitUntil("a sees b gone", () -> gaugeIs(a, "sfu_fleet_nodes", 1) && gaugeIs(a, "sfu_cascade_peers_up", 0));
    }
}
