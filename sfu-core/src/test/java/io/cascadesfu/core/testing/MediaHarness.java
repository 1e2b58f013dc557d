package io.cascadesfu.core.testing;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.MediaEngine;
import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A real media engine on a loopback UDP port plus real {@link RtcClient}s (ICE, DTLS, SRTP) for
 * tests. Close it in {@code @AfterEach}.
 */
public final class MediaHarness implements AutoCloseable {
    public final SfuMetrics metrics = SfuMetrics.inMemory();
    public final MediaEngine engine;
    /** The engine's only worker: the tests here drive its routers and transports directly. */
    public final MediaWorker worker;
    private final EventLoopGroup clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final ExecutorService dtlsExecutor = Executors.newCachedThreadPool();
    private final DtlsCertificate clientCertificate = DtlsCertificate.generate();
    private final List<RtcClient> clients = new ArrayList<>();

    public MediaHarness(Duration consentTimeout) {
        this(new MediaConfig("127.0.0.1", 0, List.of(), consentTimeout, Duration.ofSeconds(5)));
    }

    /** An engine with {@code config} (its first worker is {@link #worker}). */
    public MediaHarness(MediaConfig config) {
        engine = MediaEngine.start(config, DtlsCertificate.generate(), metrics);
        worker = engine.worker(0);
    }

    /** A loopback engine with ICE-TCP on a free port. */
    public static MediaHarness withIceTcp() {
        return new MediaHarness(new MediaConfig("127.0.0.1", 0, List.of(), Duration.ofSeconds(30),
                Duration.ofSeconds(5)).withTcpPort(freeTcpPort()));
    }

    /** A TCP port free a moment ago on 127.0.0.1. */
    public static int freeTcpPort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A client that dials the engine's ICE-TCP port. */
    public RtcClient newTcpClient(RtcClient.Listener listener) {
        RtcClient c = RtcClient.overTcp(clientGroup, io.netty.channel.socket.nio.NioSocketChannel.class,
                engine.tcpAddress(), clientCertificate, dtlsExecutor, listener);
        clients.add(c);
        return c;
    }

    public MediaHarness() {
        this(Duration.ofSeconds(30));
    }

    /** Runs {@code task} on the worker's loop and waits for its result. */
    public <T> T onLoop(Callable<T> task) {
        try {
            return worker.loop().submit(task).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("media loop task failed", e);
        }
    }

    public void onLoop(Runnable task) {
        onLoop(() -> {
            task.run();
            return null;
        });
    }

    /** A client with its own UDP socket on 127.0.0.1. */
    public RtcClient newClient(RtcClient.Listener listener) {
        RtcClient c = new RtcClient(clientGroup, NioDatagramChannel.class, new InetSocketAddress("127.0.0.1", 0),
                clientCertificate, dtlsExecutor, listener);
        clients.add(c);
        return c;
    }

    /** Tells the transport the client's parameters and starts the client towards it. */
    public void connect(RtcClient client, WebRtcTransport transport) {
        onLoop(() -> transport.setRemoteParameters(client.localCredentials().ufrag(), client.localCredentials().pwd(),
                "sha-256", client.localFingerprint()));
        client.connect(new RtcClient.Remote(engine.candidates().get(0), transport.localCredentials().ufrag(),
                transport.localCredentials().pwd(), "sha-256", engine.fingerprintSha256()));
    }

    @Override
    public void close() {
        for (RtcClient c : clients) {
            c.close();
        }
        engine.close();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        dtlsExecutor.shutdownNow();
    }
}
