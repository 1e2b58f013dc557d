package io.cascadesfu.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cascadesfu.core.dtls.DtlsCertificate;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * What all simulated participants of a run share: one event loop group for every client socket and timer,
 * one DTLS certificate, a small pool for the (blocking) DTLS handshakes, one HTTP client for tokens and
 * WebSockets, the statistics, and the media path (direct, {@code --via}, or an impairment relay per node).
 *
 * <p>Threading: immutable after construction except the relay map (concurrent). {@link #close()} from the
 * main thread only.
 */
final class LoadContext implements AutoCloseable {
    static final Duration HTTP_TIMEOUT = Duration.ofSeconds(10);

    final LoadOptions options;
    final LoadStats stats = new LoadStats();
    final ObjectMapper json = new ObjectMapper();
    final NettyTransport transport = NettyTransport.best();
    final EventLoopGroup group;
    final DtlsCertificate certificate = DtlsCertificate.generate();
    final ExecutorService dtlsExecutor;
    final ExecutorService httpExecutor;
    final HttpClient http;
    final TokenSource tokens;
    /** One relay per node candidate and impairment: participants with the same path share one. */
    private final Map<RelayKey, ImpairmentRelay> relays = new ConcurrentHashMap<>();

    private record RelayKey(InetSocketAddress target, Impairment up, Impairment down) {
    }

    LoadContext(LoadOptions options) {
        this.options = options;
        this.group = transport.newGroup(options.clientThreads, "load-client");
        // BouncyCastle's handshake blocks a thread for its duration (round trips included): a cached pool, as
        // the node uses, so that a fast ramp does not queue handshakes behind each other.
        this.dtlsExecutor = Executors.newCachedThreadPool(daemon("load-dtls"));
        this.httpExecutor = Executors.newFixedThreadPool(4, daemon("load-http"));
        this.http = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).executor(httpExecutor).build();
        this.tokens = options.tokenKeyId != null
                ? TokenSource.hs256(options.tokenKeyId, options.tokenSecret)
                : TokenSource.devEndpoint(http, json, HTTP_TIMEOUT);
    }

    Class<? extends DatagramChannel> channelType() {
        return transport.datagramChannel();
    }

    /**
     * Where participant {@code index} sends media for a node whose candidate is {@code candidate}: the candidate
     * itself, the {@code --via} relay, or this run's impairment relay towards that candidate with that
     * participant's impairment (started on first use).
     */
    InetSocketAddress mediaAddress(InetSocketAddress candidate, int index) {
        if (options.via != null) {
            return options.via;
        }
        Impairment up = options.impairUp(index);
        Impairment down = options.impairDown(index);
        if (up.isNone() && down.isNone()) {
            return candidate;
        }
        return relays.computeIfAbsent(new RelayKey(candidate, up, down), key -> ImpairmentRelay.start(
                new InetSocketAddress(key.target().getAddress().isLoopbackAddress() ? "127.0.0.1" : "0.0.0.0", 0),
                key.target(), key.up(), key.down())).address();
    }

    List<ImpairmentRelay> relays() {
        return new ArrayList<>(relays.values());
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        for (ImpairmentRelay relay : relays.values()) {
            relay.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        dtlsExecutor.shutdownNow();
        httpExecutor.shutdownNow();
    }
}
