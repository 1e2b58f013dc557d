package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.auth0.jwt.JWT;
import io.cascadesfu.signaling.auth.AccessToken;
import io.cascadesfu.signaling.auth.Grants;
import io.cascadesfu.signaling.auth.TokenService;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code java -jar sfu-server.jar token ...}: what it prints verifies as the node's own tokens do. */
@Timeout(60)
class TokenToolTest {
    static final String KID = SignalingProtocolTest.KID;
    static final String SECRET = SignalingProtocolTest.SECRET;
    static final Instant NOW = Instant.parse("2030-01-02T03:04:05Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    static Run run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = TokenTool.run(args, env, CLOCK, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Run run(String... args) {
        return run(Map.of(), args);
    }

    /** The printed token, verified with {@code keys} at the tool's clock. */
    static AccessToken verify(Run r, Map<String, String> keys) throws Exception {
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().endsWith("\n") && r.out().indexOf('\n') == r.out().length() - 1, "one line: " + r.out());
        return new TokenService(keys, CLOCK).verify(r.out().trim());
    }

    private Path config(String text) throws Exception {
        Path file = dir.resolve("sfu.yaml");
        Files.writeString(file, text);
        return file;
    }

    // ------------------------------------------------------------------ tokens

    @Test
    void keyIdAndSecretSignATokenForTheRoomAndIdentityValidSixHours() throws Exception {
        Run r = run("--key-id", KID, "--secret", SECRET, "--room", "demo", "--identity", "alice");

        AccessToken t = verify(r, Map.of(KID, SECRET));
        assertEquals("alice", t.identity());
        assertEquals("demo", t.room());
        assertEquals("alice", t.name(), "the name defaults to the identity");
        assertEquals(Grants.ALL, t.grants());
        assertEquals(NOW.plus(Duration.ofHours(6)), t.expiresAt());
        assertEquals(KID, JWT.decode(r.out().trim()).getKeyId());
        assertEquals("HS256", JWT.decode(r.out().trim()).getAlgorithm());
    }

    @Test
    void nameTtlAndGrantsAreTaken() throws Exception {
        AccessToken t = verify(run("--key-id", KID, "--secret", SECRET, "--room", "r.1", "--identity", "bob",
                "--name", "Bob B.", "--ttl", "90s", "--grants", "subscribe"), Map.of(KID, SECRET));

        assertEquals("Bob B.", t.name());
        assertEquals(NOW.plusSeconds(90), t.expiresAt());
        assertEquals(new Grants(false, true), t.grants());
    }

    @ParameterizedTest
    @ValueSource(strings = {"publish,subscribe", "subscribe,publish", "publish", "subscribe", "none"})
    void grantsListsGiveThoseGrants(String list) throws Exception {
        Grants g = verify(run("--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i", "--grants", list),
                Map.of(KID, SECRET)).grants();

        assertEquals(list.contains("publish"), g.publish(), list);
        assertEquals(list.contains("subscribe"), g.subscribe(), list);
    }

    @Test
    void ttlUnits() {
        assertEquals(Duration.ofSeconds(45), TokenTool.parseTtl("45s"));
        assertEquals(Duration.ofMinutes(30), TokenTool.parseTtl("30m"));
        assertEquals(Duration.ofHours(6), TokenTool.parseTtl("6h"));
        assertEquals(Duration.ofDays(366), TokenTool.parseTtl("366d"));
        for (String bad : List.of("", "6", "h", "0h", "-1h", "1.5h", "6H", "367d", "9999999999h", "6 h", "6hours")) {
            assertNull(TokenTool.parseTtl(bad), bad);
        }
    }

    @Test
    void configFileWithOneKeySignsWithIt() throws Exception {
        Path file = config("auth:\n  keys:\n    main: \"" + SECRET + "\"\n");

        AccessToken t = verify(run("--config", file.toString(), "--room", "demo", "--identity", "carol"),
                Map.of("main", SECRET));

        assertEquals("carol", t.identity());
        assertEquals("main", JWT.decode(run("--config", file.toString(), "--room", "demo", "--identity", "carol")
                .out().trim()).getKeyId());
    }

    @Test
    void configFileWithSeveralKeysNeedsKeyIdAndTheEnvironmentAppliesAsOnTheNode() throws Exception {
        String other = "another-secret-of-more-than-32-characters";
        Path file = config("auth:\n  keys:\n    a: \"" + SECRET + "\"\n    b: \"" + other + "\"\n");

        Run ambiguous = run("--config", file.toString(), "--room", "demo", "--identity", "dave");
        assertEquals(2, ambiguous.exit());
        assertEquals("", ambiguous.out());
        assertTrue(ambiguous.err().contains("--key-id") && ambiguous.err().contains("[a, b]"), ambiguous.err());

        verify(run("--config", file.toString(), "--key-id", "b", "--room", "demo", "--identity", "dave"),
                Map.of("b", other));
        Run unknown = run("--config", file.toString(), "--key-id", "c", "--room", "demo", "--identity", "dave");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().contains("no key c"), unknown.err());
        // SFU_KEYS replaces the file's keys, as it does for the node.
        verify(run(Map.of("SFU_KEYS", "env:" + other), "--config", file.toString(), "--room", "demo",
                "--identity", "dave"), Map.of("env", other));
    }

    @Test
    void badConfigFileIsAConfigurationError() throws Exception {
        Run missing = run("--config", dir.resolve("nope.yaml").toString(), "--room", "r", "--identity", "i");
        assertEquals(2, missing.exit());
        assertTrue(missing.err().startsWith("configuration error:") && missing.err().contains("does not exist"),
                missing.err());

        Run noKeys = run("--config", config("dev: true\n").toString(), "--room", "r", "--identity", "i");
        assertEquals(2, noKeys.exit());
        assertTrue(noKeys.err().contains("no auth.keys"), noKeys.err());
        assertEquals("", noKeys.out());
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void refusedArgumentsPrintUsageOnStderrAndExit2() {
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[] {});
        cases.add(new String[] {"--room", "r", "--identity", "i"}); // no key
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--identity", "i"}); // no room
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r"}); // no identity
        cases.add(new String[] {"--secret", SECRET, "--room", "r", "--identity", "i"}); // no key id
        cases.add(new String[] {"--key-id", KID, "--secret", "short", "--room", "r", "--identity", "i"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--config", "x.yaml", "--room", "r",
                "--identity", "i"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "bad room", "--identity", "i"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", " "});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "x".repeat(65)});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i", "--name",
                "n".repeat(65)});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i", "--ttl", "6"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i", "--grants",
                "admin"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i", "--grants",
                "publish,"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i", "--bogus"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i", "--room", "s"});
        cases.add(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "r", "--identity"});
        cases.add(new String[] {"extra", "--key-id", KID, "--secret", SECRET, "--room", "r", "--identity", "i"});
        for (String[] args : cases) {
            Run r = run(args);
            String what = String.join(" ", args);
            assertEquals(2, r.exit(), what);
            assertEquals("", r.out(), what);
            assertTrue(r.err().contains("usage: java -jar sfu-server.jar token"), what + ": " + r.err());
            assertFalse(r.err().contains(SECRET), "the secret is not echoed: " + r.err());
        }
    }

    @Test
    void helpGoesToStdoutWithExit0() {
        Run r = run("--help");

        assertEquals(0, r.exit());
        assertTrue(r.out().contains("--grants"), r.out());
    }

    // ------------------------------------------------------------------ with the node

    @Test
    void nodeAcceptsTheToolsTokenForAJoin() throws Exception {
        SfuConfig config = SignalingProtocolTest.devConfig();
        config.dev = false;
        try (SfuNode node = new SfuNode(config)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int exit = TokenTool.run(new String[] {"--key-id", KID, "--secret", SECRET, "--room", "tool-room",
                    "--identity", "erin", "--name", "Erin", "--ttl", "5m"}, Map.of(), Clock.systemUTC(),
                    new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
            assertEquals(0, exit);

            try (WsClient c = WsClient.connect(node.httpAddress())) {
                c.send("type", "join", "token", out.toString(StandardCharsets.UTF_8).trim(), "protocol", 1);
                var joined = c.next("joined");
                assertEquals("tool-room", joined.get("room").asText());
                assertEquals("erin", joined.get("identity").asText());
                c.pingPong();
            }
        }
    }

    @Test
    void mainRunsTheTokenSubcommandInItsOwnProcess() throws Exception {
        Process ok = java("token", "--key-id", KID, "--secret", SECRET, "--room", "demo", "--identity", "frank");
        String token = new String(ok.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, waitFor(ok));
        assertEquals("frank", new TokenService(Map.of(KID, SECRET), Clock.systemUTC()).verify(token).identity());

        Process bad = java("token", "--room", "demo");
        String err = new String(bad.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, waitFor(bad));
        assertTrue(err.contains("usage: java -jar sfu-server.jar token"), err);
    }

    private static Process java(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
    }

    private static int waitFor(Process p) throws InterruptedException {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the tool did not exit within 30 s");
        }
        return p.exitValue();
    }
}
