package io.cascadesfu.load;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The load tool's command line, parsed and checked once. {@link #parse} throws {@link UsageException} with a
 * message for the user; {@link #USAGE} is the help text.
 */
final class LoadOptions {
    static final String USAGE = """
            usage: java -jar sfu-load.jar --url http://HOST:PORT [--url ...] --participants N [options]

              --url URL              a node's HTTP address; repeat for several nodes (participants are spread
                                     round-robin over them)
              --url-for I=URL        participant I joins this node instead (repeat for others), e.g.
                                     --url-for 0=http://a:7881 puts a webinar's publisher on node a
              --shape SHAPE          meeting (everyone sends audio+video, N x N), webinar (participant 0 of each
                                     room sends audio+video, the others only receive), audio (everyone sends
                                     audio only)                                               [meeting]
              --participants N       simulated participants in total, spread over the rooms          [required]
              --rooms R              rooms (participant i joins room i mod R)                          [1]
              --duration D           how long to measure once every participant has started     [30s]
              --ramp RATE            participants started per second, e.g. 10/s                      [10/s]
              --warmup D             wait this long after the ramp before measuring (handshakes over slow
                                     paths, relay links between nodes)                             [0s]
              --video-kbps K         video bitrate per publisher, kbit/s                               [800]
              --fps F                video frames per second                                           [30]
              --report-interval D    progress line period                                              [1s]
              --json FILE            also write the summary as JSON to FILE
              --token-key KID:SECRET mint HS256 join tokens with this key instead of the node's dev /token
              --room-prefix P        room names are P-<run id>-<r>                                     [load]
              --via HOST:PORT        send all media to this UDP relay instead of the node's candidate
              --impair SPEC          start an in-process impairment relay for both directions, e.g.
                                     delay=40ms,jitter=5ms,loss=2%,rate=5mbit (the end-to-end path crosses
                                     it twice: publisher -> node and node -> subscriber)
              --impair-up SPEC       impairment of client -> node only
              --impair-down SPEC     impairment of node -> client only
              --impair-for I=SPEC    participant I's own path instead, both directions (repeat for others),
                                     e.g. --impair-for 0=delay=46ms,jitter=3ms,loss=2%
              --nack                 subscribers NACK gaps in audio and video (RFC 4585) and publishers resend
                                     from their history, as browsers do for video (and for audio with the
                                     client library, which turns NACK on for Opus)
              --deadline D           a packet counts as delivered in time if it arrives within D of being
                                     sent (the residual loss)                                          [150ms]
              --concurrent-joins     do not wait for the previous participant of a room to connect before the
                                     next joins it (by default joins to one room are sequential)
              --client-threads T     event loop threads shared by all simulated clients            [2]
              --connect-timeout D    a participant not connected by then counts as failed            [20s]
              -h, --help             this text

            Durations take ms, s or m (30s, 1500ms, 2m).
            """;

    enum Shape {
        MEETING, WEBINAR, AUDIO;

        boolean sendsAudio(int indexInRoom) {
            return this != WEBINAR || indexInRoom == 0;
        }

        boolean sendsVideo(int indexInRoom) {
            return this == MEETING || (this == WEBINAR && indexInRoom == 0);
        }
    }

    /** A bad command line; the message says what is wrong. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    final List<URI> urls = new ArrayList<>();
    /** {@code --url-for}: participants placed on a node of their own, by index. */
    final java.util.SortedMap<Integer, URI> urlFor = new java.util.TreeMap<>();
    Shape shape = Shape.MEETING;
    int participants = -1;
    int rooms = 1;
    Duration duration = Duration.ofSeconds(30);
    double rampPerSecond = 10;
    Duration warmup = Duration.ZERO;
    int videoKbps = 800;
    int fps = 30;
    Duration reportInterval = Duration.ofSeconds(1);
    Path json;
    String tokenKeyId;
    String tokenSecret;
    String roomPrefix = "load";
    InetSocketAddress via;
    Impairment impairUp = Impairment.NONE;
    Impairment impairDown = Impairment.NONE;
    /** Participant index -> its own impairment, both directions (over impairUp/impairDown). */
    final java.util.SortedMap<Integer, Impairment> impairFor = new java.util.TreeMap<>();
    boolean nack;
    Duration deadline = Duration.ofMillis(150);
    int clientThreads = 2;
    Duration connectTimeout = Duration.ofSeconds(20);
    boolean help;
    boolean concurrentJoins;

    /** The node participant {@code index} joins: its {@code --url-for}, else the {@code --url}s round-robin. */
    URI urlOf(int index) {
        URI own = urlFor.get(index);
        return own != null ? own : urls.get(index % urls.size());
    }

    /** Every node the run uses, each once, in order of mention. */
    List<URI> allUrls() {
        java.util.LinkedHashSet<URI> all = new java.util.LinkedHashSet<>(urls);
        all.addAll(urlFor.values());
        return new ArrayList<>(all);
    }

    boolean impaired() {
        return !impairUp.isNone() || !impairDown.isNone() || !impairFor.isEmpty();
    }

    /** Participant {@code index}'s impairment client -> node. */
    Impairment impairUp(int index) {
        return impairFor.getOrDefault(index, impairUp);
    }

    /** Participant {@code index}'s impairment node -> client. */
    Impairment impairDown(int index) {
        return impairFor.getOrDefault(index, impairDown);
    }

    /**
     * {@code I=SPEC} of {@code --impair-for}: a participant index and an {@link Impairment}.
     *
     * @throws IllegalArgumentException naming the bad part
     */
    static Map.Entry<Integer, Impairment> parseImpairFor(String value) {
        int eq = value.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("expected INDEX=SPEC, got '" + value + "'");
        }
        int index;
        try {
            index = Integer.parseInt(value.substring(0, eq).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected a participant index before '=', got '" + value + "'");
        }
        if (index < 0) {
            throw new IllegalArgumentException("participant index must be >= 0, got " + index);
        }
        return Map.entry(index, Impairment.parse(value.substring(eq + 1)));
    }

    static LoadOptions parse(String... args) throws UsageException {
        LoadOptions o = new LoadOptions();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            }
            if (arg.equals("-h") || arg.equals("--help")) {
                o.help = true;
                continue;
            }
            if (arg.equals("--concurrent-joins")) {
                o.concurrentJoins = true;
                continue;
            }
            if (arg.equals("--nack")) {
                o.nack = true;
                continue;
            }
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument '" + arg + "'");
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(arg + " needs a value");
                }
                value = args[++i];
            }
            try {
                switch (arg) {
                    case "--url" -> o.urls.add(parseUrl(value));
                    case "--url-for" -> {
                        int sep = value.indexOf('=');
                        int index;
                        try {
                            index = sep <= 0 ? -1 : Integer.parseInt(value.substring(0, sep).trim());
                        } catch (NumberFormatException e) {
                            index = -1;
                        }
                        if (index < 0) {
                            throw new UsageException("--url-for must be INDEX=URL, got '" + value + "'");
                        }
                        if (o.urlFor.put(index, parseUrl(value.substring(sep + 1).trim())) != null) {
                            throw new UsageException("--url-for: participant " + index + " given twice");
                        }
                    }
                    case "--shape" -> o.shape = parseShape(value);
                    case "--participants" -> o.participants = positiveInt(arg, value);
                    case "--rooms" -> o.rooms = positiveInt(arg, value);
                    case "--duration" -> o.duration = parseDuration(arg, value);
                    case "--ramp" -> o.rampPerSecond = parseRamp(value);
                    case "--video-kbps" -> o.videoKbps = positiveInt(arg, value);
                    case "--fps" -> o.fps = positiveInt(arg, value);
                    case "--report-interval" -> o.reportInterval = parseDuration(arg, value);
                    case "--json" -> o.json = Path.of(value);
                    case "--token-key" -> {
                        int colon = value.indexOf(':');
                        if (colon <= 0 || colon == value.length() - 1) {
                            throw new UsageException("--token-key must be KID:SECRET");
                        }
                        o.tokenKeyId = value.substring(0, colon);
                        o.tokenSecret = value.substring(colon + 1);
                    }
                    case "--room-prefix" -> o.roomPrefix = value;
                    case "--via" -> o.via = parseHostPort(value);
                    case "--impair" -> {
                        o.impairUp = Impairment.parse(value);
                        o.impairDown = o.impairUp;
                    }
                    case "--impair-up" -> o.impairUp = Impairment.parse(value);
                    case "--impair-down" -> o.impairDown = Impairment.parse(value);
                    case "--impair-for" -> {
                        Map.Entry<Integer, Impairment> e = parseImpairFor(value);
                        if (o.impairFor.put(e.getKey(), e.getValue()) != null) {
                            throw new UsageException("--impair-for: participant " + e.getKey() + " given twice");
                        }
                    }
                    case "--deadline" -> o.deadline = parseDuration(arg, value);
                    case "--warmup" -> o.warmup = value.trim().equals("0") ? Duration.ZERO : parseDuration(arg, value);
                    case "--client-threads" -> o.clientThreads = positiveInt(arg, value);
                    case "--connect-timeout" -> o.connectTimeout = parseDuration(arg, value);
                    default -> throw new UsageException("unknown option " + arg);
                }
            } catch (IllegalArgumentException e) {
                throw new UsageException(arg + ": " + e.getMessage());
            }
        }
        if (o.help) {
            return o;
        }
        if (o.urls.isEmpty()) {
            throw new UsageException("--url is required");
        }
        if (o.participants < 1) {
            throw new UsageException("--participants is required");
        }
        if (o.rooms > o.participants) {
            throw new UsageException("--rooms (" + o.rooms + ") exceeds --participants (" + o.participants + ")");
        }
        if (o.via != null && o.impaired()) {
            throw new UsageException("--via and --impair exclude each other");
        }
        if (!o.impairFor.isEmpty() && o.impairFor.lastKey() >= o.participants) {
            throw new UsageException("--impair-for: participant " + o.impairFor.lastKey() + " does not exist (--participants "
                    + o.participants + ")");
        }
        if (!o.urlFor.isEmpty() && o.urlFor.lastKey() >= o.participants) {
            throw new UsageException("--url-for: participant " + o.urlFor.lastKey() + " does not exist (--participants "
                    + o.participants + ")");
        }
        if (o.fps > 120) {
            throw new UsageException("--fps must be at most 120");
        }
        if (o.reportInterval.toMillis() < 100) {
            throw new UsageException("--report-interval must be at least 100ms");
        }
        return o;
    }

    private static URI parseUrl(String value) {
        URI uri = URI.create(value.endsWith("/") ? value.substring(0, value.length() - 1) : value);
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("expected http://HOST:PORT, got '" + value + "'");
        }
        return uri;
    }

    private static Shape parseShape(String value) {
        try {
            return Shape.valueOf(value.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("expected meeting, webinar or audio, got '" + value + "'");
        }
    }

    private static int positiveInt(String option, String value) {
        try {
            int n = Integer.parseInt(value.trim());
            if (n < 1) {
                throw new IllegalArgumentException("must be at least 1");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: '" + value + "'");
        }
    }

    static Duration parseDuration(String option, String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        try {
            Duration d;
            if (v.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            } else if (v.endsWith("s")) {
                d = Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
            } else if (v.endsWith("m")) {
                d = Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1)) * 60_000));
            } else {
                d = Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
            }
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("must be positive");
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: '" + value + "' (e.g. 30s, 500ms, 2m)");
        }
    }

    private static double parseRate(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.endsWith("/s")) {
            v = v.substring(0, v.length() - 2);
        }
        try {
            double r = Double.parseDouble(v);
            if (!(r > 0) || Double.isInfinite(r)) {
                throw new IllegalArgumentException("must be positive");
            }
            return r;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected a rate like 10/s, got '" + value + "'");
        }
    }

    private static double parseRamp(String value) {
        return parseRate(value);
    }

    static InetSocketAddress parseHostPort(String value) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("expected HOST:PORT, got '" + value + "'");
        }
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port out of range in '" + value + "'");
            }
            return new InetSocketAddress(value.substring(0, colon), port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected HOST:PORT, got '" + value + "'");
        }
    }
}
