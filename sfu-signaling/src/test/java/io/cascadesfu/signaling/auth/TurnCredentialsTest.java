package io.cascadesfu.signaling.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class TurnCredentialsTest {
    static final Clock AT_1700000000 = Clock.fixed(Instant.ofEpochSecond(1_700_000_000L), ZoneOffset.UTC);

    @Test
    void credentialsFollowTheTurnRestSchemeThatCoturnChecks() {
        TurnCredentials turn = new TurnCredentials(List.of("turn:turn.example.com:3478?transport=udp",
                "turns:turn.example.com:443?transport=tcp"), "e2e-turn-secret-0123456789abcdef", Duration.ofHours(6),
                AT_1700000000);
        JsonNode servers = turn.iceServers("PA_abc");
        assertEquals(1, servers.size());
        JsonNode s = servers.get(0);
        assertEquals("turn:turn.example.com:3478?transport=udp", s.get("urls").get(0).asText());
        assertEquals("turns:turn.example.com:443?transport=tcp", s.get("urls").get(1).asText());
        // username: expiry (now + ttl, unix seconds) ':' user
        assertEquals("1700021600:PA_abc", s.get("username").asText());
        // credential: base64(HMAC-SHA1(secret, username)), here computed independently with Python's hmac module
        assertEquals("Q79NueFvQEZCTDfGdfp6C7Weusc=", s.get("credential").asText());
    }

    @Test
    void urlsAndSecretAreRequired() {
        assertThrows(IllegalArgumentException.class,
                () -> new TurnCredentials(List.of(), "secret", Duration.ofHours(1), AT_1700000000));
        assertThrows(IllegalArgumentException.class,
                () -> new TurnCredentials(List.of("turn:x"), "", Duration.ofHours(1), AT_1700000000));
    }
}
