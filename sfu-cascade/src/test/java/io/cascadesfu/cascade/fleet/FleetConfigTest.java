package io.cascadesfu.cascade.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class FleetConfigTest {
    @Test
    void redisUrlsAreCheckedAndPasswordsNeverEchoed() {
        for (String good : List.of("redis://127.0.0.1:6379", "redis://h", "rediss://user:pw@h:6380/2",
                "redis://:pw@h")) {
            assertNull(FleetConfig.checkRedisUrl(good), good);
        }
        for (String bad : List.of("", " ", "127.0.0.1:6379", "http://h:6379", "redis://", "redis://:secret@:99999")) {
            String error = FleetConfig.checkRedisUrl(bad);
            assertTrue(error != null && !error.contains("secret"), bad + " -> " + error);
        }
        assertEquals("rediss://user:***@h:6380/2", FleetConfig.redacted("rediss://user:pw@h:6380/2"));
        assertEquals("redis://:***@h", FleetConfig.redacted("redis://pw@h"));
        assertEquals("redis://h:1", FleetConfig.redacted("redis://h:1"));
    }

    @Test
    void timingAndAddressAreChecked() {
        FleetConfig c = FleetConfig.of("redis://h", "a", "", "10.0.0.1", 7890, "");
        assertEquals(Duration.ofSeconds(10), c.ttl());
        assertThrows(IllegalArgumentException.class, () -> c.withTiming(Duration.ofSeconds(2), Duration.ofSeconds(1),
                Duration.ofMillis(100)), "a TTL under three heartbeats");
        assertThrows(IllegalArgumentException.class, () -> c.withTiming(Duration.ofSeconds(3), Duration.ofSeconds(1),
                Duration.ofSeconds(1)), "a command timeout not below the heartbeat");
        assertThrows(IllegalArgumentException.class, () -> FleetConfig.of("redis://h", "a b", "", "h", 1, ""));
        assertThrows(IllegalArgumentException.class, () -> FleetConfig.of("redis://h", "a", "", "", 1, ""));
        assertThrows(IllegalArgumentException.class, () -> FleetConfig.of("redis://h", "a", "", "h", 0, ""));
        assertThrows(IllegalArgumentException.class, () -> FleetConfig.of("redis://h", "a", "", "h", 1, "ftp://x"));
        assertThrows(IllegalArgumentException.class, () -> FleetConfig.of("h:6379", "a", "", "h", 1, ""));
    }
}
