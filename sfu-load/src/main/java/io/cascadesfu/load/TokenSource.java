package io.cascadesfu.load;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Join tokens for simulated participants: from a node's development endpoint {@code GET /token}, or minted
 * here with an HS256 key the nodes also hold (as an application backend would; docs/PROTOCOL.md#tokens).
 */
interface TokenSource {

    CompletableFuture<String> token(URI node, String room, String identity);

    static TokenSource devEndpoint(HttpClient http, ObjectMapper json, Duration timeout) {
        return (node, room, identity) -> {
            URI uri = URI.create(node + "/token?room=" + URLEncoder.encode(room, StandardCharsets.UTF_8)
                    + "&identity=" + URLEncoder.encode(identity, StandardCharsets.UTF_8));
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
            return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
                if (response.statusCode() != 200) {
                    throw new IllegalStateException("GET /token answered " + response.statusCode()
                            + (response.statusCode() == 404 ? " (the node is not in development mode: use --token-key)"
                            : ""));
                }
                try {
                    JsonNode body = json.readTree(response.body());
                    String token = body.path("token").asText("");
                    if (token.isEmpty()) {
                        throw new IllegalStateException("GET /token returned no token");
                    }
                    return token;
                } catch (java.io.IOException e) {
                    throw new IllegalStateException("GET /token returned bad JSON", e);
                }
            });
        };
    }

    static TokenSource hs256(String keyId, String secret) {
        Algorithm algorithm = Algorithm.HMAC256(secret);
        return (node, room, identity) -> {
            Instant now = Instant.now();
            String token = JWT.create()
                    .withKeyId(keyId)
                    .withSubject(identity)
                    .withClaim("room", room)
                    .withClaim("name", identity)
                    .withClaim("grants", Map.of("publish", true, "subscribe", true))
                    .withIssuedAt(now)
                    .withExpiresAt(now.plus(Duration.ofHours(6)))
                    .sign(algorithm);
            return CompletableFuture.completedFuture(token);
        };
    }
}
