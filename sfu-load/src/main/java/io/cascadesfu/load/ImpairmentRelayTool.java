package io.cascadesfu.load;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -cp sfu-load.jar io.cascadesfu.load.ImpairmentRelayTool --listen 127.0.0.1:10099 --target
 * 127.0.0.1:10020 --impair delay=31ms}: one {@link ImpairmentRelay} as its own process, until it is terminated,
 * e.g. in front of a node's media port so that relay links to that node cross an emulated backbone
 * (scripts/cascade-bench.sh). On exit it prints what it forwarded and dropped per direction.
 *
 * <p>Exit status: 2 on a bad command line; otherwise it runs until killed.
 */
public final class ImpairmentRelayTool {
    static final String USAGE = """
            usage: java -cp sfu-load.jar io.cascadesfu.load.ImpairmentRelayTool --listen HOST:PORT --target HOST:PORT
                   [--impair SPEC | --impair-up SPEC --impair-down SPEC]

              --listen HOST:PORT   where senders send instead of the target
              --target HOST:PORT   where the relay forwards to (e.g. a node's media port)
              --impair SPEC        both directions, e.g. delay=31ms,jitter=1ms,loss=0.01%
              --impair-up SPEC     sender -> target only
              --impair-down SPEC   target -> sender only
            """;

    private ImpairmentRelayTool() {
    }

    /** The parsed command line. */
    record Options(InetSocketAddress listen, InetSocketAddress target, Impairment up, Impairment down) {
    }

    static Options parse(String... args) {
        InetSocketAddress listen = null;
        InetSocketAddress target = null;
        Impairment up = Impairment.NONE;
        Impairment down = Impairment.NONE;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(arg + " needs a value");
            }
            String value = args[++i];
            switch (arg) {
                case "--listen" -> listen = LoadOptions.parseHostPort(value);
                case "--target" -> target = LoadOptions.parseHostPort(value);
                case "--impair" -> {
                    up = Impairment.parse(value);
                    down = up;
                }
                case "--impair-up" -> up = Impairment.parse(value);
                case "--impair-down" -> down = Impairment.parse(value);
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        }
        if (listen == null || target == null) {
            throw new IllegalArgumentException("--listen and --target are required");
        }
        return new Options(listen, target, up, down);
    }

    public static void main(String[] args) throws InterruptedException {
        PrintStream out = System.out;
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("impairment relay: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        ImpairmentRelay relay = ImpairmentRelay.start(o.listen(), o.target(), o.up(), o.down());
        out.println(relay);
        out.flush();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.printf("relay %s: up %d forwarded %d dropped, down %d forwarded %d dropped%n", relay.address(),
                    relay.upForwarded(), relay.upDropped(), relay.downForwarded(), relay.downDropped());
            out.flush();
            relay.close();
            done.countDown();
        }, "relay-shutdown"));
        done.await();
    }
}
