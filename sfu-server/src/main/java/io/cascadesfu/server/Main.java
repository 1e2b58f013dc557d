package io.cascadesfu.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/** {@code java -jar sfu-server.jar [--config FILE]}, or {@code java -jar sfu-server.jar token ...} ({@link TokenTool}). */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length > 0 && args[0].equals("token")) {
            System.exit(TokenTool.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.getenv(),
                    java.time.Clock.systemUTC(), System.out, System.err));
            return;
        }
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            // Leak tracking costs a sampled record per pooled buffer; tests turn it up to paranoid,
            // production runs without it unless the operator asks (-Dio.netty.leakDetection.level=simple).
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        usage("--config needs a file");
                    }
                    configFile = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    usage(null);
                }
                default -> usage("unknown argument " + args[i]);
            }
        }
        SfuConfig config;
        try {
            config = SfuConfig.load(configFile, System.getenv());
        } catch (SfuConfig.ConfigException e) {
            System.err.println("configuration error: " + e.getMessage());
            System.exit(2);
            return;
        }
        SfuNode node;
        try {
            node = new SfuNode(config);
        } catch (RuntimeException e) {
            System.err.println("cannot start: " + e);
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close(); // Ctrl-C, or the end of a drain: idempotent
            stopped.countDown();
        }, "sfu-shutdown"));
        // SIGTERM drains: clients are told to move, the node waits for them (drain.timeoutSeconds), then exits 0.
        // A second SIGTERM exits at once.
        java.util.concurrent.atomic.AtomicInteger terms = new java.util.concurrent.atomic.AtomicInteger();
        Duration drainTimeout = Duration.ofSeconds(config.drain.timeoutSeconds);
        node.onDrained(() -> System.exit(0)); // after SIGTERM or POST /admin/drain
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), signal -> {
                if (terms.incrementAndGet() > 1) {
                    System.err.println("second SIGTERM: exiting now");
                    Runtime.getRuntime().halt(0);
                }
                node.startDrain(drainTimeout);
            });
        } catch (IllegalArgumentException e) {
            System.err.println("SIGTERM cannot be handled here; it stops the node without draining");
        }
        stopped.await();
    }

    private static void usage(String error) {
        if (error != null) {
            System.err.println(error);
        }
        System.err.println("usage: java -jar sfu-server.jar [--config FILE]");
        System.err.println("       java -jar sfu-server.jar token --help   (prints a join token)");
        System.err.println("  without --config: development mode on 127.0.0.1 (http 7880, media udp 10000)");
        System.err.println("  environment: SFU_DEV SFU_HTTP_BIND SFU_HTTP_PORT SFU_MEDIA_BIND SFU_MEDIA_PORT SFU_ADVERTISE");
        System.err.println("               SFU_KEYS=kid:secret,... SFU_CONSENT_TIMEOUT_SECONDS SFU_DTLS_CERTIFICATE");
        System.err.println("               SFU_DTLS_PRIVATE_KEY SFU_VIDEO_CODECS SFU_MAX_PARTICIPANTS SFU_LOG_LEVEL");
        System.err.println("               SFU_ADMIN_KEY (turns on the admin API, docs/ADMIN.md)");
        System.exit(error == null ? 0 : 2);
    }
}
