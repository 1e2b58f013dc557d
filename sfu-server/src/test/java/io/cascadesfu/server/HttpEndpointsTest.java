package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.cascadesfu.signaling.auth.AccessToken;
import io.cascadesfu.signaling.auth.Grants;
import io.cascadesfu.signaling.auth.TokenService;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The plain HTTP endpoints of a real development-mode node, over real HTTP. */
@Timeout(60)
class HttpEndpointsTest {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(WsClient.TIMEOUT).build();

    static SfuNode node;

    @BeforeAll
    static void startNode() {
        node = new SfuNode(SignalingProtocolTest.devConfig());
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    static URI uri(InetSocketAddress http, String pathAndQuery) {
        return URI.create("http://" + http.getHostString() + ":" + http.getPort() + pathAndQuery);
    }

    static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return HTTP.send(request.timeout(WsClient.TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String pathAndQuery) throws Exception {
        return send(HttpRequest.newBuilder(uri(node.httpAddress(), pathAndQuery)).GET());
    }

    static String contentType(HttpResponse<?> r) {
        return r.headers().firstValue("content-type").orElse("");
    }

    /** A request line sent byte for byte (no client-side path normalisation); returns the status code. */
    static int rawStatus(String method, String target) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(node.httpAddress(), (int) WsClient.TIMEOUT.toMillis());
            s.setSoTimeout((int) WsClient.TIMEOUT.toMillis());
            s.getOutputStream().write((method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                line.write(b);
            }
            String status = line.toString(StandardCharsets.US_ASCII);
            assertTrue(status.startsWith("HTTP/1.1 "), "status line: " + status);
            return Integer.parseInt(status.substring(9, 12));
        }
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = HttpEndpointsTest.class.getClassLoader().getResourceAsStream(name)) {
            assertTrue(in != null, "resource " + name);
            return in.readAllBytes();
        }
    }

    // ------------------------------------------------------------------ static files

    @Test
    void rootServesTheDemoPage() throws Exception {
        HttpResponse<String> r = get("/");

        assertEquals(200, r.statusCode());
        assertEquals("text/html; charset=utf-8", contentType(r));
        assertTrue(r.body().startsWith("<!doctype html>"), r.body());
        assertTrue(r.body().contains("<title>Cascade SFU</title>"));
        assertEquals(new String(resource("web/index.html"), StandardCharsets.UTF_8), r.body());
        assertEquals("nosniff", r.headers().firstValue("x-content-type-options").orElse(""));
    }

