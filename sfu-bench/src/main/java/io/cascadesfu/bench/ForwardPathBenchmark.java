package io.cascadesfu.bench;

import io.cascadesfu.core.dtls.SrtpProfile;
import io.cascadesfu.core.media.Consumer;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.MediaPeer;
import io.cascadesfu.core.media.Producer;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.Router;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.rtp.RtpPacket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.DefaultEventLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The whole per-packet forward path for one publisher and {@code subscribers} subscribers, from the decrypted
 * packet the publisher's transport hands up to the protected copies the subscribers' transports would write:
 * {@link MediaPeer#onTransportRtp} (SSRC lookup) -> {@code Producer.onRtp} (receive stats, keyframe
 * detection, fan-out) -> {@code Consumer.onProducerRtp} per subscriber (pooled copy, rewrite of sequence number,
 * timestamp, SSRC, payload type, extension ids, send stats) -> {@link SrtpSinkTransport#sendRtp} (SRTP protect
 * with the subscriber's own session, release). No socket: the system call is measured by
 * {@link UdpForwarderProbe} and the load tool.
 *
 * <p>One operation is one incoming packet: packets out per second = ops/s × {@code subscribers}. Run with
 * {@code -prof gc}: {@code gc.alloc.rate.norm} is the bytes allocated per incoming packet (the goal is 0).
 *
 * <p>Set-up: a real {@link Router} on a Netty {@link DefaultEventLoop}. The router's 1 s RTCP timer would run on
 * that loop's thread, concurrently with the benchmark thread; so the loop's thread is parked in a task until
 * tear-down and the benchmark thread acts as the loop (the core is loop-confined by convention, and with the
 * loop parked nothing else touches it). Periodic RTCP is therefore not in the figure (one report per peer per
 * second). Video consumers wait for a keyframe: the set-up sends one, then every packet is an interframe, eight
 * packets per frame (marker on the last). Every packet is checked to be forwarded: each iteration's tear-down
 * throws if a packet was dropped or an SRTP protect failed.
 *
 * <p>{@code srtp=none} skips the protect, to separate the core's own cost from the cipher's.
 *
 * <p>Run: {@code java -jar sfu-bench/target/sfu-bench.jar ForwardPathBenchmark -prof gc}
 * (one case: {@code -p subscribers=10 -p codec=VP8 -p srtp=AES_CM_128_HMAC_SHA1_80}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Djmh.executor=CUSTOM",
    "-Djmh.executor.class=io.cascadesfu.bench.FastThreadLocalExecutor"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ForwardPathBenchmark {

    private static final int PACKETS_PER_FRAME = 8;
    private static final long SUBSCRIBER_SSRC_BASE = 0x7000_0000L;
    private static final int SUBSCRIBER_VIDEO_PT = 100;

    @Param({"1", "10", "100"})
    public int subscribers;

    @Param({"VP8", "OPUS"})
    public Codec codec;

    /**
     * Transport-wide congestion control on: the publisher's transport-wide number element is negotiated, so every
     * consumer stamps its subscriber transport's own number and records the send in its estimator.
     */
    @Param({"false"})
    public boolean twcc;

    /** An {@link SrtpProfile} name, or {@code none}. */
    @Param({"AEAD_AES_128_GCM"})
    public String srtp;

    private DefaultEventLoop loop;
    private final CountDownLatch releaseLoop = new CountDownLatch(1);
    private SfuMetrics metrics;
    private Router router;
    private MediaPeer publisher;
    private SrtpSinkTransport publisherTransport;
    private final List<SrtpSinkTransport> subscriberTransports = new ArrayList<>();
    private final List<Consumer> consumers = new ArrayList<>();
    private ByteBuf packet;
    private int seq;
    private long timestamp;
    private long fed;
    /** Where the payload starts: validated once by the transport, as {@code WebRtcTransport} does. */
    private int payloadOffset;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
        loop = new DefaultEventLoop();
        metrics = SfuMetrics.inMemory();
        router = new Router("bench", loop, metrics);  // schedules the RTCP timer: starts the loop's thread
        CountDownLatch parked = new CountDownLatch(1);
        loop.execute(() -> {
            parked.countDown();
            boolean interrupted = false;
            while (true) {
                try {
                    releaseLoop.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        });
        if (!parked.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("event loop did not start");
        }

        SrtpProfile profile = "none".equalsIgnoreCase(srtp) ? null : SrtpProfile.valueOf(srtp);
        publisherTransport = new SrtpSinkTransport("pub", profile == null ? null : RtpFixtures.keys(profile, 1));
        publisher = router.addPeer("pub", publisherTransport);
        boolean video = codec != Codec.OPUS;
        if (video && codec != Codec.VP8) {
            throw new IllegalArgumentException("codec must be VP8 or OPUS: " + codec);
        }
        Producer producer = router.produce("track", publisher, video
            ? new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, RtpFixtures.VIDEO_PT, 90_000,
                RtpFixtures.VIDEO_SSRC, RtpFixtures.EXT_MID, true, 0, java.util.List.of(), 0,
                twcc ? RtpFixtures.EXT_TWCC : 0)
            : new ProducerParams("1", TrackKind.AUDIO, Codec.OPUS, RtpFixtures.AUDIO_PT, 48_000,
                RtpFixtures.AUDIO_SSRC, RtpFixtures.EXT_MID, true, 0, java.util.List.of(), 0,
                twcc ? RtpFixtures.EXT_TWCC : 0));
        byte[] extensionIds = RtpFixtures.subscriberExtensionIds();
        for (int i = 0; i < subscribers; i++) {
            SrtpSinkTransport t = new SrtpSinkTransport("sub" + i,
                profile == null ? null : RtpFixtures.keys(profile, 100 + i));
            MediaPeer peer = router.addPeer("sub" + i, t);
            subscriberTransports.add(t);
            consumers.add(router.consume(peer, producer, new ConsumerParams(SUBSCRIBER_SSRC_BASE + i,
                video ? SUBSCRIBER_VIDEO_PT : RtpFixtures.AUDIO_PT, extensionIds)));
        }

        // The received datagram: pooled direct, as the edge hands it up after SRTP unprotect in place.
        packet = PooledByteBufAllocator.DEFAULT.directBuffer(2048);
        seq = 1;
        timestamp = 90_000;
        if (video) {
            RtpFixtures.writeVp8(packet, seq, timestamp, true, false);
        } else {
            RtpFixtures.writeOpus(packet, seq, timestamp);
        }
        publisher.onTransportRtp(publisherTransport, packet, RtpPacket.validate(packet), System.nanoTime());
        for (SrtpSinkTransport t : subscriberTransports) {
            if (t.rtpSent != 1 || t.failures != 0) {
                throw new IllegalStateException("first packet not forwarded to " + t.id());
            }
        }
        if (video) {
            RtpFixtures.setVp8Keyframe(packet, false);
        }
        payloadOffset = RtpPacket.validate(packet);
        resetCounts();
    }

    @Setup(Level.Iteration)
    public void resetCounts() {
        fed = 0;
        for (SrtpSinkTransport t : subscriberTransports) {
            t.rtpSent = 0;
            t.failures = 0;
        }
    }

    @TearDown(Level.Iteration)
    public void checkForwarded() {
        for (DropReason reason : DropReason.values()) {
            if (metrics.dropped(reason) != 0) {
                throw new IllegalStateException(metrics.dropped(reason) + " packets dropped: " + reason);
            }
        }
        for (SrtpSinkTransport t : subscriberTransports) {
            if (t.failures != 0 || t.rtpSent != fed) {
                throw new IllegalStateException(t.id() + ": " + t.rtpSent + " sent of " + fed + ", "
                    + t.failures + " SRTP failures");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        router.close();
        packet.release();
        releaseLoop.countDown();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One packet in from the publisher, {@code subscribers} out; returns the first subscriber's byte count. */
    @Benchmark
    public long forward() {
        ByteBuf p = packet;
        int s = ++seq & 0xFFFF;
        if (codec == Codec.OPUS) {
            RtpPacket.setSequenceNumber(p, s);
            timestamp += 960;
            RtpPacket.setTimestamp(p, timestamp);
        } else {
            RtpFixtures.setVp8Sequence(p, s);
            int inFrame = seq % PACKETS_PER_FRAME;
            if (inFrame == 0) {
                timestamp += 3000;
                RtpPacket.setTimestamp(p, timestamp);
            }
            RtpPacket.setMarker(p, inFrame == PACKETS_PER_FRAME - 1);
        }
        fed++;
        publisher.onTransportRtp(publisherTransport, p, payloadOffset, System.nanoTime());
        return subscriberTransports.get(0).bytesSent;
    }
}
