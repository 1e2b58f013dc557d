package io.cascadesfu.signaling.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenServiceTest {
    static final String KID = "main";
    static final String SECRET = "a-secret-of-at-least-thirty-two-characters";
    static final Instant NOW = Instant.ofEpochSecond(1_900_000_000L);
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static final TokenService TOKENS = new TokenService(Map.of(KID, SECRET, "other", "another-secret-of-32-characters-or-more"),
            CLOCK);
    static final Algorithm KEY = Algorithm.HMAC256(SECRET);
    static final ObjectMapper JSON = new ObjectMapper();

    /** A valid token for alice in room r1 expiring in 5 minutes, changed by {@code edit} before signing. */
    static String signed(UnaryOperator<JWTCreator.Builder> edit) {
        JWTCreator.Builder b = JWT.create().withKeyId(KID).withSubject("alice").withClaim("room", "r1")
                .withExpiresAt(NOW.plusSeconds(300));
        return edit.apply(b).sign(KEY);
    }

    static TokenException refused(String token) {
        return assertThrows(TokenException.class, () -> TOKENS.verify(token));
    }

    static void assertRefused(String code, String token) {
        assertEquals(code, refused(token).code());
    }

    /** A token with any header and payload JSON, HS256-signed with {@code secret}. */
    static String rawToken(String headerJson, String payloadJson, String secret) throws Exception {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString(headerJson.getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payloadJson.getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return signingInput + "." + b64.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    }

    static String payload(Map<String, Object> claims) throws Exception {
        return JSON.writeValueAsString(claims);
    }

    static final String HEADER = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"" + KID + "\"}";

    // ------------------------------------------------------------------ round trip

    @Test
    void issuedTokenVerifiesWithItsClaims() throws TokenException {
        String token = TOKENS.issue(KID, "alice", "room-1", "Alice A.", new Grants(false, true), Duration.ofMinutes(10));

        AccessToken t = TOKENS.verify(token);
        assertEquals("alice", t.identity());
        assertEquals("room-1", t.room());
        assertEquals("Alice A.", t.name());
        assertEquals(new Grants(false, true), t.grants());
        assertEquals(NOW.plus(Duration.ofMinutes(10)), t.expiresAt());
        assertEquals(KID, JWT.decode(token).getKeyId());
        assertEquals("HS256", JWT.decode(token).getAlgorithm());
    }

    @Test
    void issuedTokenWithoutNameIsNamedAfterItsIdentity() throws TokenException {
        AccessToken t = TOKENS.verify(TOKENS.issue("other", "bob", "r", null, Grants.ALL, Duration.ofSeconds(60)));

        assertEquals("bob", t.name());
        assertEquals(Grants.ALL, t.grants());
    }

    @Test
    void issueWithUnknownKeyIdThrowsIllegalArgument() {
        assertThrows(IllegalArgumentException.class,
                () -> TOKENS.issue("nope", "alice", "r1", null, Grants.ALL, Duration.ofMinutes(1)));
    }

    @Test
    void eachKeyVerifiesItsOwnTokens() throws TokenException {
        String byOther = TOKENS.issue("other", "carol", "r1", null, Grants.ALL, Duration.ofMinutes(1));
        assertEquals("carol", TOKENS.verify(byOther).identity());

        TokenService onlyMain = new TokenService(Map.of(KID, SECRET), CLOCK);
        assertEquals("invalid_token", assertThrows(TokenException.class, () -> onlyMain.verify(byOther)).code());
    }

    // ------------------------------------------------------------------ rejections

    @Test
    void missingEmptyOrOverlongTokenIsInvalid() {
        assertRefused("invalid_token", null);
        assertRefused("invalid_token", "");
        String longToken = signed(b -> b.withClaim("pad", "x".repeat(TokenService.MAX_TOKEN_CHARS)));
        assertTrue(longToken.length() > TokenService.MAX_TOKEN_CHARS);
        assertRefused("invalid_token", longToken);
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage", "a.b.c", "..", "eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.e30", "{}.{}.{}"})
    void stringThatIsNotAJwtIsInvalid(String token) {
        assertRefused("invalid_token", token);
    }

    @Test
    void badSignatureIsInvalid() {
        String good = signed(b -> b);
        String other = JWT.create().withKeyId(KID).withSubject("alice").withClaim("room", "r1")
                .withExpiresAt(NOW.plusSeconds(300)).sign(Algorithm.HMAC256("wrong-secret-wrong-secret-wrong-secret"));
        assertEquals("bad signature", refused(other).getMessage());
        String tampered = good.substring(0, good.lastIndexOf('.') + 1) + "AAAA" + good.substring(good.lastIndexOf('.') + 5);
        assertRefused("invalid_token", tampered);
        assertRefused("invalid_token", good.substring(0, good.lastIndexOf('.') + 1));
    }

    @Test
    void unknownOrMissingKeyIdIsInvalid() {
        assertEquals("unknown key id", refused(signed(b -> b.withKeyId("stranger"))).getMessage());
        assertEquals("unknown key id", refused(JWT.create().withSubject("alice").withClaim("room", "r1")
                .withExpiresAt(NOW.plusSeconds(300)).sign(KEY)).getMessage());
    }

    @Test
    void otherAlgorithmsAreInvalid() throws Exception {
        assertRefused("invalid_token", JWT.create().withKeyId(KID).withSubject("alice").withClaim("room", "r1")
                .withExpiresAt(NOW.plusSeconds(300)).sign(Algorithm.HMAC512(SECRET)));
        assertRefused("invalid_token", JWT.create().withKeyId(KID).withSubject("alice").withClaim("room", "r1")
                .withExpiresAt(NOW.plusSeconds(300)).sign(Algorithm.none()));
        // alg:none with an HS256 signature appended is still refused.
        String p = payload(Map.of("sub", "alice", "room", "r1", "exp", NOW.getEpochSecond() + 300));
        assertRefused("invalid_token", rawToken("{\"alg\":\"none\",\"kid\":\"main\"}", p, SECRET));
    }

    @Test
    void tokenWithoutExpIsInvalid() {
        assertEquals("token has no exp", refused(signed(b -> b.withExpiresAt((Instant) null))).getMessage());
    }

    @Test
    void expiredTokenIsTokenExpired() {
        assertRefused("token_expired", signed(b -> b.withExpiresAt(NOW.minusSeconds(3600))));
    }

    @Test
    void notYetValidTokenIsTokenExpired() {
        TokenException e = refused(signed(b -> b.withNotBefore(NOW.plusSeconds(3600))));
        assertEquals("token_expired", e.code());
        assertEquals("token not valid yet", e.getMessage());
    }

    @Test
    void expiryAndNotBeforeAllowTenSecondsOfClockDifference() throws TokenException {
        assertEquals(10, TokenService.LEEWAY_SECONDS);
        assertNotNull(TOKENS.verify(signed(b -> b.withExpiresAt(NOW.minusSeconds(10)))));
        assertRefused("token_expired", signed(b -> b.withExpiresAt(NOW.minusSeconds(11))));
        assertNotNull(TOKENS.verify(signed(b -> b.withNotBefore(NOW.plusSeconds(10)))));
        assertRefused("token_expired", signed(b -> b.withNotBefore(NOW.plusSeconds(11))));
    }

    @Test
    void issuedTokenExpiresWithItsTtlPlusLeeway() throws TokenException {
        String token = TOKENS.issue(KID, "alice", "r1", null, Grants.ALL, Duration.ofSeconds(60));

        assertNotNull(new TokenService(Map.of(KID, SECRET), Clock.fixed(NOW.plusSeconds(70), ZoneOffset.UTC)).verify(token));
        TokenService later = new TokenService(Map.of(KID, SECRET), Clock.fixed(NOW.plusSeconds(71), ZoneOffset.UTC));
        assertEquals("token_expired", assertThrows(TokenException.class, () -> later.verify(token)).code());
    }

    @Test
    void missingBlankOrOverlongSubjectIsInvalid() {
        assertRefused("invalid_token", signed(b -> b.withSubject(null)));
        assertRefused("invalid_token", signed(b -> b.withSubject("   ")));
        assertRefused("invalid_token", signed(b -> b.withSubject("s".repeat(65))));
    }

    @Test
    void subjectOf64CharactersIsValid() throws TokenException {
        assertEquals("s".repeat(64), TOKENS.verify(signed(b -> b.withSubject("s".repeat(64)))).identity());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "has space", "slash/room", "ümlaut", "semi;colon"})
    void roomOutsideTheAllowedCharactersIsInvalid(String room) {
        assertRefused("invalid_token", signed(b -> b.withClaim("room", room)));
    }

    @Test
    void missingNonStringOrOverlongRoomIsInvalid() {
        assertRefused("invalid_token", JWT.create().withKeyId(KID).withSubject("alice")
                .withExpiresAt(NOW.plusSeconds(300)).sign(KEY));
        assertRefused("invalid_token", signed(b -> b.withClaim("room", 42)));
        assertRefused("invalid_token", signed(b -> b.withClaim("room", "r".repeat(65))));
    }

    @Test
    void roomNameAndIdentityRules() {
        assertTrue(TokenService.isValidRoomName("Az09_.-"));
        assertTrue(TokenService.isValidRoomName("r".repeat(64)));
        assertFalse(TokenService.isValidRoomName("r".repeat(65)));
        assertFalse(TokenService.isValidRoomName(""));
        assertFalse(TokenService.isValidRoomName(null));
        assertTrue(TokenService.isValidIdentity("ünïcode ok"));
        assertFalse(TokenService.isValidIdentity(" "));
        assertFalse(TokenService.isValidIdentity(null));
        assertFalse(TokenService.isValidIdentity("i".repeat(65)));
    }

    // ------------------------------------------------------------------ name and grants

    @Test
    void nameDefaultsToIdentityWhenMissingBlankOrTooLong() throws TokenException {
        assertEquals("alice", TOKENS.verify(signed(b -> b)).name());
        assertEquals("alice", TOKENS.verify(signed(b -> b.withClaim("name", " "))).name());
        assertEquals("alice", TOKENS.verify(signed(b -> b.withClaim("name", "n".repeat(65)))).name());
        assertEquals("alice", TOKENS.verify(signed(b -> b.withClaim("name", 7))).name());
        assertEquals("Alice", TOKENS.verify(signed(b -> b.withClaim("name", "Alice"))).name());
    }

    @Test
    void grantsDefaultToEverythingAndOnlyExplicitFalseTakesAGrantAway() throws TokenException {
        assertEquals(Grants.ALL, TOKENS.verify(signed(b -> b)).grants());
        assertEquals(Grants.ALL, TOKENS.verify(signed(b -> b.withClaim("grants", Map.of()))).grants());
        assertEquals(Grants.ALL, TOKENS.verify(signed(b -> b.withNullClaim("grants"))).grants());
        assertEquals(new Grants(false, true),
                TOKENS.verify(signed(b -> b.withClaim("grants", Map.of("publish", false)))).grants());
        assertEquals(new Grants(true, false),
                TOKENS.verify(signed(b -> b.withClaim("grants", Map.of("subscribe", false)))).grants());
        assertEquals(new Grants(false, false), TOKENS.verify(signed(b -> b.withClaim("grants",
                Map.of("publish", false, "subscribe", false)))).grants());
        assertEquals(Grants.ALL, TOKENS.verify(signed(b -> b.withClaim("grants",
                Map.of("publish", true, "subscribe", true, "admin", true)))).grants());
    }

    @Test
    void grantsThatAreNotAnObjectAreInvalid() {
        assertRefused("invalid_token", signed(b -> b.withClaim("grants", "all")));
        assertRefused("invalid_token", signed(b -> b.withClaim("grants", true)));
        assertRefused("invalid_token", signed(b -> b.withClaim("grants", List.of("publish"))));
    }

    @Test
    void expOutsideTheRangeOfInstantIsInvalidNotACrash() throws Exception {
        String token = rawToken(HEADER, "{\"sub\":\"alice\",\"room\":\"r1\",\"exp\":9000000000000000000}", SECRET);
        assertRefused("invalid_token", token);
    }

    // ------------------------------------------------------------------ properties

    @Property(tries = 2000)
    void verifyOfAnyStringThrowsOnlyTokenException(@ForAll("tokenLikeStrings") String token) {
        try {
            TOKENS.verify(token);
        } catch (TokenException e) {
            assertTrue(e.code().equals("invalid_token") || e.code().equals("token_expired"), e.code());
        }
    }

    @Provide
    Arbitrary<String> tokenLikeStrings() {
        Arbitrary<String> segment = Arbitraries.strings().withChars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.")
                .ofMaxLength(60);
        Arbitrary<String> jsonSegment = Arbitraries.strings().ofMaxLength(60)
                .map(s -> Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8)));
        Arbitrary<String> threeParts = Arbitraries.of(segment, jsonSegment).flatMap(a -> a).list().ofSize(3)
                .map(parts -> String.join(".", parts));
        return Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(200), segment, threeParts);
    }

    /**
     * Correctly signed tokens whose claims have any JSON type reach the claim checks: those must refuse with a
     * TokenException too, never crash.
     */
    @Property(tries = 1000)
    void verifyOfSignedTokensWithArbitraryClaimValuesThrowsOnlyTokenException(
            @ForAll("claimValues") Object sub, @ForAll("claimValues") Object room, @ForAll("claimValues") Object exp,
            @ForAll("claimValues") Object nbf, @ForAll("claimValues") Object name, @ForAll("claimValues") Object grants)
            throws Exception {
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("sub", sub);
        claims.put("room", room);
        claims.put("exp", exp);
        claims.put("nbf", nbf);
        claims.put("name", name);
        claims.put("grants", grants);
        String token = rawToken(HEADER, payload(claims), SECRET);
        try {
            AccessToken t = TOKENS.verify(token);
            assertTrue(TokenService.isValidIdentity(t.identity()));
            assertTrue(TokenService.isValidRoomName(t.room()));
        } catch (TokenException e) {
            assertTrue(e.code().equals("invalid_token") || e.code().equals("token_expired"), e.code());
        }
    }

    @Provide
    Arbitrary<Object> claimValues() {
        long now = NOW.getEpochSecond();
        return Arbitraries.oneOf(
                Arbitraries.just(null),
                Arbitraries.strings().ofMaxLength(70),
                Arbitraries.of("alice", "r1", "room.name-1"),
                // Epoch seconds Instant can represent (|s| <= 31556889864403199): exp/nbf near and far from now.
                Arbitraries.longs().between(-31_556_889_864_403_199L, 31_556_889_864_403_199L),
                Arbitraries.longs().between(now - 100, now + 100),
                // Values beyond Instant's range hit the bug shown by expOutsideTheRangeOfInstantIsInvalidNotACrash.
                Arbitraries.doubles().between(-3.1e16, 3.1e16),
                Arbitraries.of(1e300, -1e300, Double.MAX_VALUE, 0.5),
                Arbitraries.of(true, false),
                Arbitraries.of(List.of(), List.of(1, "a"), Map.of("publish", false), Map.of("publish", "no"),
                        Map.of("subscribe", List.of())));
    }
}
