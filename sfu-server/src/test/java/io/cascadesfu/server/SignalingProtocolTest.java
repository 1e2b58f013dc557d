package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import io.cascadesfu.signaling.auth.Grants;
import io.cascadesfu.signaling.auth.TokenService;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The signaling contract of docs/PROTOCOL.md against a real node: an in-process {@link SfuNode} on loopback
 * (ephemeral HTTP and media ports), real JDK WebSocket clients, real HTTP requests, a real Chromium offer.
 */
@Timeout(60)
class SignalingProtocolTest {
    static final String KID = "test-kid";
    static final String SECRET = "a-test-secret-that-is-longer-than-32-chars";
    static final String ROOM = "room-1";
    static final Duration QUIET = Duration.ofMillis(300);
    static final TokenService TOKENS = new TokenService(Map.of(KID, SECRET), Clock.systemUTC());
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(WsClient.TIMEOUT).build();

    private SfuNode node;
    private final List<WsClient> clients = new ArrayList<>();

    /** The node each test starts: {@link #devConfig()} here; subclasses change it. */
    SfuConfig testConfig() {
        return devConfig();
    }

    /** A development-mode node on loopback with ephemeral ports and a known JWT key. */
    static SfuConfig devConfig() {
        SfuConfig c = new SfuConfig();
        c.dev = true;
        c.http.port = 0;
        c.media.port = 0;
        c.media.warmupPackets = 0; // a node per test: start at once
        c.auth.keys.put(KID, SECRET);
        c.auth.devKeyId = KID;
        return c;
    }

    @BeforeEach
    void startNode() {
        node = new SfuNode(testConfig());
    }

    @AfterEach
    void stopNode() {
        for (WsClient c : clients) {
            c.close();
        }
        if (node != null) {
            node.close();
        }
    }

    private void restartNode(SfuConfig config) {
        node.close();
        node = null;
        node = new SfuNode(config);
    }

    // ------------------------------------------------------------------ helpers

    static String token(String identity) {
        return token(identity, Grants.ALL);
    }

    static String token(String identity, Grants grants) {
        return TOKENS.issue(KID, identity, ROOM, identity + " name", grants, Duration.ofMinutes(5));
    }

    private WsClient connect() throws Exception {
        WsClient c = WsClient.connect(node.httpAddress());
        clients.add(c);
        return c;
    }

    /** Connects, joins {@link #ROOM} as {@code identity} and returns the client with its {@code joined} message. */
    private Joined joinAs(String identity) throws Exception {
        return joinWith(token(identity));
    }

    private Joined joinWith(String token) throws Exception {
        WsClient c = connect();
        c.send("type", "join", "token", token, "protocol", 1);
        return new Joined(c, c.next("joined"));
    }

    record Joined(WsClient ws, JsonNode joined) {
        String id() {
            return joined.get("participantId").asText();
        }
    }

    static String fixture(String name) {
        try (InputStream in = SignalingProtocolTest.class.getResourceAsStream("/sdp/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /sdp/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final String SENDONLY_OFFER = fixture("chromium-156-offer-sendonly.sdp");
    static final String RECVONLY_OFFER = fixture("chromium-156-offer-recvonly.sdp");

    /** What a browser would answer to a subscribe offer: it receives, and is the DTLS client. */
    static String browserAnswerTo(String subscribeOffer) {
        return subscribeOffer.replace("a=ice-lite\r\n", "")
                .replace("a=setup:actpass", "a=setup:active")
                .replace("a=setup:passive", "a=setup:active")
                .replace("a=sendonly", "a=recvonly");
    }

    private HttpResponse<String> get(String path) throws Exception {
        return get(node.httpAddress(), path);
    }

    static HttpResponse<String> get(InetSocketAddress http, String path) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + http.getHostString() + ":" + http.getPort() + path))
                .timeout(WsClient.TIMEOUT).GET().build();
        return HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    }

    /** The value of an untagged gauge in the node's {@code /metrics}. */
    private double gauge(String name) throws Exception {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? (\\S+)$").matcher(get("/metrics").body());
        if (!m.find()) {
            fail(name + " missing from /metrics");
        }
        return Double.parseDouble(m.group(1));
    }

    /** Waits (bounded) until {@code /metrics} shows {@code name} at {@code expected}. */
    private void awaitGauge(String name, double expected) throws Exception {
        long deadlineNs = System.nanoTime() + WsClient.TIMEOUT.toNanos();
        double last;
        while ((last = gauge(name)) != expected) {
            if (System.nanoTime() > deadlineNs) {
                fail(name + " is " + last + ", expected " + expected);
            }
            Thread.sleep(20);
        }
    }

    private void assertNodeHealthy() throws Exception {
        assertEquals(200, get("/health").statusCode());
    }

    private static Set<String> texts(JsonNode array, String field) {
        Set<String> s = new HashSet<>();
        array.forEach(n -> s.add(n.path(field).asText()));
        return s;
    }

