package io.cascadesfu.cascade.fleet;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} of the test's own, on 127.0.0.1 and a free port, without persistence (a restart
 * starts empty, like a Redis that lost its data). Killed with SIGKILL to play an outage; started again on the same
 * port.
 */
public final class RedisServerProcess implements AutoCloseable {
    private static final List<String> CANDIDATES = List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server",
            "/usr/sbin/redis-server");

    private final String binary;
    private final int port;
    private final Path dir;
    private Process process;

    private RedisServerProcess(String binary, int port, Path dir) {
        this.binary = binary;
        this.port = port;
        this.dir = dir;
    }

    /** Starts one, or skips the test when there is no {@code redis-server} (scripts/ensure-test-deps.sh installs it). */
    public static RedisServerProcess start() throws Exception {
        String binary = binary();
        assumeTrue(binary != null, "redis-server is not installed (apt-get install -y redis-server, or run "
                + "scripts/ensure-test-deps.sh): the fleet registry tests need a real one");
        RedisServerProcess r = new RedisServerProcess(binary, freePort(), Files.createTempDirectory("fleet-redis"));
        r.restart();
        return r;
    }

    private static String binary() {
        for (String c : CANDIDATES) {
            if (Files.isExecutable(Path.of(c))) {
                return c;
            }
        }
        String path = System.getenv("PATH");
        for (String d : path == null ? new String[0] : path.split(":")) {
            Path p = Path.of(d, "redis-server");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Starts it (again, on the same port) and waits until it answers PING, at most 10 s. */
    public void restart() throws Exception {
        if (process != null && process.isAlive()) {
            return;
        }
        process = new ProcessBuilder(binary, "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--daemonize", "no",
                "--loglevel", "warning")
                .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!answersPing()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String out = Files.exists(dir.resolve("redis.log")) ? Files.readString(dir.resolve("redis.log")) : "";
                process.destroyForcibly();
                throw new IllegalStateException("redis-server on port " + port + " did not start: " + out);
            }
            Thread.sleep(50);
        }
    }

    /** Kills it at once (SIGKILL), as a crash or a network cut would end it. */
    public void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private boolean answersPing() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            s.setSoTimeout(500);
            OutputStream o = s.getOutputStream();
            o.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream i = s.getInputStream();
            byte[] b = new byte[7];
            int n = i.readNBytes(b, 0, 7);
            return n == 7 && new String(b, StandardCharsets.US_ASCII).equals("+PONG\r\n");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() throws Exception {
        kill();
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }
}