    @Test
    void sdkIsServedAsJavaScript() throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(uri(node.httpAddress(), "/sdk/cascade-sfu.js"))
                .timeout(WsClient.TIMEOUT).build(), HttpResponse.BodyHandlers.ofByteArray());

        assertEquals(200, r.statusCode());
        assertEquals("text/javascript; charset=utf-8", contentType(r));
        assertArrayEquals(resource("web/sdk/cascade-sfu.js"), r.body());
        assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("PROTOCOL_VERSION"));
    }

    @Test
    void demoAssetsHaveTheirContentTypes() throws Exception {
        assertEquals("text/css; charset=utf-8", contentType(get("/demo.css")));
        assertEquals("text/javascript; charset=utf-8", contentType(get("/demo.js")));
    }

    @Test
    void headOfTheDemoPageHasNoBody() throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri(node.httpAddress(), "/"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));

        assertEquals(200, r.statusCode());
        assertEquals("", r.body());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/nope.html", "/sdk/nope.js", "/index.html.bak", "/web/index.html"})
    void unknownFileIs404(String path) throws Exception {
        assertEquals(404, get(path).statusCode());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/../pom.xml", "/%2e%2e/", "/%2e%2e/pom.xml", "/sdk/../index.html", "/..%2fpom.xml",
            "/%2E%2E/%2E%2E/etc/passwd", "//etc/passwd", "/sdk//cascade-sfu.js", "/a%00.html",
            "/logback-test.xml", "/io/cascadesfu/server/SfuNode.class"})
    void pathTraversalAndOddPathsAre404(String target) throws Exception {
        assertEquals(404, rawStatus("GET", target), target);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/sdk", "/sdk/"})
    void folderOfTheWebAssetsIs404(String path) throws Exception {
        HttpResponse<String> r = get(path);
        assertEquals(404, r.statusCode(), "served: " + r.body());
    }

    // ------------------------------------------------------------------ health and metrics

    @Test
    void healthIs200() throws Exception {
        HttpResponse<String> r = get("/health");

        assertEquals(200, r.statusCode());
        assertEquals("ok\n", r.body());
    }

    @Test
    void metricsArePrometheusTextWithTheMediaCounters() throws Exception {
        HttpResponse<String> r = get("/metrics");

        assertEquals(200, r.statusCode());
        assertTrue(contentType(r).startsWith("text/plain; version=0.0.4"), contentType(r));
        String body = r.body();
        for (String name : new String[] {"sfu_packets_dropped_total", "sfu_dtls_handshakes_total", "sfu_rooms",
                "sfu_participants", "sfu_packets_in_total", "sfu_packets_out_total"}) {
            assertTrue(body.contains("\n" + name + "{") || body.contains("\n" + name + " "), name + " in:\n" + body);
        }
        assertTrue(body.contains("# TYPE sfu_packets_dropped_total counter"), body);
        assertTrue(body.contains("sfu_dtls_handshakes_total{result=\"success\"}"), body);
        assertTrue(body.contains("sfu_dtls_handshakes_total{result=\"failure\"}"), body);
    }

    // ------------------------------------------------------------------ /token

    @ParameterizedTest
    @ValueSource(strings = {"/token", "/token?room=r1", "/token?identity=alice", "/token?room=&identity=alice",
            "/token?room=bad%20room&identity=alice", "/token?room=r1&identity=%20"})
    void tokenWithoutValidRoomAndIdentityIs400(String pathAndQuery) throws Exception {
        HttpResponse<String> r = get(pathAndQuery);

        assertEquals(400, r.statusCode());
        assertEquals("application/json", contentType(r));
        assertTrue(WsClient.JSON.readTree(r.body()).get("error").isTextual(), r.body());
    }

    @Test
    void tokenInDevelopmentModeIsSignedWithTheDevKeyAndVerifies() throws Exception {
        HttpResponse<String> r = get("/token?room=demo-1&identity=alice&name=Alice%20A.");

        assertEquals(200, r.statusCode());
        assertEquals("application/json", contentType(r));
        JsonNode body = WsClient.JSON.readTree(r.body());
        TokenService verifier = new TokenService(Map.of(SignalingProtocolTest.KID, SignalingProtocolTest.SECRET),
                Clock.systemUTC());
        AccessToken t = verifier.verify(body.get("token").asText());
        assertEquals("alice", t.identity());
        assertEquals("demo-1", t.room());
        assertEquals("Alice A.", t.name());
        assertEquals(Grants.ALL, t.grants());
    }

    @Test
    void tokenFromTheEndpointJoinsTheNode() throws Exception {
        String token = WsClient.JSON.readTree(get("/token?room=demo-2&identity=bob").body()).get("token").asText();

        try (WsClient c = WsClient.joined(node.httpAddress(), token)) {
            c.pingPong();
        }
    }

    @Test
    void tokenIs404OutsideDevelopmentMode() throws Exception {
        SfuConfig config = SignalingProtocolTest.devConfig();
        config.dev = false;
        try (SfuNode production = new SfuNode(config)) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(
                    uri(production.httpAddress(), "/token?room=r1&identity=alice")).GET());
            assertEquals(404, r.statusCode());
            assertEquals(200, send(HttpRequest.newBuilder(uri(production.httpAddress(), "/health")).GET()).statusCode());
        }
    }

    // ------------------------------------------------------------------ /admin

    @ParameterizedTest
    @ValueSource(strings = {"/admin", "/admin/rooms", "/admin/rooms/demo", "/admin/links", "/admin/drain"})
    void adminPathsAre404WhileTheAdminApiIsOff(String path) throws Exception {
        for (String method : new String[] {"GET", "POST", "DELETE"}) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(uri(node.httpAddress(), path))
                    .header("Authorization", "Bearer " + AdminApiTest.ADMIN_KEY)
                    .method(method, HttpRequest.BodyPublishers.noBody()));
            assertEquals(404, r.statusCode(), method + " " + path);
        }
        assertEquals(200, get("/health").statusCode(), "POST /admin/drain did nothing");
    }

    // ------------------------------------------------------------------ methods

    @ParameterizedTest
    @ValueSource(strings = {"/", "/health", "/metrics", "/token?room=r1&identity=alice", "/sdk/cascade-sfu.js"})
    void postIs405(String path) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri(node.httpAddress(), path))
                .POST(HttpRequest.BodyPublishers.ofString("x=1")));

        assertEquals(405, r.statusCode());
    }

    @Test
    void otherMethodsAre405() throws Exception {
        assertEquals(405, rawStatus("DELETE", "/health"));
        assertEquals(405, rawStatus("PUT", "/"));
    }
}
