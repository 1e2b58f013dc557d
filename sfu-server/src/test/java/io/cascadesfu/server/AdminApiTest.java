package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.cascadesfu.signaling.auth.Grants;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The admin API of a real node (docs/ADMIN.md): an in-process {@link SfuNode} on loopback with an admin key, real
 * HTTP requests (JDK client, and raw sockets where the bytes matter) and real signaling sockets.
 */
@Timeout(60)
class AdminApiTest {
    static final String ADMIN_KEY = "admin-key-0123456789abcdef0123456789";
    static final String ROOM = SignalingProtocolTest.ROOM;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(WsClient.TIMEOUT).build();
    static final Duration QUIET = Duration.ofMillis(300);

    private SfuNode node;
    private final List<SfuNode> otherNodes = new ArrayList<>();
    private final List<WsClient> clients = new ArrayList<>();

    static SfuConfig adminConfig() {
        SfuConfig c = SignalingProtocolTest.devConfig();
        c.admin.key = ADMIN_KEY;
        return c;
    }

    @BeforeEach
    void startNode() {
        node = new SfuNode(adminConfig());
    }

    @AfterEach
    void stopNodes() {
        for (WsClient c : clients) {
            c.close();
        }
        if (node != null) {
            node.close();
        }
        otherNodes.forEach(SfuNode::close);
    }

    // ------------------------------------------------------------------ helpers

    private HttpRequest.Builder request(InetSocketAddress http, String path) {
        return HttpRequest.newBuilder(URI.create("http://" + http.getHostString() + ":" + http.getPort() + path))
                .timeout(WsClient.TIMEOUT);
    }

    private HttpRequest.Builder admin(String path) {
        return request(node.httpAddress(), path).header("Authorization", "Bearer " + ADMIN_KEY);
    }

