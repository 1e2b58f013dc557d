package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SfuConfigTest {
    static final String SECRET = "0123456789abcdef0123456789abcdef";
    static final Path EXAMPLE = Path.of("../config/sfu.example.yaml");

    @TempDir
    Path dir;

    private Path yaml(String text) throws IOException {
        Path file = dir.resolve("sfu.yaml");
        Files.writeString(file, text);
        return file;
    }

    private static String refused(Path file, Map<String, String> env) {
        return assertThrows(SfuConfig.ConfigException.class, () -> SfuConfig.load(file, env)).getMessage();
    }

    // ------------------------------------------------------------------ TURN and drain

    @Test
    void turnNeedsASecretAndWellFormedUrls() {
        SfuConfig c = SfuConfig.load(null, Map.of("SFU_TURN_URLS", "turn:10.0.0.1:3478?transport=udp,turns:t.example:443",
                "SFU_TURN_SECRET", "0123456789abcdef", "SFU_TURN_TTL_SECONDS", "600"));
        assertEquals(List.of("turn:10.0.0.1:3478?transport=udp", "turns:t.example:443"), c.turn.urls);
        assertEquals(600, c.turn.ttlSeconds);
        assertTrue(refused(null, Map.of("SFU_TURN_URLS", "turn:10.0.0.1:3478")).contains("turn.secret"));
        assertTrue(refused(null, Map.of("SFU_TURN_URLS", "http://x", "SFU_TURN_SECRET", "0123456789abcdef"))
                .contains("turn.urls"));
        assertTrue(refused(null, Map.of("SFU_TURN_URLS", "turn:x", "SFU_TURN_SECRET", "0123456789abcdef",
                "SFU_TURN_TTL_SECONDS", "5")).contains("turn.ttlSeconds"));
    }

    @Test
    void drainTimeoutIsBounded() {
        assertEquals(30, SfuConfig.load(null, Map.of()).drain.timeoutSeconds);
        assertEquals(0, SfuConfig.load(null, Map.of("SFU_DRAIN_TIMEOUT_SECONDS", "0")).drain.timeoutSeconds);
        assertTrue(refused(null, Map.of("SFU_DRAIN_TIMEOUT_SECONDS", "-1")).contains("drain.timeoutSeconds"));
    }

    // ------------------------------------------------------------------ defaults

    @Test
    void withoutAFileTheNodeIsInDevelopmentModeOnLoopbackWithDefaultPorts() {
        SfuConfig c = SfuConfig.load(null, Map.of());

        assertTrue(c.dev);
        assertEquals("127.0.0.1", c.http.bind);
        assertEquals(7880, c.http.port);
        assertEquals(256 * 1024, c.http.maxMessageBytes);
        assertEquals("127.0.0.1", c.media.bind);
        assertEquals(10000, c.media.port);
        assertEquals(List.of(), c.media.advertise);
        assertEquals(30, c.media.consentTimeoutSeconds);
        assertEquals(10, c.media.dtlsHandshakeTimeoutSeconds);
        assertNull(c.dtls.certificate);
        assertNull(c.dtls.privateKey);
        assertEquals(Map.of(), c.auth.keys);
        assertEquals("dev", c.auth.devKeyId);
        assertEquals(100, c.rooms.maxParticipants);
        assertEquals(64, c.rooms.maxSubscribeSections);
        assertEquals(List.of("VP8", "H264"), c.codecs.video);
    }

    // ------------------------------------------------------------------ file

    @Test
    void yamlFileSetsEveryField() throws IOException {
        SfuConfig c = SfuConfig.load(yaml("""
                dev: true
                http:
                  bind: 0.0.0.0
                  port: 8443
                  maxMessageBytes: 65536
                media:
                  bind: 10.0.0.5
                  port: 20000
                  advertise: [203.0.113.10, 198.51.100.7]
                  consentTimeoutSeconds: 45
                  dtlsHandshakeTimeoutSeconds: 20
                dtls:
                  certificate: /etc/sfu/dtls.crt
                  privateKey: /etc/sfu/dtls.key
                auth:
                  keys:
                    main: "%s"
                    backup: "%s-2"
                  devKeyId: main
                rooms:
                  maxParticipants: 8
                  maxSubscribeSections: 12
                codecs:
                  video: [H264]
                """.formatted(SECRET, SECRET)), Map.of());

        assertTrue(c.dev);
        assertEquals("0.0.0.0", c.http.bind);
        assertEquals(8443, c.http.port);
        assertEquals(65536, c.http.maxMessageBytes);
        assertEquals("10.0.0.5", c.media.bind);
        assertEquals(20000, c.media.port);
        assertEquals(List.of("203.0.113.10", "198.51.100.7"), c.media.advertise);
        assertEquals(45, c.media.consentTimeoutSeconds);
        assertEquals(20, c.media.dtlsHandshakeTimeoutSeconds);
        assertEquals("/etc/sfu/dtls.crt", c.dtls.certificate);
        assertEquals("/etc/sfu/dtls.key", c.dtls.privateKey);
        assertEquals(Map.of("main", SECRET, "backup", SECRET + "-2"), c.auth.keys);
        assertEquals(List.of("main", "backup"), List.copyOf(c.auth.keys.keySet()), "key order is kept");
        assertEquals("main", c.auth.devKeyId);
        assertEquals(8, c.rooms.maxParticipants);
        assertEquals(12, c.rooms.maxSubscribeSections);
        assertEquals(List.of("H264"), c.codecs.video);
    }

    @Test
    void withAFileDevelopmentModeIsOffUnlessSet() throws IOException {
        SfuConfig c = SfuConfig.load(yaml("auth:\n  keys:\n    k: \"" + SECRET + "\"\n"), Map.of());

        assertFalse(c.dev);
        assertEquals(7880, c.http.port, "unset fields keep their defaults");
        assertEquals(10000, c.media.port);
        assertEquals(List.of("VP8", "H264"), c.codecs.video);
    }

    @Test
    void exampleConfigOfTheRepositoryExistsAndNamesEveryEnvironmentVariable() throws IOException {
        String text = Files.readString(EXAMPLE);
        for (String env : List.of("SFU_DEV", "SFU_HTTP_BIND", "SFU_HTTP_PORT", "SFU_MEDIA_BIND", "SFU_MEDIA_PORT",
                "SFU_ADVERTISE", "SFU_CONSENT_TIMEOUT_SECONDS", "SFU_DTLS_CERTIFICATE", "SFU_DTLS_PRIVATE_KEY",
                "SFU_KEYS", "SFU_VIDEO_CODECS", "SFU_PUBLIC_URL", "SFU_REDIS_URL", "SFU_CLUSTER_ADVERTISE")) {
            assertTrue(text.contains(env), env + " documented in " + EXAMPLE);
        }
    }

    @Test
    void exampleConfigOfTheRepositoryLoads() {
        SfuConfig c = SfuConfig.load(EXAMPLE, Map.of());

        assertFalse(c.dev);
        assertEquals(7880, c.http.port);
        assertEquals(10000, c.media.port);
        assertEquals(List.of("main"), List.copyOf(c.auth.keys.keySet()));
        assertNull(c.dtls.certificate);
    }

    @Test
    void emptySectionKeepsItsDefaults() throws IOException {
        SfuConfig c = SfuConfig.load(yaml("dev: true\nhttp:\n  # port: 7881\nmedia:\n"), Map.of());

        assertEquals(7880, c.http.port);
        assertEquals(10000, c.media.port);
    }

    @Test
    void fileWithOnlyCommentsIsAllDefaultsAndTheEnvironmentStillApplies() throws IOException {
        SfuConfig c = SfuConfig.load(yaml("# all settings from the environment\n"), Map.of("SFU_KEYS", "k:" + SECRET));

        assertFalse(c.dev);
        assertEquals(Map.of("k", SECRET), c.auth.keys);
    }

    // ------------------------------------------------------------------ environment

    @Test
    void environmentOverridesDefaultsAndFile() throws IOException {
        Path file = yaml("""
                http:
                  port: 8000
                media:
                  port: 9000
                  advertise: [192.0.2.1]
                auth:
                  keys:
                    fromfile: "%s"
                """.formatted(SECRET));

        SfuConfig c = SfuConfig.load(file, Map.of(
                "SFU_HTTP_PORT", " 8080 ",
                "SFU_MEDIA_PORT", "10500",
                "SFU_ADVERTISE", "203.0.113.10, 198.51.100.7,,",
                "SFU_HTTP_BIND", "0.0.0.0",
                "SFU_MEDIA_BIND", "::",
                "SFU_CONSENT_TIMEOUT_SECONDS", "60",
                "SFU_VIDEO_CODECS", "h264,vp8",
                "SFU_KEYS", "a:" + SECRET + ", b:" + SECRET + ":with:colons"));

        assertEquals(8080, c.http.port);
        assertEquals(10500, c.media.port);
        assertEquals(List.of("203.0.113.10", "198.51.100.7"), c.media.advertise);
        assertEquals("0.0.0.0", c.http.bind);
        assertEquals("::", c.media.bind);
        assertEquals(60, c.media.consentTimeoutSeconds);
        assertEquals(List.of("h264", "vp8"), c.codecs.video);
        assertEquals(Map.of("a", SECRET, "b", SECRET + ":with:colons"), c.auth.keys, "SFU_KEYS replaces the file's keys");
        assertFalse(c.dev);
    }

    @Test
    void dtlsFilesComeFromTheEnvironmentTogether() {
        SfuConfig c = SfuConfig.load(null, Map.of("SFU_DTLS_CERTIFICATE", "/c.pem", "SFU_DTLS_PRIVATE_KEY", "/k.pem"));

        assertEquals("/c.pem", c.dtls.certificate);
        assertEquals("/k.pem", c.dtls.privateKey);
        assertTrue(refused(null, Map.of("SFU_DTLS_CERTIFICATE", "/c.pem")).contains("dtls.certificate and dtls.privateKey"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"true", "TRUE", "1", "yes", " yes "})
    void sfuDevTurnsDevelopmentModeOn(String value) throws IOException {
        Path file = yaml("http:\n  port: 7000\n");
        assertTrue(SfuConfig.load(file, Map.of("SFU_DEV", value)).dev);
    }

    @ParameterizedTest
    @ValueSource(strings = {"false", "0", "no", "No"})
    void sfuDevTurnsDevelopmentModeOff(String value) {
        SfuConfig c = SfuConfig.load(null, Map.of("SFU_DEV", value, "SFU_KEYS", "k:" + SECRET));
        assertFalse(c.dev);
    }

    @Test
    void sfuDevThatIsNotABooleanIsRefused() {
        String message = refused(null, Map.of("SFU_DEV", "maybe"));
        assertTrue(message.contains("SFU_DEV") && message.contains("maybe"), message);
    }

    @Test
    void sfuDevFalseWithoutKeysIsRefused() {
        assertTrue(refused(null, Map.of("SFU_DEV", "false")).contains("auth.keys is empty"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"nocolon", ":secretwithoutkid0123456789abcdef0123", "kid:", "good:" + SECRET + ",bad"})
    void malformedSfuKeysIsRefusedNamingTheBadPair(String value) {
        String message = refused(null, Map.of("SFU_KEYS", value));
        assertTrue(message.startsWith("SFU_KEYS: expected kid:secret"), message);
    }

    @Test
    void portThatIsNotANumberIsRefusedNamingTheVariable() {
        String message = refused(null, Map.of("SFU_HTTP_PORT", "http"));
        assertTrue(message.contains("SFU_HTTP_PORT") && message.contains("\"http\""), message);
        assertTrue(refused(null, Map.of("SFU_CONSENT_TIMEOUT_SECONDS", "1m")).contains("SFU_CONSENT_TIMEOUT_SECONDS"));
    }

    // ------------------------------------------------------------------ validation

    @Test
    void portsOutOfRangeAreRefused() throws IOException {
        assertEquals("http.port must be between 0 and 65535, got 70000",
                refused(yaml("dev: true\nhttp:\n  port: 70000\n"), Map.of()));
        assertEquals("media.port must be between 0 and 65535, got -1", refused(null, Map.of("SFU_MEDIA_PORT", "-1")));
        assertEquals(0, SfuConfig.load(null, Map.of("SFU_HTTP_PORT", "0", "SFU_MEDIA_PORT", "0")).http.port);
        assertEquals(65535, SfuConfig.load(null, Map.of("SFU_MEDIA_PORT", "65535", "SFU_MEDIA_WORKERS", "1")).media.port);
        assertEquals("media.port 65535 + 2 workers needs ports up to 65536, above 65535",
                refused(null, Map.of("SFU_MEDIA_PORT", "65535", "SFU_MEDIA_WORKERS", "2")));
    }

    @Test
    void iceTcpIsOffUnlessAPortIsGiven() throws IOException {
        assertEquals(0, SfuConfig.load(null, Map.of()).media.tcpPort);
        assertEquals(10443, SfuConfig.load(null, Map.of("SFU_MEDIA_TCP_PORT", "10443")).media.tcpPort);
        assertEquals(4443, SfuConfig.load(yaml("dev: true\nmedia:\n  tcpPort: 4443\n"), Map.of()).media.tcpPort);
        assertEquals("media.tcpPort must be between 0 and 65535, got 70000",
                refused(null, Map.of("SFU_MEDIA_TCP_PORT", "70000")));
        assertEquals("media.tcpPort and http.port are both 7880",
                refused(null, Map.of("SFU_MEDIA_TCP_PORT", "7880")));
    }

    @Test
    void mediaWorkersDefaultToOnePerCoreAndPlacementIsConfigurable() throws IOException {
        SfuConfig defaults = SfuConfig.load(null, Map.of());
        assertEquals(Runtime.getRuntime().availableProcessors(), defaults.media.workerCount());
        assertEquals(100, defaults.media.placement.memberBudget);
        SfuConfig c = SfuConfig.load(yaml("dev: true\nmedia:\n  workers: 3\n  placement:\n    memberBudget: 7\n"
                + "    spread: true\n"), Map.of());
        assertEquals(3, c.media.workerCount());
        assertEquals(7, c.media.placement.memberBudget);
        assertEquals(true, c.media.placement.spread);
        SfuConfig env = SfuConfig.load(null, Map.of("SFU_MEDIA_WORKERS", "4", "SFU_PLACEMENT_SPREAD", "true",
                "SFU_PLACEMENT_MEMBER_BUDGET", "9"));
        assertEquals(4, env.media.workerCount());
        assertEquals(9, env.media.placement.memberBudget);
        assertEquals(true, env.media.placement.spread);
        assertEquals("media.workers must be between 0 (one per core) and 256",
                refused(null, Map.of("SFU_MEDIA_WORKERS", "-1")));
        assertEquals("media.placement.memberBudget must be at least 1",
                refused(null, Map.of("SFU_PLACEMENT_MEMBER_BUDGET", "0")));
        assertEquals("SFU_PLACEMENT_SPREAD must be true or false, got \"maybe\"",
                refused(null, Map.of("SFU_PLACEMENT_SPREAD", "maybe")));
        assertEquals(300, defaults.media.keyframeRequestIntervalMs);
        assertEquals(1000, SfuConfig.load(null, Map.of("SFU_KEYFRAME_REQUEST_INTERVAL_MS", "1000"))
                .media.keyframeRequestIntervalMs);
        assertEquals("media.keyframeRequestIntervalMs must be between 50 and 10000",
                refused(null, Map.of("SFU_KEYFRAME_REQUEST_INTERVAL_MS", "10")));
    }

    @Test
    void secretShorterThan32CharactersIsRefusedNamingItsKey() throws IOException {
        String message = refused(null, Map.of("SFU_KEYS", "main:" + SECRET.substring(1)));
        assertEquals("auth.keys.main: secrets must be at least 32 characters", message);
        assertTrue(refused(yaml("dev: true\nauth:\n  keys:\n    short: abc\n"), Map.of()).contains("auth.keys.short"));
    }

    @Test
    void nonDevelopmentModeWithoutKeysIsRefused() throws IOException {
        String message = refused(yaml("dev: false\n"), Map.of());
        assertTrue(message.contains("auth.keys is empty"), message);
    }

    @Test
    void unknownSettingIsRefusedNamingIt() throws IOException {
        String top = refused(yaml("dev: true\ndevmode: true\n"), Map.of());
        assertTrue(top.contains("unknown setting \"devmode\""), top);
        String nested = refused(yaml("dev: true\nhttp:\n  prot: 7880\n"), Map.of());
        assertTrue(nested.contains("unknown setting \"prot\""), nested);
        assertTrue(nested.contains("http"), "says where: " + nested);
    }

    @Test
    void missingFileIsRefused() {
        Path missing = dir.resolve("nope.yaml");
        String message = refused(missing, Map.of());
        assertTrue(message.contains("nope.yaml") && message.contains("does not exist"), message);
        assertTrue(refused(dir, Map.of()).contains("does not exist"), "a directory is not a config file");
    }

    @Test
    void invalidYamlIsRefusedWithTheFileAndLine() throws IOException {
        Path file = yaml("dev: true\nhttp:\n  port: [unclosed\n");
        String message = refused(file, Map.of());
        assertTrue(message.startsWith(file.toString()), message);
        assertTrue(message.contains("line"), message);
    }

    @Test
    void valueOfTheWrongTypeIsRefused() throws IOException {
        String message = refused(yaml("dev: true\nhttp:\n  port: seventy\n"), Map.of());
        assertTrue(message.contains("seventy") || message.contains("int"), message);
    }

    @Test
    void otherRangesAreChecked() throws IOException {
        assertTrue(refused(yaml("dev: true\nhttp:\n  maxMessageBytes: 100\n"), Map.of()).contains("http.maxMessageBytes"));
        assertTrue(refused(null, Map.of("SFU_CONSENT_TIMEOUT_SECONDS", "4")).contains("media.consentTimeoutSeconds"));
        assertTrue(refused(yaml("dev: true\nmedia:\n  dtlsHandshakeTimeoutSeconds: 0\n"), Map.of())
                .contains("media.dtlsHandshakeTimeoutSeconds"));
        assertTrue(refused(yaml("dev: true\nrooms:\n  maxParticipants: 0\n"), Map.of()).contains("rooms.maxParticipants"));
    }

    @Test
    void maxSubscribeSectionsComesFromTheEnvironmentAndStaysWithinTheSdpLimit() {
        assertEquals(3, SfuConfig.load(null, Map.of("SFU_MAX_SUBSCRIBE_SECTIONS", "3")).rooms.maxSubscribeSections);
        assertTrue(refused(null, Map.of("SFU_MAX_SUBSCRIBE_SECTIONS", "0")).contains("rooms.maxSubscribeSections"));
        assertTrue(refused(null, Map.of("SFU_MAX_SUBSCRIBE_SECTIONS", "513")).contains("rooms.maxSubscribeSections"));
    }

    // ------------------------------------------------------------------ cluster: public URL, fleet registry

    private static Map<String, String> clusterEnv(String... more) {
        Map<String, String> env = new java.util.HashMap<>(Map.of("SFU_DEV", "true", "SFU_NODE_ID", "n1",
                "SFU_CLUSTER_SECRET", SECRET));
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    @Test
    void withoutRedisTheClusterUsesItsStaticPeersOnly() {
        SfuConfig c = SfuConfig.load(null, clusterEnv("SFU_CLUSTER_PEERS", "n2@10.0.0.2:7890"));

        assertTrue(c.cluster.enabled());
        assertFalse(c.cluster.fleetEnabled());
        assertEquals("", c.cluster.publicUrl);
        assertEquals("", c.cluster.redis);
        assertEquals("127.0.0.1", c.cluster.advertisedHost(), "the bind address by default");
    }

    @Test
    void redisPublicUrlAndAdvertiseComeFromTheFileAndTheEnvironment() throws IOException {
        Path file = yaml("""
                dev: true
                cluster:
                  nodeId: n1
                  secret: "%s"
                  bind: 0.0.0.0
                  advertise: 10.0.0.1
                  publicUrl: https://sfu-1.example.org
                  redis: redis://10.0.0.9:6379
                """.formatted(SECRET));
        SfuConfig c = SfuConfig.load(file, Map.of());
        assertTrue(c.cluster.fleetEnabled(), "with Redis, no static peer is needed");
        assertEquals(List.of(), c.cluster.peers);
        assertEquals("https://sfu-1.example.org", c.cluster.publicUrl);
        assertEquals("redis://10.0.0.9:6379", c.cluster.redis);
        assertEquals("10.0.0.1", c.cluster.advertisedHost());

        SfuConfig e = SfuConfig.load(file, Map.of("SFU_PUBLIC_URL", " http://203.0.113.7:7881 ",
                "SFU_REDIS_URL", "rediss://:pw@redis.internal:6380/1", "SFU_CLUSTER_ADVERTISE", "10.0.0.5"));
        assertEquals("http://203.0.113.7:7881", e.cluster.publicUrl);
        assertEquals("rediss://:pw@redis.internal:6380/1", e.cluster.redis);
        assertEquals("10.0.0.5", e.cluster.advertisedHost());
        assertFalse(SfuConfig.load(file, Map.of("SFU_REDIS_URL", "")).cluster.fleetEnabled(), "empty turns it off");
    }

    @Test
    void badFleetSettingsAreRefusedClearly() {
        assertTrue(refused(null, Map.of("SFU_REDIS_URL", "redis://127.0.0.1:6379"))
                .contains("cluster.redis is set but the cluster is off"));
        String badUrl = refused(null, clusterEnv("SFU_REDIS_URL", "127.0.0.1:6379"));
        assertTrue(badUrl.startsWith("cluster.redis: ") && badUrl.contains("redis://"), badUrl);
        String withPassword = refused(null, clusterEnv("SFU_REDIS_URL", "redis://:hunter2@:99999"));
        assertTrue(withPassword.startsWith("cluster.redis") && !withPassword.contains("hunter2"), withPassword);
        assertTrue(refused(null, clusterEnv("SFU_PUBLIC_URL", "203.0.113.7:7881")).contains("cluster.publicUrl"));
        assertTrue(refused(null, clusterEnv("SFU_PUBLIC_URL", "http://h/?room=x")).contains("cluster.publicUrl"));
        String wildcard = refused(null, clusterEnv("SFU_REDIS_URL", "redis://h", "SFU_CLUSTER_BIND", "0.0.0.0"));
        assertTrue(wildcard.contains("cluster.advertise") && wildcard.contains("0.0.0.0"), wildcard);
        assertTrue(refused(null, clusterEnv("SFU_REDIS_URL", "redis://h", "SFU_CLUSTER_BIND", "::"))
                .contains("cluster.advertise"));
        SfuConfig ok = SfuConfig.load(null, clusterEnv("SFU_REDIS_URL", "redis://h", "SFU_CLUSTER_BIND", "0.0.0.0",
                "SFU_CLUSTER_ADVERTISE", "10.0.0.1"));
        assertEquals("10.0.0.1", ok.cluster.advertisedHost());
    }

    @Test
    void unsupportedOrNoVideoCodecIsRefused() {
        assertTrue(refused(null, Map.of("SFU_VIDEO_CODECS", "VP8,THEORA")).contains("\"THEORA\""));
        assertTrue(refused(null, Map.of("SFU_VIDEO_CODECS", " , ")).contains("at least one"));
    }

    // ------------------------------------------------------------------ admin

    @Test
    void adminApiIsOffByDefault() {
        SfuConfig c = SfuConfig.load(null, Map.of());

        assertEquals("", c.admin.key);
        assertFalse(c.admin.enabled());
        assertFalse(SfuConfig.load(EXAMPLE, Map.of()).admin.enabled(), "the example leaves it off");
    }

    @Test
    void adminKeyComesFromTheFileOrTheEnvironment() throws IOException {
        SfuConfig fromFile = SfuConfig.load(yaml("dev: true\nadmin:\n  key: \"" + SECRET + "\"\n"), Map.of());
        assertTrue(fromFile.admin.enabled());
        assertEquals(SECRET, fromFile.admin.key);

        String other = "fedcba9876543210fedcba9876543210-env";
        SfuConfig fromEnv = SfuConfig.load(yaml("dev: true\nadmin:\n  key: \"" + SECRET + "\"\n"),
                Map.of("SFU_ADMIN_KEY", " " + other + "\n"));
        assertEquals(other, fromEnv.admin.key);
    }

    @ParameterizedTest
    @ValueSource(strings = {"short", "0123456789abcdef0123456789abcde", "0123456789abcdef 0123456789abcdef",
            "0123456789abcdef0123456789abcdef\u00e9"})
    void adminKeyShorterThan32OrWithSpacesOrNonAsciiIsRefused(String key) {
        String message = refused(null, Map.of("SFU_ADMIN_KEY", key));
        assertTrue(message.contains("admin.key") && message.contains("SFU_ADMIN_KEY") && message.contains("32"),
                message);
        assertFalse(message.contains(key), "the key is not echoed: " + message);
    }

    @Test
    void exampleConfigDocumentsTheAdminSection() throws IOException {
        String text = Files.readString(EXAMPLE);
        assertTrue(text.contains("\nadmin:\n"), "admin section in " + EXAMPLE);
        assertTrue(text.contains("SFU_ADMIN_KEY"), "SFU_ADMIN_KEY in " + EXAMPLE);
    }

    @Test
    void clusterLinkAdvertiseIsAnIpAndPortFromTheFileOrTheEnvironment() throws IOException {
        Map<String, String> cluster = Map.of("SFU_NODE_ID", "a", "SFU_CLUSTER_SECRET", SECRET);
        assertNull(SfuConfig.load(null, cluster).linkAdvertise(), "empty: the media candidate");

        SfuConfig fromFile = SfuConfig.load(yaml("dev: true\ncluster:\n  linkAdvertise: \"127.0.0.1:10099\"\n"),
                cluster);
        assertEquals(new java.net.InetSocketAddress("127.0.0.1", 10099), fromFile.linkAdvertise());

        java.util.HashMap<String, String> env = new java.util.HashMap<>(cluster);
        env.put("SFU_CLUSTER_LINK_ADVERTISE", " 10.0.0.7:4000 ");
        assertEquals(new java.net.InetSocketAddress("10.0.0.7", 4000), SfuConfig.load(null, env).linkAdvertise());
    }

    @Test
    void aPeerCanBeToldAnAddressOfItsOwnForItsRelayLink() throws IOException {
        java.util.HashMap<String, String> env = new java.util.HashMap<>(Map.of("SFU_NODE_ID", "a",
                "SFU_CLUSTER_SECRET", SECRET, "SFU_CLUSTER_LINK_ADVERTISE_FOR", "b=127.0.0.1:4001, c=10.0.0.8:4002"));
        assertEquals(Map.of("b", new java.net.InetSocketAddress("127.0.0.1", 4001),
                "c", new java.net.InetSocketAddress("10.0.0.8", 4002)), SfuConfig.load(null, env).linkAdvertiseFor());
        SfuConfig fromFile = SfuConfig.load(yaml("dev: true\ncluster:\n  linkAdvertiseFor:\n    b: \"127.0.0.1:4003\"\n"),
                Map.of("SFU_NODE_ID", "a", "SFU_CLUSTER_SECRET", SECRET));
        assertEquals(Map.of("b", new java.net.InetSocketAddress("127.0.0.1", 4003)), fromFile.linkAdvertiseFor());
        for (String bad : new String[] {"b", "b=", "b=relay.example:4000", "b c=127.0.0.1:1"}) {
            String message = refused(null, Map.of("SFU_NODE_ID", "a", "SFU_CLUSTER_SECRET", SECRET,
                    "SFU_CLUSTER_LINK_ADVERTISE_FOR", bad));
            assertTrue(message.contains("SFU_CLUSTER_LINK_ADVERTISE_FOR"), bad + ": " + message);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "relay.example:4000",
            ":4000", "1.2.3:4000", "127.0.0.1:4x"})
    void clusterLinkAdvertiseThatIsNotIpAndPortIsRefusedNamingTheVariable(String value) {
        String message = refused(null, Map.of("SFU_NODE_ID", "a", "SFU_CLUSTER_SECRET", SECRET,
                "SFU_CLUSTER_LINK_ADVERTISE", value));
        assertTrue(message.contains("cluster.linkAdvertise") && message.contains("SFU_CLUSTER_LINK_ADVERTISE"),
                message);
    }

    @Test
    void exampleConfigDocumentsTheLinkAdvertiseSetting() throws IOException {
        String text = Files.readString(EXAMPLE);
        assertTrue(text.contains("linkAdvertise:") && text.contains("SFU_CLUSTER_LINK_ADVERTISE"), EXAMPLE.toString());
    }
}
