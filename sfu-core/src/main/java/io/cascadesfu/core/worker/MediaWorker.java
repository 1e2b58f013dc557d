package io.cascadesfu.core.worker;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.edge.UdpEdge;
import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.transport.TransportRegistry;
import io.cascadesfu.core.transport.UfragDirectory;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.netty.channel.EventLoop;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One media worker: a Netty event loop with its own UDP socket, transport registry, routers and timers.
 * Workers share nothing on the packet path; a room that spans workers is linked by pipes
 * ({@link io.cascadesfu.core.pipe.Pipe}).
 *
 * <p>Lifecycle: made by {@link io.cascadesfu.core.MediaEngine} at start, closed with it.
 * Threading: every worker-owned object (transports, routers, peers, producers, consumers) is touched only
 * on {@link #loop()}; other threads hand it work with {@link #execute}. {@link #assertInLoop()} guards the
 * entry points, so a wrong thread fails a test instead of corrupting state.
 */
public final class MediaWorker implements AutoCloseable {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final int index;
    private final MediaConfig config;
    private final DtlsCertificate certificate;
    private final SfuMetrics metrics;
    private final ExecutorService handshakeExecutor;
    private final TransportRegistry registry = new TransportRegistry();
    private final WorkerStats stats;
    private final UdpEdge edge;
    private final List<InetSocketAddress> candidates;
    private final List<InetSocketAddress> tcpCandidates;
    private final ScheduledFuture<?> consentTimer;
    private volatile long threadId = -1;
    private volatile int routerCount;

    public MediaWorker(int index, InetSocketAddress bind, MediaConfig config, DtlsCertificate certificate,
                       SfuMetrics metrics, ExecutorService handshakeExecutor) {
        this(index, bind, config, certificate, metrics, handshakeExecutor, null);
    }

    /**
     * As above; with a {@code directory} (ICE-TCP on), this worker's ufrags are published in it so that the TCP edge
     * can move a connection here, and {@link #tcpCandidates()} advertises {@link MediaConfig#tcpPort()}.
     */
    public MediaWorker(int index, InetSocketAddress bind, MediaConfig config, DtlsCertificate certificate,
                       SfuMetrics metrics, ExecutorService handshakeExecutor, UfragDirectory directory) {
        this.index = index;
        this.config = config;
        this.certificate = certificate;
        this.metrics = metrics;
        this.handshakeExecutor = handshakeExecutor;
        this.stats = new WorkerStats(index, this, metrics.registry());
        this.edge = UdpEdge.bind(bind, "sfu-media-" + index, registry, metrics, stats);
        this.candidates = candidateAddresses(config, edge.localAddress(), edge.localAddress().getPort());
        if (directory != null && config.tcpPort() != 0) {
            registry.publishTo(directory, new UfragDirectory.Owner(loop(), registry, stats, this::flush));
            this.tcpCandidates = candidateAddresses(config, edge.localAddress(), config.tcpPort());
        } else {
            this.tcpCandidates = List.of();
        }
        loop().execute(() -> threadId = Thread.currentThread().getId());
        this.consentTimer = loop().scheduleAtFixedRate(this::checkConsent, 1, 1, TimeUnit.SECONDS);
    }

    private static List<InetSocketAddress> candidateAddresses(MediaConfig config, InetSocketAddress bound, int port) {
        List<InetSocketAddress> list = new ArrayList<>();
        for (String host : config.advertisedHosts()) {
            list.add(new InetSocketAddress(host, port));
        }
        if (list.isEmpty()) {
            String host = bound.getAddress().isAnyLocalAddress() ? "127.0.0.1" : bound.getAddress().getHostAddress();
            list.add(new InetSocketAddress(host, port));
        }
        return List.copyOf(list);
    }

    /** The datagram channel class that fits this worker's loop (a relay link's socket lives on it too). */
    public Class<? extends io.netty.channel.socket.DatagramChannel> datagramChannelType() {
        return edge.datagramChannelType();
    }

    public DtlsCertificate certificate() {
        return certificate;
    }

    public ExecutorService handshakeExecutor() {
        return handshakeExecutor;
    }

    public int index() {
        return index;
    }

    /** The event loop that owns this worker's socket, transports and routers. */
    public EventLoop loop() {
        return edge.channel().eventLoop();
    }

    /** Runs {@code task} on this worker's loop, after the tasks handed over before it. Any thread. */
    public void execute(Runnable task) {
        loop().execute(task);
    }

    /** Fails (with assertions on, as in tests) when called off this worker's loop. */
    public void assertInLoop() {
        assert loop().inEventLoop() : "worker " + index + " state touched from " + Thread.currentThread().getName();
    }

    public SfuMetrics metrics() {
        return metrics;
    }

    public WorkerStats stats() {
        return stats;
    }

    /** Creates a WebRTC transport with the given local ICE credentials. Worker loop only. */
    public WebRtcTransport createWebRtcTransport(String id, IceCredentials credentials) {
        assertInLoop();
        WebRtcTransport t = WebRtcTransport.create(id, credentials, config.consentTimeout().toNanos(), certificate,
                handshakeExecutor, config.handshakeTimeout(), edge.channel(), registry, metrics, stats);
        stats.transportOpened();
        return t;
    }

    /** Creates a WebRTC transport with fresh ICE credentials. Worker loop only. */
    public WebRtcTransport createWebRtcTransport(String id) {
        return createWebRtcTransport(id, IceCredentials.random());
    }

    /** Pushes out what this worker's transports wrote to its socket. Worker loop only. */
    public void flush() {
        edge.channel().flush();
    }

    /** Host candidates to advertise: the advertised addresses with this worker's port. */
    public List<InetSocketAddress> candidates() {
        return candidates;
    }

    /**
     * Passive ICE-TCP host candidates (RFC 6544): the advertised addresses with the node's TCP port; empty when
     * ICE-TCP is off.
     */
    public List<InetSocketAddress> tcpCandidates() {
        return tcpCandidates;
    }

    public InetSocketAddress localAddress() {
        return edge.localAddress();
    }

    /** Live transports on this worker (updated on the loop, readable from any thread). */
    public int transportCount() {
        return stats.transports();
    }

    /** Routers on this worker (one per room with members or pipes here); readable from any thread. */
    public int routerCount() {
        return routerCount;
    }

    /** A router was made or closed on this worker. Worker loop only. */
    public void routerCountChanged(int delta) {
        assertInLoop();
        routerCount += delta;
    }

    /** CPU time of the worker's thread so far, in ns; -1 before it started or where unsupported. */
    long threadCpuNs() {
        long id = threadId;
        if (id < 0 || !THREADS.isThreadCpuTimeSupported()) {
            return -1;
        }
        return THREADS.getThreadCpuTime(id);
    }

    private void checkConsent() {
        long nowNs = System.nanoTime();
        for (WebRtcTransport t : new ArrayList<>(registry.transports())) {
            t.checkConsent(nowNs);
        }
    }

    @Override
    public void close() {
        consentTimer.cancel(false);
        edge.close();
    }

    @Override
    public String toString() {
        return "worker-" + index;
    }
}
