package io.cascadesfu.signaling.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTDecodeException;
import com.auth0.jwt.interfaces.Claim;
import com.auth0.jwt.interfaces.DecodedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Verifies HS256 join tokens (see docs/PROTOCOL.md, "Tokens") and, in development mode, mints
 * them for the demo page. Keys are {@code kid -> secret}; the token header's {@code kid} picks one.
 * Thread-safe and stateless.
 */
public final class TokenService {
    static final Pattern ROOM_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    static final int MAX_TOKEN_CHARS = 8192;
    /** Tolerated clock difference between the token issuer and this node. */
    static final long LEEWAY_SECONDS = 10;

    private final Map<String, byte[]> keys;
    private final Clock clock;

    public TokenService(Map<String, String> keys, Clock clock) {
        this.keys = keys.entrySet().stream().collect(java.util.stream.Collectors.toUnmodifiableMap(
                Map.Entry::getKey, e -> e.getValue().getBytes(StandardCharsets.UTF_8)));
        this.clock = clock;
    }

    public static boolean isValidRoomName(String room) {
        return room != null && ROOM_NAME.matcher(room).matches();
    }

    public static boolean isValidIdentity(String identity) {
        return identity != null && !identity.isBlank() && identity.length() <= 64;
    }

    /** Checks signature, key id, expiry and claims. */
    public AccessToken verify(String token) throws TokenException {
        try {
            return verifyChecked(token);
        } catch (RuntimeException e) {
            // java-jwt can throw more than JWTDecodeException on hostile input (e.g. an exp beyond
            // Instant's range): whatever it is, the token is refused, never the node hurt.
            throw new TokenException("invalid_token", "token cannot be read");
        }
    }

    private AccessToken verifyChecked(String token) throws TokenException {
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
            throw new TokenException("invalid_token", "token missing or too long");
        }
        DecodedJWT jwt;
        try {
            jwt = JWT.decode(token);
        } catch (JWTDecodeException e) {
            throw new TokenException("invalid_token", "token is not a JWT");
        }
        if (!"HS256".equals(jwt.getAlgorithm())) {
            throw new TokenException("invalid_token", "token must be signed with HS256");
        }
        byte[] secret = jwt.getKeyId() == null ? null : keys.get(jwt.getKeyId());
        if (secret == null) {
            throw new TokenException("invalid_token", "unknown key id");
        }
        try {
            Algorithm.HMAC256(secret).verify(jwt);
        } catch (com.auth0.jwt.exceptions.SignatureVerificationException e) {
            throw new TokenException("invalid_token", "bad signature");
        }
        long now = clock.instant().getEpochSecond();
        if (jwt.getExpiresAtAsInstant() == null) {
            throw new TokenException("invalid_token", "token has no exp");
        }
        if (jwt.getExpiresAtAsInstant().getEpochSecond() + LEEWAY_SECONDS < now) {
            throw new TokenException("token_expired", "token expired");
        }
        if (jwt.getNotBeforeAsInstant() != null && jwt.getNotBeforeAsInstant().getEpochSecond() - LEEWAY_SECONDS > now) {
            throw new TokenException("token_expired", "token not valid yet");
        }
        String identity = jwt.getSubject();
        if (!isValidIdentity(identity)) {
            throw new TokenException("invalid_token", "sub must be 1..64 characters");
        }
        String room = stringClaim(jwt, "room");
        if (!isValidRoomName(room)) {
            throw new TokenException("invalid_token", "room must be 1..64 of [A-Za-z0-9_.-]");
        }
        String name = stringClaim(jwt, "name");
        if (name == null || name.isBlank() || name.length() > 64) {
            name = identity;
        }
        Grants grants = Grants.ALL;
        Claim g = jwt.getClaim("grants");
        if (!g.isMissing() && !g.isNull()) {
            Map<String, Object> map;
            try {
                map = g.asMap();
            } catch (JWTDecodeException e) {
                map = null;
            }
            if (map == null) {
                throw new TokenException("invalid_token", "grants must be an object");
            }
            grants = new Grants(grant(map, "publish"), grant(map, "subscribe"));
        }
        return new AccessToken(identity, room, name, grants, jwt.getExpiresAtAsInstant());
    }

    /** A grant is true unless the claim says false; anything but a boolean is an error. */
    private static boolean grant(Map<String, Object> grants, String name) throws TokenException {
        Object v = grants.get(name);
        if (v == null) {
            return true;
        }
        if (!(v instanceof Boolean b)) {
            throw new TokenException("invalid_token", "grants." + name + " must be true or false");
        }
        return b;
    }

    private static String stringClaim(DecodedJWT jwt, String name) {
        Claim c = jwt.getClaim(name);
        return c.isMissing() || c.isNull() ? null : c.asString();
    }

    /** Mints a token (development mode and tests). */
    public String issue(String keyId, String identity, String room, String name, Grants grants, Duration ttl) {
        byte[] secret = keys.get(keyId);
        if (secret == null) {
            throw new IllegalArgumentException("unknown key id " + keyId);
        }
        Instant now = clock.instant();
        return JWT.create()
                .withKeyId(keyId)
                .withSubject(identity)
                .withClaim("room", room)
                .withClaim("name", name == null ? identity : name)
                .withClaim("grants", Map.of("publish", grants.publish(), "subscribe", grants.subscribe()))
                .withIssuedAt(now)
                .withExpiresAt(now.plus(ttl))
                .sign(Algorithm.HMAC256(secret));
    }
}
