package io.cascadesfu.core;

import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.edge.TcpEdge;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.room.RoomRegistry;
import io.cascadesfu.core.transport.UfragDirectory;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The media plane of one node: its media workers (one event loop and UDP port each), the control thread that
 * owns the rooms ({@link RoomRegistry}: members, tracks, subscriptions, pipes), and the DTLS handshake pool.
 * The signaling layer runs on {@link #control()} and drives the rooms; the rooms drive the workers with tasks.
 */
public final class MediaEngine implements AutoCloseable {
    private final MediaConfig config;
    private final DtlsCertificate certificate;
    private final SfuMetrics metrics;
    private final ExecutorService handshakeExecutor;
    private final List<MediaWorker> workers;
    /** The ICE-TCP port, or null when {@link MediaConfig#tcpPort()} is 0. */
    private final TcpEdge tcpEdge;
    private final DefaultEventLoop control;
    private final RoomRegistry rooms;

    private MediaEngine(MediaConfig config, DtlsCertificate certificate, SfuMetrics metrics) {
        this.config = config;
        this.certificate = certificate;
        this.metrics = metrics;
        this.handshakeExecutor = Executors.newCachedThreadPool(daemonThreads("sfu-dtls"));
        List<MediaWorker> list = new ArrayList<>(config.workers());
        UfragDirectory directory = config.tcpPort() != 0 ? new UfragDirectory() : null;
        TcpEdge tcp = null;
        try {
            for (int i = 0; i < config.workers(); i++) {
                int port = config.port() == 0 ? 0 : config.port() + i;
                list.add(new MediaWorker(i, new InetSocketAddress(config.bindHost(), port), config, certificate,
                        metrics, handshakeExecutor, directory));
            }
            if (directory != null) {
                tcp = TcpEdge.bind(new InetSocketAddress(config.bindHost(), config.tcpPort()), directory, metrics,
                        TcpEdge.Limits.defaults(config.consentTimeout()));
            }
        } catch (RuntimeException e) {
            list.forEach(MediaWorker::close);
            handshakeExecutor.shutdownNow();
            throw e;
        }
        this.tcpEdge = tcp;
        this.workers = List.copyOf(list);
        this.control = new DefaultEventLoop(new DefaultThreadFactory("sfu-control", true));
        this.rooms = new RoomRegistry(this);
    }

    /** Binds the media ports and starts the workers and the control thread. */
    public static MediaEngine start(MediaConfig config, DtlsCertificate certificate, SfuMetrics metrics) {
        return new MediaEngine(config, certificate, metrics);
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    public MediaConfig config() {
        return config;
    }

    public List<MediaWorker> workers() {
        return workers;
    }

    public MediaWorker worker(int index) {
        return workers.get(index);
    }

    /** The thread that owns rooms and everything signaling does; never runs media. */
    public EventLoop control() {
        return control;
    }

    /** The node's rooms. Control thread only. */
    public RoomRegistry rooms() {
        return rooms;
    }

    /** Host candidates of worker 0 (each worker advertises its own port: {@link MediaWorker#candidates()}). */
    public List<InetSocketAddress> candidates() {
        return workers.get(0).candidates();
    }

    /** Passive ICE-TCP host candidates (the same for every worker); empty when ICE-TCP is off. */
    public List<InetSocketAddress> tcpCandidates() {
        return workers.get(0).tcpCandidates();
    }

    /** The ICE-TCP port's address, or null when ICE-TCP is off. */
    public InetSocketAddress tcpAddress() {
        return tcpEdge == null ? null : tcpEdge.localAddress();
    }

    public String fingerprintSha256() {
        return certificate.fingerprintSha256();
    }

    /** The first worker's media address. */
    public InetSocketAddress localAddress() {
        return workers.get(0).localAddress();
    }

    /** Every worker's media address, in worker order. */
    public List<InetSocketAddress> localAddresses() {
        List<InetSocketAddress> list = new ArrayList<>(workers.size());
        for (MediaWorker w : workers) {
            list.add(w.localAddress());
        }
        return list;
    }

    public SfuMetrics metrics() {
        return metrics;
    }

    /** Live transports over all workers. Any thread. */
    public int transportCount() {
        int n = 0;
        for (MediaWorker w : workers) {
            n += w.transportCount();
        }
        return n;
    }

    @Override
    public void close() {
        // Rooms still open (tests, a node stopped without its signaling layer) close first, so the buffers their
        // producers' caches and pipes hold are released on their workers before those stop.
        try {
            control.submit(() -> {
                for (var room : new ArrayList<>(rooms.rooms())) {
                    room.close();
                }
            }).get(5, TimeUnit.SECONDS);
            for (int round = 0; round < 3; round++) { // pipe close steps hop between workers
                for (MediaWorker w : workers) {
                    w.loop().submit(() -> null).get(5, TimeUnit.SECONDS);
                }
            }
        } catch (Exception e) {
            org.slf4j.LoggerFactory.getLogger(MediaEngine.class).warn("closing rooms at shutdown failed", e);
        }
        control.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        if (tcpEdge != null) {
            tcpEdge.close();
        }
        for (MediaWorker w : workers) {
            w.close();
        }
        handshakeExecutor.shutdownNow();
    }
}
