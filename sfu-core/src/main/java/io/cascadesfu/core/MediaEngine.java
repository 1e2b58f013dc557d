package io.cascadesfu.core;

import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.edge.UdpEdge;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.transport.TransportRegistry;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The media plane of one node: the UDP edge, its transports and the timers that keep them honest
 * (consent freshness). The signaling layer creates transports through it and runs everything that
 * touches media state on {@link #loop()}.
 */
public final class MediaEngine implements AutoCloseable {
    private final MediaConfig config;
    private final DtlsCertificate certificate;
    private final SfuMetrics metrics;
    private final TransportRegistry registry = new TransportRegistry();
    private final ExecutorService handshakeExecutor;
    private final UdpEdge edge;
    private final List<InetSocketAddress> candidates;
    private final ScheduledFuture<?> consentTimer;

    private MediaEngine(MediaConfig config, DtlsCertificate certificate, SfuMetrics metrics) {
        this.config = config;
        this.certificate = certificate;
        this.metrics = metrics;
        this.handshakeExecutor = Executors.newCachedThreadPool(daemonThreads("sfu-dtls"));
        this.edge = UdpEdge.bind(new InetSocketAddress(config.bindHost(), config.port()), registry, metrics);
        this.candidates = candidateAddresses(config, edge.localAddress());
        this.consentTimer = loop().scheduleAtFixedRate(this::checkConsent, 1, 1, TimeUnit.SECONDS);
    }

    /** Binds the media port and starts the media loop. */
    public static MediaEngine start(MediaConfig config, DtlsCertificate certificate, SfuMetrics metrics) {
        return new MediaEngine(config, certificate, metrics);
    }

    private static List<InetSocketAddress> candidateAddresses(MediaConfig config, InetSocketAddress bound) {
        List<InetSocketAddress> list = new ArrayList<>();
        for (String host : config.advertisedHosts()) {
            list.add(new InetSocketAddress(host, bound.getPort()));
        }
        if (list.isEmpty()) {
            String host = bound.getAddress().isAnyLocalAddress() ? "127.0.0.1" : bound.getAddress().getHostAddress();
            list.add(new InetSocketAddress(host, bound.getPort()));
        }
        return List.copyOf(list);
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The event loop that owns every transport and all forwarding state. */
    public EventLoop loop() {
        return edge.channel().eventLoop();
    }

    /** Creates a WebRTC transport with fresh ICE credentials. Media loop only. */
    public WebRtcTransport createWebRtcTransport(String id) {
        return WebRtcTransport.create(id, config.consentTimeout().toNanos(), certificate, handshakeExecutor,
                config.handshakeTimeout(), edge.channel(), registry, metrics);
    }

    /** Host candidates to advertise: the advertised addresses with the bound port. */
    public List<InetSocketAddress> candidates() {
        return candidates;
    }

    public String fingerprintSha256() {
        return certificate.fingerprintSha256();
    }

    public InetSocketAddress localAddress() {
        return edge.localAddress();
    }

    public SfuMetrics metrics() {
        return metrics;
    }

    /** Number of live transports. Media loop only. */
    public int transportCount() {
        return registry.size();
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
        handshakeExecutor.shutdownNow();
    }
}