    private static HttpResponse<String> send(HttpRequest.Builder r) throws Exception {
        return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> adminGet(String path) throws Exception {
        return send(admin(path).GET());
    }

    private HttpResponse<String> adminDelete(String path) throws Exception {
        return send(admin(path).DELETE());
    }

    private HttpResponse<String> adminPost(String path, String body) throws Exception {
        return send(admin(path).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        assertEquals("application/json", r.headers().firstValue("content-type").orElse(""), r.body());
        return WsClient.JSON.readTree(r.body());
    }

    /** An error answer: the status, and a JSON body {"error": code, "message": ...}. */
    private static void assertError(int status, String code, HttpResponse<String> r) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertEquals(code, body.path("error").asText(), r.body());
        assertTrue(body.path("message").isTextual(), r.body());
    }

    /** Polls {@code GET path} (bounded) until its JSON satisfies {@code until}; returns it. */
    private JsonNode awaitAdmin(String path, Predicate<JsonNode> until) throws Exception {
        return awaitAdmin(path, until, WsClient.TIMEOUT);
    }

    private JsonNode awaitAdmin(String path, Predicate<JsonNode> until, Duration timeout) throws Exception {
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        JsonNode last;
        while (true) {
            HttpResponse<String> r = adminGet(path);
            last = r.statusCode() == 200 ? json(r) : null;
            if (last != null && until.test(last)) {
                return last;
            }
            if (System.nanoTime() > deadlineNs) {
                fail(path + " never matched; last answer " + r.statusCode() + " " + r.body());
            }
            Thread.sleep(20);
        }
    }

    private record Joined(WsClient ws, JsonNode joined) {
        String id() {
            return joined.get("participantId").asText();
        }
    }

    private Joined join(String identity, String room) throws Exception {
        WsClient c = WsClient.connect(node.httpAddress());
        clients.add(c);
        c.send("type", "join", "token", SignalingProtocolTest.TOKENS.issue(SignalingProtocolTest.KID, identity, room,
                identity + " name", Grants.ALL, Duration.ofMinutes(5)), "protocol", 1);
        return new Joined(c, c.next("joined"));
    }

    private Joined join(String identity) throws Exception {
        return join(identity, ROOM);
    }

    /** {@code who} publishes the Chromium audio + video offer; returns its track ids (audio first). */
    private static List<String> publish(Joined who) throws Exception {
        who.ws().send("type", "publish_offer", "sdp", SignalingProtocolTest.SENDONLY_OFFER);
        List<String> ids = new ArrayList<>();
        who.ws().next("publish_answer").get("tracks").forEach(t -> ids.add(t.get("trackId").asText()));
        return ids;
    }

    /** {@code who} answers its next subscribe offer as a browser would. */
    private static void answerSubscribeOffer(Joined who) throws Exception {
        JsonNode offer = who.ws().next("subscribe_offer");
        who.ws().send("type", "subscribe_answer", "sdp",
                SignalingProtocolTest.browserAnswerTo(offer.get("sdp").asText()), "version", offer.get("version"));
    }

    private static JsonNode participant(JsonNode room, String identity) {
        for (JsonNode p : room.get("participants")) {
            if (p.get("identity").asText().equals(identity)) {
                return p;
            }
        }
        return fail(identity + " not in " + room);
    }

    private static Set<String> identities(JsonNode room) {
        Set<String> s = new HashSet<>();
        room.get("participants").forEach(p -> s.add(p.get("identity").asText()));
        return s;
    }

    private double metric(String line) throws Exception {
        String text = send(request(node.httpAddress(), "/metrics").GET()).body();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(line) + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : fail(line + " missing from /metrics");
    }

    /** A request written byte for byte (no client-side normalisation); returns the status line and the body. */
    static String raw(InetSocketAddress http, String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(http, (int) WsClient.TIMEOUT.toMillis());
            s.setSoTimeout((int) WsClient.TIMEOUT.toMillis());
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return readAll(s.getInputStream());
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        try {
            while ((n = in.read(buf)) >= 0) {
                all.write(buf, 0, n);
            }
        } catch (java.net.SocketException e) {
            // reset after the node's answer (it closed with unread input): what arrived is kept
        }
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    private String rawAdmin(String method, String target) throws IOException {
        return raw(node.httpAddress(), method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                + ADMIN_KEY + "\r\nConnection: close\r\n\r\n");
    }

    /** The status of the first answer to {@code request}, read without waiting for the connection to close. */
    private int firstLineStatus(String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(node.httpAddress(), (int) WsClient.TIMEOUT.toMillis());
            s.setSoTimeout((int) WsClient.TIMEOUT.toMillis());
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = s.getInputStream().read()) >= 0 && b != '\n') {
                line.write(b);
            }
            return status(line.toString(StandardCharsets.ISO_8859_1));
        }
    }

    private static int status(String rawResponse) {
        assertTrue(rawResponse.startsWith("HTTP/1.1 "), "status line: " + rawResponse);
        return Integer.parseInt(rawResponse.substring(9, 12));
    }

    // ------------------------------------------------------------------ the key

    @Test
    void requestWithoutTheKeyIs401WithBearerChallengeAndIsCounted() throws Exception {
        assertEquals(0.0, metric("sfu_admin_auth_failures_total{reason=\"missing\"}"));

        HttpResponse<String> r = send(request(node.httpAddress(), "/admin/rooms").GET());

        assertError(401, "unauthorized", r);
        assertTrue(r.headers().firstValue("www-authenticate").orElse("").startsWith("Bearer"), r.headers().toString());
        assertEquals(1.0, metric("sfu_admin_auth_failures_total{reason=\"missing\"}"));
        assertEquals(0.0, metric("sfu_admin_auth_failures_total{reason=\"wrong\"}"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Bearer wrong", "Bearer " + ADMIN_KEY + "x", "Bearer " + "admin-key-0123456789abcdef",
            "Basic " + ADMIN_KEY, ADMIN_KEY, "Bearer", "Bearer  ", "Bearer admin-key-0123456789abcdef0123456789ABC"})
    void wrongKeyIs401AndCounted(String authorization) throws Exception {
        HttpResponse<String> r = send(request(node.httpAddress(), "/admin/rooms").header("Authorization", authorization)
                .GET());

        assertError(401, "unauthorized", r);
        assertEquals(1.0, metric("sfu_admin_auth_failures_total{reason=\"wrong\"}") + metric(
                "sfu_admin_auth_failures_total{reason=\"missing\"}"));
    }

    @Test
    void unknownAdminPathsAndMutationsWithoutTheKeyAre401TooAndChangeNothing() throws Exception {
        Joined alice = join("alice");
        for (HttpRequest.Builder r : List.of(
                request(node.httpAddress(), "/admin/nope").GET(),
                request(node.httpAddress(), "/admin/drain").POST(HttpRequest.BodyPublishers.noBody()),
                request(node.httpAddress(), "/admin/rooms/" + ROOM).DELETE(),
                request(node.httpAddress(), "/admin/rooms/" + ROOM + "/participants/" + alice.id())
                        .header("Authorization", "Bearer not-the-key").DELETE())) {
            assertError(401, "unauthorized", send(r));
        }
        assertEquals(200, send(request(node.httpAddress(), "/health").GET()).statusCode());
        alice.ws().pingPong();
        alice.ws().expectNo("error", QUIET);
        assertEquals(Set.of("alice"), identities(json(adminGet("/admin/rooms/" + ROOM))));
    }

    @Test
    void bearerSchemeIsCaseInsensitiveAndSpacesAroundTheKeyAreIgnored() throws Exception {
        HttpResponse<String> r = send(request(node.httpAddress(), "/admin/rooms")
                .header("Authorization", "bearer   " + ADMIN_KEY + " ").GET());

        assertEquals(200, r.statusCode(), r.body());
    }

    // ------------------------------------------------------------------ rooms

    @Test
    void roomsListsEachRoomWithItsParticipantAndTrackCounts() throws Exception {
        assertEquals("{\"draining\":false,\"rooms\":[]}", adminGet("/admin/rooms").body());
        Joined alice = join("alice");
        join("bob");
        join("carol", "room-2");
        publish(alice);

        JsonNode rooms = json(adminGet("/admin/rooms")).get("rooms");

        assertEquals(2, rooms.size(), rooms.toString());
        JsonNode r1 = rooms.get(0);
        assertEquals(ROOM, r1.get("room").asText());
        assertEquals(2, r1.get("participants").asInt());
        assertEquals(2, r1.get("localParticipants").asInt());
        assertEquals(0, r1.get("remoteParticipants").asInt());
        assertEquals(2, r1.get("tracks").asInt(), "alice's audio and video");
        assertEquals("room-2", rooms.get(1).get("room").asText());
        assertEquals(1, rooms.get(1).get("participants").asInt());
        assertEquals(0, rooms.get(1).get("tracks").asInt());
    }

    @Test
    void roomShowsItsParticipantsTracksAndSubscriptions() throws Exception {
        Instant before = Instant.now();
        Joined alice = join("alice");
        Joined bob = join("bob");
        List<String> tracks = publish(alice);
        answerSubscribeOffer(bob);

        JsonNode room = awaitAdmin("/admin/rooms/" + ROOM,
                r -> participant(r, "bob").path("subscriptions").asInt() == 2);

        assertEquals(ROOM, room.get("room").asText());
        assertEquals(Set.of("alice", "bob"), identities(room));
        JsonNode a = participant(room, "alice");
        assertEquals(alice.id(), a.get("participantId").asText());
        assertEquals("alice name", a.get("name").asText());
        assertTrue(a.get("local").asBoolean());
        assertFalse(a.has("node"), a.toString());
        Instant joinedAt = Instant.parse(a.get("joinedAt").asText());
        assertFalse(joinedAt.isBefore(before.minusSeconds(1)) || joinedAt.isAfter(Instant.now()), a.toString());
        assertEquals(0, a.get("subscriptions").asInt(), "nobody else publishes");
        JsonNode audio = a.get("tracks").get(0);
        JsonNode video = a.get("tracks").get(1);
        assertEquals(tracks, List.of(audio.get("trackId").asText(), video.get("trackId").asText()));
        assertEquals("audio", audio.get("kind").asText());
        assertEquals("opus", audio.get("codec").asText().toLowerCase());
        assertEquals("video", video.get("kind").asText());
        assertEquals("VP8", video.get("codec").asText().toUpperCase());
        for (JsonNode t : List.of(audio, video)) {
            assertFalse(t.get("muted").asBoolean(), t.toString());
            assertTrue(t.get("mid").isTextual(), t.toString());
            assertEquals(0, t.get("layers").size(), "no simulcast in this offer: " + t);
            assertEquals(1, t.get("subscribers").asInt(), "bob receives it: " + t);
        }
        JsonNode b = participant(room, "bob");
        assertEquals(bob.id(), b.get("participantId").asText());
        assertEquals(0, b.get("tracks").size());
        assertTrue(room.get("routers").isArray() && room.get("routers").size() >= 1, room.toString());
        int producers = 0;
        int consumers = 0;
        for (JsonNode router : room.get("routers")) {
            producers += router.get("producers").asInt();
            consumers += router.get("consumers").asInt();
        }
        assertTrue(producers >= 2 && consumers >= 2, "alice's tracks, bob's consumers: " + room.get("routers"));
    }

    @Test
    void simulcastTrackListsItsLayersLowestFirst() throws Exception {
        Joined alice = join("alice");
        alice.ws().send("type", "publish_offer", "sdp", SignalingProtocolTest.fixture("chromium-156-offer-simulcast.sdp"));
        alice.ws().next("publish_answer");

        JsonNode a = participant(json(adminGet("/admin/rooms/" + ROOM)), "alice");

        JsonNode video = null;
        for (JsonNode t : a.get("tracks")) {
            if (t.get("kind").asText().equals("video")) {
                video = t;
            }
        }
        assertNotNull(video, a.toString());
        assertEquals(3, video.get("layers").size(), video.toString());
        assertEquals("q", video.get("layers").get(0).asText(), video.toString());
    }

    @Test
    void unknownRoomIs404() throws Exception {
        assertError(404, "not_found", adminGet("/admin/rooms/no-such-room"));
        assertError(404, "not_found", adminDelete("/admin/rooms/no-such-room"));
        assertError(404, "not_found", adminDelete("/admin/rooms/no-such-room/participants/PA_x"));
        assertError(404, "not_found", adminPost("/admin/rooms/no-such-room/tracks/TR_x/mute", "{\"muted\":true}"));
    }

    // ------------------------------------------------------------------ remove a participant

    @Test
    void removedParticipantIsToldWhyAndClosedWhileTheOthersSeeItLeave() throws Exception {
        Joined alice = join("alice");
        Joined bob = join("bob");
        publish(alice);

        HttpResponse<String> r = adminDelete("/admin/rooms/" + ROOM + "/participants/" + alice.id());

        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertEquals(alice.id(), body.get("participantId").asText());
        assertTrue(body.get("removed").asBoolean());
        JsonNode error = alice.ws().nextError("removed");
        assertTrue(error.get("message").asText().contains("operator"), error.toString());
        alice.ws().awaitClosed();
        assertEquals(alice.id(), bob.ws().next("participant_left").get("participantId").asText());
        bob.ws().pingPong();
        assertEquals(Set.of("bob"), identities(json(adminGet("/admin/rooms/" + ROOM))));
        assertError(404, "not_found", adminDelete("/admin/rooms/" + ROOM + "/participants/" + alice.id()));
    }

    @Test
    void removingTheLastParticipantClosesTheRoom() throws Exception {
        Joined alice = join("alice");

        assertEquals(200, adminDelete("/admin/rooms/" + ROOM + "/participants/" + alice.id()).statusCode());

        alice.ws().nextError("removed");
        awaitAdmin("/admin/rooms", r -> r.get("rooms").isEmpty());
        assertError(404, "not_found", adminGet("/admin/rooms/" + ROOM));
        join("alice"); // a valid token joins again: removing is not banning
    }

    @Test
    void unknownParticipantIs404AndNobodyIsRemoved() throws Exception {
        Joined alice = join("alice");

        assertError(404, "not_found", adminDelete("/admin/rooms/" + ROOM + "/participants/PA_nosuchparticipant"));
        assertError(404, "not_found", adminDelete("/admin/rooms/room-2/participants/" + alice.id()));

        alice.ws().pingPong();
        assertFalse(alice.ws().isClosed());
    }

    // ------------------------------------------------------------------ mute

    @Test
    void muteByTheOperatorIsSeenByTheOthersAndThePublisherAsTrackMuted() throws Exception {
        Joined alice = join("alice");
        Joined bob = join("bob");
        String audio = publish(alice).get(0);
        String path = "/admin/rooms/" + ROOM + "/tracks/" + audio + "/mute";

        HttpResponse<String> r = adminPost(path, "{\"muted\":true}");

        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertEquals(alice.id(), body.get("participantId").asText());
        assertEquals(audio, body.get("trackId").asText());
        assertTrue(body.get("muted").asBoolean());
        assertTrue(body.get("changed").asBoolean());
        for (Joined who : List.of(bob, alice)) {
            JsonNode muted = who.ws().next("track_muted");
            assertEquals(alice.id(), muted.get("participantId").asText());
            assertEquals(audio, muted.get("trackId").asText());
            assertTrue(muted.get("muted").asBoolean());
        }
        assertTrue(participant(json(adminGet("/admin/rooms/" + ROOM)), "alice").get("tracks").get(0).get("muted")
                .asBoolean());

        // Again: nothing changes, nobody is told.
        assertFalse(json(adminPost(path, "{\"muted\":true}")).get("changed").asBoolean());
        bob.ws().expectNo("track_muted", QUIET);

        assertTrue(json(adminPost(path, "{\"muted\":false}")).get("changed").asBoolean());
        assertFalse(bob.ws().next("track_muted").get("muted").asBoolean());
        assertFalse(alice.ws().next("track_muted").get("muted").asBoolean());
        // A late joiner sees the state.
        Joined carol = join("carol");
        assertFalse(carol.joined().at("/participants/0/tracks/0/muted").asBoolean());
    }

    @Test
    void muteOfAnUnknownTrackIs404() throws Exception {
        Joined alice = join("alice");
        publish(alice);

        assertError(404, "not_found", adminPost("/admin/rooms/" + ROOM + "/tracks/TR_nosuchtrack/mute",
                "{\"muted\":true}"));
        alice.ws().expectNo("track_muted", QUIET);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "not json", "[]", "null", "{\"muted\":\"yes\"}", "{\"muted\":1}", "{}",
            "{\"mute\":true}", "\"muted\"", "{\"muted\":true}garbage", "\u0000\u00ff\u0001"})
    void muteWithABodyThatIsNotMutedTrueOrFalseIs400(String body) throws Exception {
        Joined alice = join("alice");
        String audio = publish(alice).get(0);

        HttpResponse<String> r = adminPost("/admin/rooms/" + ROOM + "/tracks/" + audio + "/mute", body);

        assertEquals(400, r.statusCode(), r.body());
        assertTrue(Set.of("bad_json", "bad_request").contains(json(r).get("error").asText()), r.body());
        alice.ws().expectNo("track_muted", QUIET);
    }

    // ------------------------------------------------------------------ close a room

    @Test
    void closingARoomTellsEveryParticipantWhyAndLeavesOtherRoomsAlone() throws Exception {
        Joined alice = join("alice");
        Joined bob = join("bob");
        Joined carol = join("carol", "room-2");

        HttpResponse<String> r = adminDelete("/admin/rooms/" + ROOM);

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(2, json(r).get("participants").asInt());
        for (Joined who : List.of(alice, bob)) {
            who.ws().nextError("room_closed");
            who.ws().awaitClosed();
        }
        carol.ws().pingPong();
        carol.ws().expectNo("error", QUIET);
        JsonNode rooms = awaitAdmin("/admin/rooms", l -> l.get("rooms").size() == 1);
        assertEquals("room-2", rooms.at("/rooms/0/room").asText());
        assertError(404, "not_found", adminGet("/admin/rooms/" + ROOM));
        assertError(404, "not_found", adminDelete("/admin/rooms/" + ROOM));
    }

    // ------------------------------------------------------------------ drain

    @Test
    void drainTurnsHealthTo503AndRefusesJoinsWhileParticipantsStay() throws Exception {
        Joined alice = join("alice");

        HttpResponse<String> r = adminPost("/admin/drain", "");

        assertEquals(202, r.statusCode(), r.body());
        assertEquals("{\"draining\":true}", r.body());
        assertEquals(503, send(request(node.httpAddress(), "/health").GET()).statusCode());
        alice.ws().pingPong();
        WsClient late = WsClient.connect(node.httpAddress());
        clients.add(late);
        late.send("type", "join", "token", SignalingProtocolTest.token("bob"), "protocol", 1);
        assertTrue(late.nextError("draining").get("message").asText().contains("draining"));
        late.awaitClosed();
        // Idempotent.
        assertEquals(202, adminPost("/admin/drain", "").statusCode());
        node.drain();
        assertTrue(json(adminGet("/admin/rooms")).get("draining").asBoolean());
        assertEquals(Set.of("alice"), identities(json(adminGet("/admin/rooms/" + ROOM))));
        // Even a second join of alice's identity, which would replace her, is refused.
        WsClient again = WsClient.connect(node.httpAddress());
        clients.add(again);
        again.send("type", "join", "token", SignalingProtocolTest.token("alice"), "protocol", 1);
        again.nextError("draining");
        alice.ws().pingPong();
        alice.ws().expectNo("error", QUIET);
    }

    // ------------------------------------------------------------------ links

    @Test
    void linksOfANodeWithoutAClusterSayItIsOff() throws Exception {
        JsonNode links = json(adminGet("/admin/links"));

        assertFalse(links.get("enabled").asBoolean());
        assertEquals(0, links.get("peers").size());
        assertEquals(0, links.get("relayedTracks").asInt());
    }

    @Test
    void linksShowTheConfiguredPeersUpOrDownWithRegionAndRoundTrip() throws Exception {
        int westPort = freePort();
        int eastPort = freePort();
        int downPort = freePort();
        SfuConfig west = clusterConfig("west", "oregon", westPort);
        west.cluster.peers = List.of("east@127.0.0.1:" + eastPort); // a node accepts configured peers only
        SfuNode westNode = new SfuNode(west);
        otherNodes.add(westNode);
        node.close();
        SfuConfig east = clusterConfig("east", "virginia", eastPort);
        east.cluster.peers = List.of("west@127.0.0.1:" + westPort, "zeta@127.0.0.1:" + downPort);
        node = new SfuNode(east);

        // The channel comes up at once; the first round trip is measured at the first ping (every 2 s).
        JsonNode links = awaitAdmin("/admin/links", l -> l.at("/peers/0/up").asBoolean()
                && l.at("/peers/0/rttMs").isNumber(), Duration.ofSeconds(15));

        assertTrue(links.get("enabled").asBoolean());
        assertEquals("east", links.get("nodeId").asText());
        assertEquals("virginia", links.get("region").asText());
        assertEquals(2, links.get("peers").size(), links.toString());
        JsonNode w = links.get("peers").get(0);
        assertEquals("west", w.get("nodeId").asText());
        assertEquals("127.0.0.1:" + westPort, w.get("address").asText());
        assertEquals("oregon", w.get("region").asText());
        assertTrue(w.get("rttMs").asDouble() >= 0, w.toString());
        JsonNode z = links.get("peers").get(1);
        assertEquals("zeta", z.get("nodeId").asText());
        assertFalse(z.get("up").asBoolean());
        assertTrue(z.get("rttMs").isNull() && z.get("region").isNull(), z.toString());
        assertEquals(0, links.get("relayedTracks").asInt());
        // The other side, which east dialed.
        HttpResponse<String> fromWest = send(request(westNode.httpAddress(), "/admin/links")
                .header("Authorization", "Bearer " + ADMIN_KEY).GET());
        JsonNode e = json(fromWest).at("/peers/0");
        assertEquals("east", e.get("nodeId").asText(), fromWest.body());
        assertTrue(e.get("up").asBoolean(), e.toString());
        assertEquals("127.0.0.1:" + eastPort, e.get("address").asText());
        assertEquals("virginia", e.get("region").asText());
    }

    @Test
    void participantsOfAnotherNodeAreShownWithTheirNodeAndActedOnThere() throws Exception {
        int eastPort = freePort();
        int westPort = freePort();
        SfuConfig west = clusterConfig("west", "oregon", westPort);
        west.cluster.peers = List.of("east@127.0.0.1:" + eastPort);
        SfuNode westNode = new SfuNode(west);
        otherNodes.add(westNode);
        node.close();
        SfuConfig east = clusterConfig("east", "virginia", eastPort);
        east.cluster.peers = List.of("west@127.0.0.1:" + westPort);
        node = new SfuNode(east);
        awaitAdmin("/admin/links", l -> l.at("/peers/0/up").asBoolean(), Duration.ofSeconds(15));
        Joined alice = join("alice");
        String audio = publish(alice).get(0);
        WsClient bob = WsClient.joined(westNode.httpAddress(), SignalingProtocolTest.token("bob"));
        clients.add(bob);
        SfuNode eastNode = node;

        // West sees alice as a participant of east, with her tracks.
        node = westNode;
        JsonNode room = awaitAdmin("/admin/rooms/" + ROOM, r -> identities(r).contains("alice")
                && participant(r, "alice").get("tracks").size() == 2, Duration.ofSeconds(15));
        JsonNode a = participant(room, "alice");
        assertFalse(a.get("local").asBoolean());
        assertEquals("east", a.get("node").asText());
        assertFalse(a.has("joinedAt") || a.has("subscriptions"), a.toString());
        assertEquals(audio, a.at("/tracks/0/trackId").asText());
        JsonNode summary = json(adminGet("/admin/rooms")).at("/rooms/0");
        assertEquals(1, summary.get("localParticipants").asInt(), summary.toString());
        assertEquals(1, summary.get("remoteParticipants").asInt(), summary.toString());
        assertEquals(2, summary.get("participants").asInt(), summary.toString());
        // West cannot act on her: east can.
        assertError(409, "not_local", adminPost("/admin/rooms/" + ROOM + "/tracks/" + audio + "/mute",
                "{\"muted\":true}"));
        assertError(409, "not_local", adminDelete("/admin/rooms/" + ROOM + "/participants/" + alice.id()));
        assertTrue(json(adminGet("/admin/rooms/" + ROOM)).toString().contains("\"muted\":false"));

        node = eastNode;
        assertEquals(200, adminPost("/admin/rooms/" + ROOM + "/tracks/" + audio + "/mute", "{\"muted\":true}")
                .statusCode());
        JsonNode muted = bob.next("track_muted");
        assertEquals(alice.id(), muted.get("participantId").asText());
        assertEquals(audio, muted.get("trackId").asText());
        assertTrue(muted.get("muted").asBoolean());

        assertEquals(200, adminDelete("/admin/rooms/" + ROOM + "/participants/" + alice.id()).statusCode());
        alice.ws().nextError("removed");
        assertEquals(alice.id(), bob.next("participant_left").get("participantId").asText());
    }

    private static SfuConfig clusterConfig(String nodeId, String region, int clusterPort) {
        SfuConfig c = adminConfig();
        c.cluster.nodeId = nodeId;
        c.cluster.region = region;
        c.cluster.secret = "cluster-secret-0123456789abcdef0123456789";
        c.cluster.bind = "127.0.0.1";
        c.cluster.port = clusterPort;
        return c;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    // ------------------------------------------------------------------ garbage

    @ParameterizedTest
    @ValueSource(strings = {"/admin", "/admin/", "/admin/nope", "/admin/rooms/", "/admin//rooms", "/admin/rooms/"
            + ROOM + "/participants", "/admin/rooms/" + ROOM + "/tracks/TR_x", "/admin/rooms/" + ROOM + "/tracks/TR_x/mute/x",
            "/admin/rooms/" + ROOM + "/nope/x", "/admin/links/x", "/admin/drain/", "/admin/ROOMS", "/admin/%72ooms/x/y"})
    void unknownAdminPathsAre404(String target) throws Exception {
        String r = rawAdmin("GET", target);
        assertEquals(404, status(r), r);
        assertTrue(r.contains("\"error\":\"not_found\""), r);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/admin/rooms/%zz", "/admin/rooms/%", "/admin/rooms/bad%20room", "/admin/rooms/a%2Fb",
            "/admin/rooms/a+b", "/admin/rooms/%E2%82%AC", "/admin/rooms/%C3%28",
            "/admin/rooms/%00", "/admin/rooms/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    void malformedOrInvalidRoomNamesAre400(String target) throws Exception {
        String r = rawAdmin("GET", target);
        assertTrue(status(r) == 400, r);
        assertEquals(200, send(request(node.httpAddress(), "/health").GET()).statusCode());
    }

    @Test
    void percentEncodedSegmentsAreDecoded() throws Exception {
        Joined alice = join("alice");

        String r = rawAdmin("GET", "/admin/rooms/room%2D1");
        assertEquals(200, status(r), r);
        assertTrue(r.contains(alice.id()), r);
        String encodedId = alice.id().replace("_", "%5F");
        assertEquals(200, status(rawAdmin("DELETE", "/admin/rooms/%72oom-1/participants/" + encodedId)));
        alice.ws().nextError("removed");
    }

    @Test
    void malformedEscapesOutsideAdminAre400NotAClosedConnection() throws Exception {
        assertEquals(400, status(raw(node.httpAddress(), "GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
        assertEquals(400, status(raw(node.httpAddress(),
                "GET /token?room=%zz&identity=a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    }

    @Test
    void wrongMethodsAre405WithAllow() throws Exception {
        String[][] cases = {
                {"POST", "/admin/rooms", "GET"},
                {"DELETE", "/admin/rooms", "GET"},
                {"PUT", "/admin/rooms/" + ROOM, "GET, DELETE"},
                {"POST", "/admin/rooms/" + ROOM, "GET, DELETE"},
                {"GET", "/admin/rooms/" + ROOM + "/participants/PA_x", "DELETE"},
                {"GET", "/admin/rooms/" + ROOM + "/tracks/TR_x/mute", "POST"},
                {"DELETE", "/admin/links", "GET"},
                {"GET", "/admin/drain", "POST"},
                {"PATCH", "/admin/drain", "POST"},
        };
        for (String[] c : cases) {
            String r = rawAdmin(c[0], c[1]);
            assertEquals(405, status(r), c[0] + " " + c[1] + ": " + r);
            assertTrue(r.contains("\r\nallow: " + c[2] + "\r\n") || r.contains("\r\nAllow: " + c[2] + "\r\n"), r);
            assertTrue(r.contains("\"error\":\"method_not_allowed\""), r);
        }
        assertEquals(200, send(request(node.httpAddress(), "/health").GET()).statusCode(), "not drained by GET");
    }

    @Test
    void headOfAnAdminPathIs405WithoutABody() throws Exception {
        String r = rawAdmin("HEAD", "/admin/rooms");

        assertEquals(405, status(r), r);
        assertTrue(r.endsWith("\r\n\r\n"), "no body after the headers: " + r);
    }

    @Test
    void bodyOverTheAdminLimitIs413AndOneOverTheHttpLimitIsRefusedToo() throws Exception {
        Joined alice = join("alice");
        String audio = publish(alice).get(0);
        String path = "/admin/rooms/" + ROOM + "/tracks/" + audio + "/mute";
        String padded = "{\"muted\":true,\"pad\":\"" + "x".repeat(AdminApi.MAX_BODY_BYTES) + "\"}";

        HttpResponse<String> r = adminPost(path, padded);
        assertError(413, "body_too_large", r);

        // Announced, not sent: the node refuses it before the client sends a byte of it.
        String huge = "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_KEY
                + "\r\nContent-Length: " + (1 << 20) + "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
        assertEquals(413, firstLineStatus(huge));

        alice.ws().expectNo("track_muted", QUIET);
        assertEquals(200, adminGet("/admin/rooms").statusCode());
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        join("alice");
        String auth = "Authorization: Bearer " + ADMIN_KEY + "\r\n";
        String r = raw(node.httpAddress(),
                "GET /admin/rooms/" + ROOM + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"
                        + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /admin/links HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"
                        + "GET /admin/rooms HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n");

        int room = r.indexOf("\"participants\":[");
        int health = r.indexOf("ok\n");
        int links = r.indexOf("\"enabled\":false");
        int rooms = r.indexOf("\"draining\":false");
        assertTrue(room > 0 && health > room && links > health && rooms > links, r);
    }

    @Test
    void garbageNeverHurtsTheNode() throws Exception {
        Joined alice = join("alice");
        String auth = "Authorization: Bearer " + ADMIN_KEY + "\r\n";
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < 60; i++) {
            StringBuilder path = new StringBuilder("/admin");
            int segments = random.nextInt(6);
            for (int s = 0; s < segments; s++) {
                path.append('/');
                int len = random.nextInt(12);
                for (int c = 0; c < len; c++) {
                    path.append("ab%/.-_~+!$'()*,;=:@2FzZ09".charAt(random.nextInt(26)));
                }
            }
            String method = List.of("GET", "POST", "DELETE", "PUT", "OPTIONS").get(random.nextInt(5));
            byte[] body = new byte[random.nextInt(64)];
            random.nextBytes(body);
            String r = raw(node.httpAddress(), method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + auth
                    + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n"
                    + new String(body, StandardCharsets.ISO_8859_1));
            int status = status(r);
            assertTrue(status == 400 || status == 404 || status == 405 || status == 200, method + " " + path + ": " + r);
        }
        alice.ws().pingPong();
        assertEquals(Set.of("alice"), identities(json(adminGet("/admin/rooms/" + ROOM))));
        assertEquals(200, send(request(node.httpAddress(), "/health").GET()).statusCode());
    }
}