    // ------------------------------------------------------------------ join

    @Test
    void joinRepliesJoinedWithProtocolParticipantIdRoomIdentityGrantsAndNoParticipants() throws Exception {
        JsonNode joined = joinAs("alice").joined();

        assertEquals(1, joined.get("protocol").asInt());
        assertEquals(ROOM, joined.get("room").asText());
        assertEquals("alice", joined.get("identity").asText());
        assertTrue(joined.get("participantId").isTextual());
        assertFalse(joined.get("participantId").asText().isEmpty());
        assertEquals(true, joined.at("/grants/publish").asBoolean());
        assertEquals(true, joined.at("/grants/subscribe").asBoolean());
        assertTrue(joined.get("participants").isArray());
        assertEquals(0, joined.get("participants").size());
    }

    @Test
    void secondJoinNotifiesFirstWithParticipantJoinedAndListsFirstInJoined() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");

        JsonNode event = alice.ws().next("participant_joined");
        assertEquals(bob.id(), event.at("/participant/participantId").asText());
        assertEquals("bob", event.at("/participant/identity").asText());
        assertEquals("bob name", event.at("/participant/name").asText());
        assertEquals(0, event.at("/participant/tracks").size());

        JsonNode others = bob.joined().get("participants");
        assertEquals(1, others.size());
        assertEquals(alice.id(), others.get(0).get("participantId").asText());
        assertEquals("alice", others.get(0).get("identity").asText());
        assertEquals("alice name", others.get(0).get("name").asText());
        assertTrue(others.get(0).get("tracks").isArray());
        assertNotEquals(alice.id(), bob.id());
    }

    @Test
    void grantsOfTheTokenAreReportedInJoined() throws Exception {
        JsonNode joined = joinWith(token("viewer", new Grants(false, true))).joined();

        assertEquals(false, joined.at("/grants/publish").asBoolean());
        assertEquals(true, joined.at("/grants/subscribe").asBoolean());
    }

    @Test
    void joinedEchoesTheJoinRequestsId() throws Exception {
        WsClient c = connect();
        c.send("type", "join", "token", token("alice"), "protocol", 1, "id", "j-1");

        assertEquals("j-1", c.next("joined").path("id").asText());
    }

    // ------------------------------------------------------------------ malformed frames

    @Test
    void badJsonGetsBadJsonAndTheSocketStaysOpen() throws Exception {
        WsClient c = connect();
        c.sendRaw("{not json");

        JsonNode error = c.nextError("bad_json");
        assertTrue(error.get("message").isTextual());
        c.stillOpenBeforeJoin();
        assertFalse(c.isClosed());
    }

    @Test
    void badJsonAfterJoinKeepsTheParticipantInTheRoom() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().sendRaw("][");
        alice.ws().nextError("bad_json");
        alice.ws().pingPong();

        Joined bob = joinAs("bob");
        assertEquals(1, bob.joined().get("participants").size());
    }

    @Test
    void jsonArrayMissingTypeAndNonStringTypeAreBadJson() throws Exception {
        WsClient c = connect();
        for (String frame : List.of("[{\"type\":\"ping\"}]", "{\"id\":\"x\"}", "{\"type\":1}", "{\"type\":null}",
                "\"ping\"", "null", "")) {
            c.sendRaw(frame);
            c.nextError("bad_json");
        }
        c.stillOpenBeforeJoin();
    }

    @Test
    void unknownTypeGetsUnknownTypeEchoingIdAndTheSocketStaysOpen() throws Exception {
        WsClient c = connect();
        c.send("type", "dance", "id", "req-7");

        JsonNode error = c.nextError("unknown_type");
        assertEquals("req-7", error.get("id").asText());
        c.stillOpenBeforeJoin();
    }

    @Test
    void unknownFieldsAreIgnored() throws Exception {
        WsClient c = joinAs("alice").ws();
        c.send("type", "ping", "id", "p", "extra", Map.of("nested", List.of(1, 2)));

        assertEquals("p", c.next("pong").get("id").asText());
    }

    @Test
    void requestsBeforeJoinGetNotJoinedEchoingIdAndTheSocketStaysOpen() throws Exception {
        WsClient c = connect();
        for (String type : List.of("publish_offer", "subscribe_answer", "mute", "leave")) {
            c.send("type", type, "id", "before-" + type, "sdp", SENDONLY_OFFER, "trackId", "TR_x", "muted", true,
                    "version", 1);
            JsonNode error = c.nextError("not_joined");
            assertEquals("before-" + type, error.get("id").asText());
        }
        c.stillOpenBeforeJoin();
    }

    @Test
    void aSocketThatNeverJoinsIsClosedWithJoinTimeoutHoweverOftenItPings() throws Exception {
        SfuConfig config = testConfig();
        config.http.joinTimeoutSeconds = 1;
        restartNode(config);
        long start = System.nanoTime();
        WsClient c = connect();
        for (int i = 0; i < 3; i++) {
            c.stillOpenBeforeJoin(); // no pong before join: pings do not keep it alive
            Thread.sleep(200);
        }
        c.nextError("join_timeout");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!c.isClosed() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(c.isClosed(), "the node closed the socket");
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(900), "not before the deadline");
        Joined alice = joinAs("alice"); // a socket that joins in time is not affected
        Thread.sleep(1500);
        alice.ws().pingPong();
    }

    @Test
    void connectionsOverThePerAddressCapAreClosedAndJoinedParticipantsCarryOn() throws Exception {
        SfuConfig config = testConfig();
        config.http.maxConnectionsPerAddress = 3;
        restartNode(config);
        Joined alice = joinAs("alice");
        WsClient second = connect();
        WsClient third = connect();
        assertThrows(Exception.class, () -> WsClient.connect(node.httpAddress()), "a fourth from 127.0.0.1");
        alice.ws().pingPong();
        second.stillOpenBeforeJoin();
        second.close();
        third.close();
        // Two slots free again once they closed (the node notices the close a moment later).
        long until = System.nanoTime() + WsClient.TIMEOUT.toNanos();
        Pattern refused = Pattern.compile(
                "(?m)^sfu_signaling_connections_refused_total\\{[^}]*reason=\"address_limit\"[^}]*\\} [1-9][0-9]*\\.0$");
        String metrics = null;
        while (metrics == null) {
            try {
                metrics = get("/metrics").body();
            } catch (Exception e) {
                assertTrue(System.nanoTime() < until, "a slot is free again once connections close");
                Thread.sleep(50);
            }
        }
        assertTrue(refused.matcher(metrics).find(), "the refusal is counted by reason: " + metrics.lines()
                .filter(l -> l.contains("connections")).toList());
        WsClient again = null;
        while (again == null) {
            try {
                again = WsClient.connect(node.httpAddress());
            } catch (Exception e) {
                assertTrue(System.nanoTime() < until, "a new signaling socket is accepted once one closed");
                Thread.sleep(50);
            }
        }
        clients.add(again);
        again.stillOpenBeforeJoin();
    }

    @Test
    void publishOfferBeyondTheTrackLimitsGetsTooManyTracksAndNothingIsPublished() throws Exception {
        SfuConfig config = testConfig();
        config.rooms.maxTracksPerParticipant = 1;
        restartNode(config);
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");
        alice.ws().send("type", "publish_offer", "id", "p1", "sdp", SENDONLY_OFFER); // audio + video
        JsonNode error = alice.ws().nextError("too_many_tracks");
        assertEquals("p1", error.get("id").asText());
        bob.ws().expectNo("track_published", QUIET);
        alice.ws().pingPong();

        config = testConfig();
        config.rooms.maxTracksPerRoom = 3;
        restartNode(config);
        Joined carol = joinAs("carol");
        Joined dave = joinAs("dave");
        carol.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        carol.ws().next("publish_answer");
        dave.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        assertTrue(dave.ws().nextError("too_many_tracks").get("message").asText().contains("at most 3"));
        carol.ws().expectNo("track_published", QUIET);
    }

    @Test
    void secondJoinOnTheSameSocketGetsAlreadyJoinedAndTheSocketStaysOpen() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "join", "token", token("alice2"), "protocol", 1, "id", "again");

        JsonNode error = alice.ws().nextError("already_joined");
        assertEquals("again", error.get("id").asText());
        alice.ws().pingPong();
        Joined bob = joinAs("bob");
        assertEquals(Set.of("alice"), texts(bob.joined().get("participants"), "identity"));
    }

    /** A ping frame padded to exactly {@code bytes} bytes of JSON. */
    static String paddedPing(int bytes) {
        String prefix = "{\"type\":\"ping\",\"id\":\"big\",\"padding\":\"";
        String frame = prefix + "x".repeat(bytes - prefix.length() - 2) + "\"}";
        assertEquals(bytes, frame.length());
        return frame;
    }

    @Test
    void singleFrameOver256KiBClosesTheSocketWithMessageTooBigAndTheParticipantLeaves() throws Exception {
        Joined alice = joinAs("alice");
        try (WsClient.RawWebSocket bob = new WsClient.RawWebSocket(node.httpAddress())) {
            bob.sendText(WsClient.object("type", "join", "token", token("bob"), "protocol", 1).toString());
            JsonNode joined = bob.nextJson();
            alice.ws().next("participant_joined");

            bob.sendRefusedText(paddedPing(256 * 1024 + 1));

            int status = bob.awaitClosed();
            assertTrue(status == 1009 || status == 1008 || status == -1, "close status " + status);
            assertEquals(joined.get("participantId").asText(),
                    alice.ws().next("participant_left").get("participantId").asText());
        }
        alice.ws().pingPong();
        assertNodeHealthy();
    }

    @Test
    void singleFrameOver256KiBGetsMessageTooLargeAndTheSocketCloses() throws Exception {
        Joined alice = joinAs("alice");
        try (WsClient.RawWebSocket bob = new WsClient.RawWebSocket(node.httpAddress())) {
            bob.sendText(WsClient.object("type", "join", "token", token("bob"), "protocol", 1).toString());
            JsonNode joined = bob.nextJson();
            assertEquals("joined", joined.get("type").asText());
            alice.ws().next("participant_joined");

            bob.sendRefusedText(paddedPing(256 * 1024 + 1));

            JsonNode error = bob.nextJson();
            assertEquals("error", error.get("type").asText());
            assertEquals("message_too_large", error.get("code").asText());
            bob.awaitClosed();
            assertEquals(joined.get("participantId").asText(),
                    alice.ws().next("participant_left").get("participantId").asText());
        }
    }

    @Test
    void singleFrameOfExactly256KiBIsAccepted() throws Exception {
        try (WsClient.RawWebSocket raw = new WsClient.RawWebSocket(node.httpAddress())) {
            raw.sendText(paddedPing(256 * 1024));

            JsonNode reply = raw.nextJson(); // read and parsed whole: the reply to a ping before join
            assertEquals("not_joined", reply.get("code").asText());
            assertEquals("big", reply.get("id").asText());
        }
    }

    @Test
    void messageOver256KiBFromAFragmentingClientGetsMessageTooLargeAndTheSocketCloses() throws Exception {
        WsClient c = connect(); // the JDK client sends long messages as several frames
        c.sendRefused(paddedPing(300 * 1024));

        c.nextError("message_too_large");
        c.awaitClosed();
    }

    @Test
    void fragmentedMessageUnder256KiBIsAccepted() throws Exception {
        try (WsClient.RawWebSocket raw = new WsClient.RawWebSocket(node.httpAddress())) {
            raw.sendFrame(WsClient.RawWebSocket.TEXT, false, "{\"type\":\"pi".getBytes(StandardCharsets.UTF_8));
            raw.sendFrame(WsClient.RawWebSocket.CONTINUATION, true, "ng\",\"id\":\"f\"}".getBytes(StandardCharsets.UTF_8));

            JsonNode reply = raw.nextJson();
            assertEquals("not_joined", reply.get("code").asText());
            assertEquals("f", reply.get("id").asText());
        }
        WsClient c = connect();
        c.sendRaw(paddedPing(64 * 1024));
        assertEquals("big", c.nextError("not_joined").get("id").asText());
    }

    @Test
    void protocolTwoGetsUnsupportedProtocolAndTheSocketCloses() throws Exception {
        WsClient c = connect();
        c.send("type", "join", "token", token("alice"), "protocol", 2);

        c.nextError("unsupported_protocol");
        c.awaitClosed();
        assertEquals(0.0, gauge("sfu_participants"));
    }

    @Test
    void joinWithoutProtocolGetsUnsupportedProtocol() throws Exception {
        WsClient c = connect();
        c.send("type", "join", "token", token("alice"));

        c.nextError("unsupported_protocol");
        c.awaitClosed();
    }

    // ------------------------------------------------------------------ tokens

    static Stream<Arguments> refusedTokens() {
        Instant now = Instant.now();
        Algorithm key = Algorithm.HMAC256(SECRET);
        TokenService past = new TokenService(Map.of(KID, SECRET), Clock.fixed(now.minusSeconds(3600), ZoneOffset.UTC));
        Function<String, String> otherKey = kid -> JWT.create().withKeyId(kid).withSubject("mallory")
                .withClaim("room", ROOM).withExpiresAt(now.plusSeconds(300))
                .sign(Algorithm.HMAC256("another-secret-that-is-also-32-chars-long"));
        return Stream.of(
                Arguments.of("bad signature", otherKey.apply(KID), "invalid_token"),
                Arguments.of("unknown kid", otherKey.apply("nobody"), "invalid_token"),
                Arguments.of("no kid", JWT.create().withSubject("mallory").withClaim("room", ROOM)
                        .withExpiresAt(now.plusSeconds(300)).sign(key), "invalid_token"),
                Arguments.of("expired", past.issue(KID, "mallory", ROOM, null, Grants.ALL, Duration.ofMinutes(1)),
                        "token_expired"),
                Arguments.of("not yet valid", JWT.create().withKeyId(KID).withSubject("mallory").withClaim("room", ROOM)
                        .withNotBefore(now.plusSeconds(3600)).withExpiresAt(now.plusSeconds(7200)).sign(key),
                        "token_expired"),
                Arguments.of("missing room", JWT.create().withKeyId(KID).withSubject("mallory")
                        .withExpiresAt(now.plusSeconds(300)).sign(key), "invalid_token"),
                Arguments.of("missing exp", JWT.create().withKeyId(KID).withSubject("mallory").withClaim("room", ROOM)
                        .sign(key), "invalid_token"),
                Arguments.of("garbage", "this is not a token", "invalid_token"),
                Arguments.of("empty", "", "invalid_token"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedTokens")
    void refusedTokenGetsItsErrorCodeAndClosesWhileNodeAndOthersAreUnaffected(String what, String token, String code)
            throws Exception {
        Joined alice = joinAs("alice");
        WsClient c = connect();
        c.send("type", "join", "token", token, "protocol", 1);

        JsonNode error = c.nextError(code);
        assertTrue(error.get("message").isTextual());
        c.awaitClosed();

        assertNodeHealthy();
        alice.ws().pingPong();
        alice.ws().expectNo("participant_joined", QUIET);
        assertEquals(1.0, gauge("sfu_participants"));
        Joined bob = joinAs("bob");
        assertEquals(Set.of("alice"), texts(bob.joined().get("participants"), "identity"));
    }

    @Test
    void joinWithoutTokenFieldGetsInvalidToken() throws Exception {
        WsClient c = connect();
        c.send("type", "join", "protocol", 1, "token", 42);

        c.nextError("invalid_token");
        c.awaitClosed();
    }

    @Test
    void refusedJoinErrorEchoesTheJoinRequestsId() throws Exception {
        WsClient c = connect();
        c.send("type", "join", "token", "garbage", "protocol", 1, "id", "j-9");

        assertEquals("j-9", c.nextError("invalid_token").path("id").asText());
    }

    // ------------------------------------------------------------------ publish

    @Test
    void publishOfferWithoutPublishGrantIsForbiddenEchoingIdAndSocketStaysOpen() throws Exception {
        Joined viewer = joinWith(token("viewer", new Grants(false, true)));
        viewer.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER, "id", "pub-1");

        JsonNode error = viewer.ws().nextError("forbidden");
        assertEquals("pub-1", error.get("id").asText());
        viewer.ws().pingPong();
    }

    @Test
    void publishOfferWithChromiumOfferIsAnsweredIceLitePassiveWithNodeCandidateAndRecvonlyTracks() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER, "id", "pub-1");

        JsonNode answer = alice.ws().next("publish_answer");
        assertEquals("pub-1", answer.get("id").asText());
        String sdp = answer.get("sdp").asText();
        List<String> lines = List.of(sdp.split("\r\n"));
        assertTrue(lines.contains("a=ice-lite"), sdp);
        assertTrue(lines.contains("a=setup:passive"), sdp);
        assertNotEquals(0, node.mediaAddress().getPort());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("a=candidate:") && l.contains(" udp ")
                && node.engine().localAddresses().stream().anyMatch(a -> l.contains(" 127.0.0.1 " + a.getPort()
                + " typ host"))), "a host candidate on one of the node's worker ports: " + sdp);
        assertEquals(2, lines.stream().filter(l -> l.equals("a=recvonly")).count(), sdp);
        assertFalse(lines.contains("a=sendonly") || lines.contains("a=sendrecv"), sdp);

        JsonNode tracks = answer.get("tracks");
        assertEquals(Set.of("audio", "video"), texts(tracks, "kind"));
        assertEquals(Set.of("0", "1"), texts(tracks, "mid"));
        Set<String> trackIds = texts(tracks, "trackId");
        assertEquals(2, trackIds.size());
        assertFalse(trackIds.contains(""));
        for (JsonNode t : tracks) {
            assertFalse(t.get("muted").asBoolean());
            assertEquals(t.get("kind").asText().equals("audio") ? "opus" : "VP8", t.get("codec").asText());
        }
    }

    @Test
    void othersGetTrackPublishedThenSubscribeOfferVersionOneWithMidsForEveryTrack() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");
        alice.ws().next("participant_joined");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        JsonNode published = alice.ws().next("publish_answer").get("tracks");

        Set<String> announced = new HashSet<>();
        for (int i = 0; i < 2; i++) {
            JsonNode event = bob.ws().next();
            assertEquals("track_published", event.get("type").asText(), "track_published comes before the offer");
            assertEquals(alice.id(), event.get("participantId").asText());
            announced.add(event.at("/track/trackId").asText());
        }
        assertEquals(texts(published, "trackId"), announced);

        JsonNode offer = bob.ws().next();
        assertEquals("subscribe_offer", offer.get("type").asText());
        assertEquals(1, offer.get("version").asLong());
        JsonNode tracks = offer.get("tracks");
        assertEquals(2, tracks.size());
        assertEquals(announced, texts(tracks, "trackId"));
        assertEquals(Set.of("audio", "video"), texts(tracks, "kind"));
        assertEquals(Set.of(alice.id()), texts(tracks, "participantId"));
        String sdp = offer.get("sdp").asText();
        for (JsonNode t : tracks) {
            assertTrue(sdp.contains("a=mid:" + t.get("mid").asText() + "\r\n"), "mid " + t + " in " + sdp);
        }
        assertTrue(sdp.contains("a=ice-lite\r\n"), sdp);
        assertTrue(node.engine().localAddresses().stream().anyMatch(a -> sdp.contains(" " + a.getPort() + " typ host")),
                sdp);

        // The publisher itself is not offered its own tracks.
        alice.ws().expectNo("subscribe_offer", QUIET);
    }

    @Test
    void lateJoinerSeesPublishedTracksInJoinedAndGetsASubscribeOffer() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        alice.ws().next("publish_answer");

        Joined bob = joinAs("bob");
        JsonNode aliceSeen = bob.joined().get("participants").get(0);
        assertEquals(Set.of("audio", "video"), texts(aliceSeen.get("tracks"), "kind"));
        JsonNode offer = bob.ws().next("subscribe_offer");
        assertEquals(1, offer.get("version").asLong());
        assertEquals(texts(aliceSeen.get("tracks"), "trackId"), texts(offer.get("tracks"), "trackId"));
    }

    @Test
    void tokenWithoutSubscribeGrantGetsNoSubscribeOffer() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        alice.ws().next("publish_answer");

        Joined deaf = joinWith(token("deaf", new Grants(true, false)));
        deaf.ws().expectNo("subscribe_offer", QUIET);
    }

    @Test
    void subscribeAnswerWithGarbageSdpGetsBadSdpAndWrongVersionGetsBadRequest() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        alice.ws().next("publish_answer");
        Joined bob = joinAs("bob");
        JsonNode offer = bob.ws().next("subscribe_offer");

        bob.ws().send("type", "subscribe_answer", "sdp", "garbage", "version", 1, "id", "a-1");
        assertEquals("a-1", bob.ws().nextError("bad_sdp").get("id").asText());

        bob.ws().send("type", "subscribe_answer", "sdp", browserAnswerTo(offer.get("sdp").asText()), "version", 7,
                "id", "a-2");
        assertEquals("a-2", bob.ws().nextError("bad_request").get("id").asText());

        bob.ws().send("type", "subscribe_answer", "sdp", browserAnswerTo(offer.get("sdp").asText()), "version", "one",
                "id", "a-3");
        assertEquals("a-3", bob.ws().nextError("bad_request").get("id").asText());

        bob.ws().send("type", "subscribe_answer", "version", 1, "id", "a-4");
        assertEquals("a-4", bob.ws().nextError("bad_request").get("id").asText());
        bob.ws().pingPong();
    }

    @Test
    void answeredSubscribeOfferIsFollowedByANewVersionWhenTheRoomChanges() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        alice.ws().next("publish_answer");
        Joined bob = joinAs("bob");
        JsonNode first = bob.ws().next("subscribe_offer");
        bob.ws().send("type", "subscribe_answer", "sdp", browserAnswerTo(first.get("sdp").asText()), "version", 1);
        bob.ws().pingPong();
        assertTrue(bob.ws().skipped.stream().noneMatch(m -> m.path("type").asText().equals("error")),
                "the answer was accepted: " + bob.ws().skipped);

        alice.ws().send("type", "leave");
        assertEquals(alice.id(), bob.ws().next("participant_left").get("participantId").asText());
        JsonNode second = bob.ws().next("subscribe_offer");
        assertEquals(2, second.get("version").asLong());
        assertEquals(0, second.get("tracks").size(), "no active m-section once the publisher left");
        String sdp = second.get("sdp").asText();
        assertEquals(2, sdp.lines().filter(l -> l.startsWith("m=")).count(), "m-sections are never removed: " + sdp);
        assertEquals(2, sdp.lines().filter(l -> l.equals("a=inactive")).count(), sdp);
    }

    @Test
    void aNewPublisherGetsNewSubscribeSectionsBelowTheBoundAndReusesInactiveOnesOfItsKindBeyondIt() throws Exception {
        assertEquals(Map.of("audio", "2", "video", "3"), midsOfTheSecondPublisher(testConfig()),
                "below rooms.maxSubscribeSections (64) the tracks get new m-sections");

        SfuConfig bounded = testConfig();
        bounded.rooms.maxSubscribeSections = 2;
        restartNode(bounded);
        Map<String, String> reused = midsOfTheSecondPublisher(bounded);
        assertEquals(Map.of("audio", "0", "video", "1"), reused,
                "at the bound the inactive sections of the same kind are reused");
    }

    /**
     * Alice publishes audio and video, bob subscribes; alice leaves, bob answers the offer that makes her sections
     * inactive; carol publishes the same: which mid bob's next offer gives each of carol's tracks, by kind.
     */
    private Map<String, String> midsOfTheSecondPublisher(SfuConfig config) throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        alice.ws().next("publish_answer");
        Joined bob = joinAs("bob");
        JsonNode first = bob.ws().next("subscribe_offer");
        bob.ws().send("type", "subscribe_answer", "sdp", browserAnswerTo(first.get("sdp").asText()), "version", 1);
        alice.ws().send("type", "leave");
        JsonNode second = bob.ws().next("subscribe_offer");
        bob.ws().send("type", "subscribe_answer", "sdp", browserAnswerTo(second.get("sdp").asText()), "version", 2);
        bob.ws().pingPong();

        Joined carol = joinAs("carol");
        carol.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        carol.ws().next("publish_answer");
        JsonNode third = bob.ws().next("subscribe_offer");
        assertEquals(3, third.get("version").asLong());
        String sdp = third.get("sdp").asText();
        List<String> sections = List.of(sdp.split("\r\nm="));
        Map<String, String> kindOfMid = new java.util.HashMap<>();
        for (String section : sections.subList(1, sections.size())) {
            String mid = section.lines().filter(l -> l.startsWith("a=mid:")).findFirst().orElseThrow().substring(6);
            kindOfMid.put(mid, section.substring(0, section.indexOf(' ')));
            assertTrue(section.contains("\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"),
                    "every section offers sdes:mid: " + section);
        }
        assertEquals(Math.max(2, Math.min(4, config.rooms.maxSubscribeSections)), kindOfMid.size(), sdp);
        Map<String, String> midOfKind = new java.util.HashMap<>();
        for (JsonNode t : third.get("tracks")) {
            assertEquals(carol.id(), t.get("participantId").asText());
            String kind = t.get("kind").asText();
            assertEquals(kind, kindOfMid.get(t.get("mid").asText()), "a section keeps its kind: " + sdp);
            midOfKind.put(kind, t.get("mid").asText());
        }
        for (Joined j : List.of(bob, carol)) {
            j.ws().send("type", "leave");
        }
        return midOfKind;
    }

    @Test
    void publishOfferWithGarbageSdpGetsBadSdpAndSocketStaysOpen() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", "v=0\r\nthis is not sdp", "id", "g");

        assertEquals("g", alice.ws().nextError("bad_sdp").get("id").asText());
        alice.ws().pingPong();
    }

    @Test
    void publishOfferWithOnlyRecvonlySectionsGetsBadSdp() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");
        alice.ws().send("type", "publish_offer", "sdp", RECVONLY_OFFER, "id", "r");

        assertEquals("r", alice.ws().nextError("bad_sdp").get("id").asText());
        alice.ws().pingPong();
        bob.ws().expectNo("track_published", QUIET);
    }

    @Test
    void publishOfferWithoutSdpGetsBadRequest() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", 5, "id", "n");

        assertEquals("n", alice.ws().nextError("bad_request").get("id").asText());
    }

    @Test
    void renegotiatingWithTheSameOfferKeepsTheTracks() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        Set<String> first = texts(alice.ws().next("publish_answer").get("tracks"), "trackId");
        bob.ws().next("subscribe_offer");

        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        assertEquals(first, texts(alice.ws().next("publish_answer").get("tracks"), "trackId"));
        bob.ws().expectNo("track_unpublished", QUIET);
    }

    // ------------------------------------------------------------------ mute

    @Test
    void muteOfOwnTrackTellsTheOthersWithTrackMuted() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        String trackId = alice.ws().next("publish_answer").get("tracks").get(0).get("trackId").asText();

        alice.ws().send("type", "mute", "trackId", trackId, "muted", true);
        JsonNode muted = bob.ws().next("track_muted");
        assertEquals(alice.id(), muted.get("participantId").asText());
        assertEquals(trackId, muted.get("trackId").asText());
        assertTrue(muted.get("muted").asBoolean());

        alice.ws().send("type", "mute", "trackId", trackId, "muted", false);
        assertFalse(bob.ws().next("track_muted").get("muted").asBoolean());
        alice.ws().expectNo("track_muted", QUIET);
    }

    @Test
    void muteStateIsSeenByALateJoiner() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        String trackId = alice.ws().next("publish_answer").get("tracks").get(0).get("trackId").asText();
        alice.ws().send("type", "mute", "trackId", trackId, "muted", true);
        alice.ws().pingPong();

        Joined bob = joinAs("bob");
        for (JsonNode t : bob.joined().at("/participants/0/tracks")) {
            assertEquals(t.get("trackId").asText().equals(trackId), t.get("muted").asBoolean(), t.toString());
        }
    }

    @Test
    void muteOfUnknownOrSomeoneElsesTrackGetsUnknownTrack() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        String alicesTrack = alice.ws().next("publish_answer").get("tracks").get(0).get("trackId").asText();

        bob.ws().send("type", "mute", "trackId", "TR_nosuchtrack", "muted", true, "id", "m-1");
        assertEquals("m-1", bob.ws().nextError("unknown_track").get("id").asText());
        bob.ws().send("type", "mute", "trackId", alicesTrack, "muted", true, "id", "m-2");
        assertEquals("m-2", bob.ws().nextError("unknown_track").get("id").asText());
        bob.ws().pingPong();
        alice.ws().expectNo("track_muted", QUIET);
    }

    @Test
    void muteWithoutBooleanMutedGetsBadRequest() throws Exception {
        Joined alice = joinAs("alice");
        alice.ws().send("type", "mute", "trackId", "TR_x", "muted", "yes", "id", "m");

        assertEquals("m", alice.ws().nextError("bad_request").get("id").asText());
    }

    // ------------------------------------------------------------------ leaving

    @Test
    void leaveTellsTheOthersParticipantLeftAndTheNodeClosesTheSocket() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");
        alice.ws().send("type", "publish_offer", "sdp", SENDONLY_OFFER);
        alice.ws().next("publish_answer");
        bob.ws().next("subscribe_offer");

        alice.ws().send("type", "leave");
        alice.ws().awaitClosed();
        JsonNode left = bob.ws().next("participant_left");
        assertEquals(alice.id(), left.get("participantId").asText());
        // participant_left implies the end of every track of that participant: no track_unpublished is sent.
        bob.ws().expectNo("track_unpublished", QUIET);
        assertTrue(bob.ws().skipped.stream().noneMatch(m -> m.path("type").asText().equals("track_unpublished")));
    }

    @Test
    void socketCloseTellsTheOthersParticipantLeft() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");

        alice.ws().close();
        assertEquals(alice.id(), bob.ws().next("participant_left").get("participantId").asText());
        Joined carol = joinAs("carol");
        assertEquals(Set.of("bob"), texts(carol.joined().get("participants"), "identity"));
    }

    @Test
    void sameIdentityJoiningAgainReplacesTheFirstSocket() throws Exception {
        Joined first = joinAs("alice");
        Joined bob = joinAs("bob");
        first.ws().next("participant_joined");

        Joined second = joinAs("alice");
        first.ws().nextError("replaced");
        first.ws().awaitClosed();

        assertEquals(first.id(), bob.ws().next("participant_left").get("participantId").asText());
        assertEquals(second.id(), bob.ws().next("participant_joined").at("/participant/participantId").asText());
        assertEquals(Set.of("bob"), texts(second.joined().get("participants"), "identity"));
        assertEquals(2.0, gauge("sfu_participants"));
        second.ws().pingPong();
    }

    @Test
    void joinBeyondMaxParticipantsGetsRoomFullAndCloses() throws Exception {
        SfuConfig config = testConfig();
        config.rooms.maxParticipants = 2;
        restartNode(config);
        Joined alice = joinAs("alice");
        joinAs("bob");

        WsClient carol = connect();
        carol.send("type", "join", "token", token("carol"), "protocol", 1);
        carol.nextError("room_full");
        carol.awaitClosed();

        alice.ws().pingPong();
        assertTrue(alice.ws().skipped.stream().noneMatch(m -> m.at("/participant/identity").asText().equals("carol")));
        assertEquals(2.0, gauge("sfu_participants"));
        // A full room does not stop another room.
        WsClient dave = connect();
        dave.send("type", "join", "token", TOKENS.issue(KID, "dave", "other-room", null, Grants.ALL,
                Duration.ofMinutes(1)), "protocol", 1);
        dave.next("joined");
    }

    @Test
    void metricsParticipantAndRoomGaugesFollowJoinsAndLeaves() throws Exception {
        assertEquals(0.0, gauge("sfu_participants"));
        assertEquals(0.0, gauge("sfu_rooms"));

        Joined alice = joinAs("alice");
        awaitGauge("sfu_participants", 1);
        awaitGauge("sfu_rooms", 1);
        Joined bob = joinAs("bob");
        WsClient carol = connect();
        carol.send("type", "join", "token", TOKENS.issue(KID, "carol", "room-2", null, Grants.ALL,
                Duration.ofMinutes(1)), "protocol", 1);
        carol.next("joined");
        awaitGauge("sfu_participants", 3);
        awaitGauge("sfu_rooms", 2);

        carol.send("type", "leave");
        awaitGauge("sfu_participants", 2);
        awaitGauge("sfu_rooms", 1);
        alice.ws().close();
        awaitGauge("sfu_participants", 1);
        awaitGauge("sfu_rooms", 1);
        bob.ws().send("type", "leave");
        awaitGauge("sfu_participants", 0);
        awaitGauge("sfu_rooms", 0);
    }

    @Test
    void closingTheNodeClosesEverySignalingSocket() throws Exception {
        Joined alice = joinAs("alice");
        Joined bob = joinAs("bob");

        node.close();
        node = null;
        alice.ws().awaitClosed();
        bob.ws().awaitClosed();
    }

    @Test
    void closingTheNodeSendsServerShuttingDown() throws Exception {
        for (int i = 0; i < 40; i++) {
            if (node == null) {
                node = new SfuNode(testConfig());
            }
            Joined alice = joinAs("alice-" + i);

            node.close();
            node = null;
            alice.ws().nextError("server_shutting_down");
            alice.ws().awaitClosed();
        }
    }
}
