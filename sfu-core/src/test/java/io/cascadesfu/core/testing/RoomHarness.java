package io.cascadesfu.core.testing;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.MediaEngine;
import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.room.Member;
import io.cascadesfu.core.room.Room;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A media engine whose rooms' members use {@link MemoryTransport}s: routers, pipes, placement and close ordering
 * run on the real workers and control thread, with no packet on a socket. {@link #settle} waits, without sleeping,
 * until every task handed to the control thread and the workers (and what those handed on) has run.
 */
public final class RoomHarness implements AutoCloseable {
    public static final int VIDEO_PT = 96;
    public static final int AUDIO_PT = 111;
    public static final int AUDIO_LEVEL_EXT = 1;

    public final SfuMetrics metrics = SfuMetrics.inMemory();
    public final MediaEngine engine;
    /** Transports by endpoint id; filled on the workers. */
    private final Map<String, MemoryTransport> transports = new ConcurrentHashMap<>();

    public RoomHarness(int workers, MediaConfig.Placement placement) {
        this(workers, placement, Duration.ofMillis(300));
    }

    public RoomHarness(int workers, MediaConfig.Placement placement, Duration keyframeRequestInterval) {
        engine = MediaEngine.start(new MediaConfig("127.0.0.1", 0, List.of(), Duration.ofSeconds(30),
                Duration.ofSeconds(5), workers, placement, keyframeRequestInterval), DtlsCertificate.generate(), metrics);
    }

    public MediaWorker worker(int i) {
        return engine.worker(i);
    }

    /** Polls {@code condition} every 50 ms for up to 10 s; fails naming {@code what}. */
    public static void waitUntil(String what, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for " + what);
    }

    /**
     * Connects a relay link between two nodes in this JVM, as the cascade's control channel would: {@code served}
     * (a WebRTC endpoint on {@code a}) learns the dialing end's ICE credentials and fingerprint, {@code dialing}
     * (a relay endpoint on {@code b}) connects to it; returns once both ends are up.
     */
    public static void connectRelay(RoomHarness a, Endpoint served, RoomHarness b, Endpoint dialing)
            throws InterruptedException {
        connectRelay(a, served, b, dialing, java.util.function.UnaryOperator.identity());
    }

    /**
     * As {@link #connectRelay(RoomHarness, Endpoint, RoomHarness, Endpoint)}, the dialing end sending to
     * {@code via}'s answer for the served end's media address (a relay that impairs the link, for one).
     */
    public static void connectRelay(RoomHarness a, Endpoint served, RoomHarness b, Endpoint dialing,
                                    java.util.function.UnaryOperator<java.net.InetSocketAddress> via)
            throws InterruptedException {
        var credsA = served.localCredentials();
        var credsB = dialing.localCredentials();
        java.net.InetSocketAddress mediaA = via.apply(served.candidates().get(0));
        a.control(() -> served.setRemoteParameters(credsB.ufrag(), credsB.pwd(), "sha-256",
                b.engine.fingerprintSha256()));
        b.control(() -> dialing.connectRelay(new io.cascadesfu.core.client.RtcClient.Remote(mediaA, credsA.ufrag(),
                credsA.pwd(), "sha-256", a.engine.fingerprintSha256())));
        waitUntil("the relay link to connect", () -> a.control(served::isConnected)
                && b.control(dialing::isConnected));
    }

    /** Runs {@code task} on the control thread and returns its result. */
    public <T> T control(Callable<T> task) {
        try {
            return engine.control().submit(task).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("control task failed", e);
        }
    }

    public void control(Runnable task) {
        control(() -> {
            task.run();
            return null;
        });
    }

    /**
     * Waits until the control thread and every worker have run what was handed to them, several rounds so that
     * chains (control -> worker -> pipe -> other worker) finish too. Bounded: a fixed number of rounds.
     */
    public void settle() {
        for (int round = 0; round < 6; round++) {
            control(() -> null);
            for (MediaWorker w : engine.workers()) {
                try {
                    w.loop().submit(() -> null).get(5, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new AssertionError("worker " + w.index() + " did not settle", e);
                }
            }
        }
    }

    /** An endpoint on a memory transport for {@code member}. Control thread. */
    public Endpoint endpoint(Member member, String id) {
        return member.createEndpoint(id, (w, eid, creds) -> {
            MemoryTransport t = new MemoryTransport(eid, w);
            transports.put(eid, t);
            return t;
        }, EndpointListener.NONE);
    }

    /** The memory transport of an endpoint, after {@link #settle}. */
    public MemoryTransport transport(Endpoint e) {
        MemoryTransport t = transports.get(e.id());
        if (t == null) {
            throw new AssertionError("no transport made yet for " + e.id());
        }
        return t;
    }

    public Room room(String name) {
        return control(() -> engine.rooms().open(name));
    }

    public static ProducerParams video(long ssrc) {
        return new ProducerParams("0", TrackKind.VIDEO, Codec.VP8, VIDEO_PT, 90000, ssrc, 0);
    }

    public static ProducerParams audio(long ssrc) {
        return new ProducerParams("1", TrackKind.AUDIO, Codec.OPUS, AUDIO_PT, 48000, ssrc, 0);
    }

    /** A subscriber's params: its own SSRC and payload type, the audio-level extension moved to id 5. */
    public static ConsumerParams subscriber(long ssrc, int payloadType) {
        byte[] ids = new byte[256];
        ids[AUDIO_LEVEL_EXT] = 5;
        return new ConsumerParams(ssrc, payloadType, ids);
    }

    /** A VP8 packet with an audio-level extension (id 1, value {@code level}). */
    public static byte[] vp8(long ssrc, int seq, long ts, boolean keyframe, int level) {
        ByteBuf b = Unpooled.buffer(64);
        b.writeByte(0x90);                       // V=2, X=1
        b.writeByte(VIDEO_PT);
        b.writeShort(seq);
        b.writeInt((int) ts);
        b.writeInt((int) ssrc);
        b.writeShort(0xBEDE).writeShort(1);      // one-byte extensions, 1 word
        b.writeByte(AUDIO_LEVEL_EXT << 4).writeByte(level).writeByte(0).writeByte(0);
        b.writeByte(0x10);                       // VP8 descriptor: S=1
        b.writeByte(keyframe ? 0x00 : 0x01);     // P bit: 0 = key frame
        b.writeByte(0).writeByte(0);
        for (int i = 0; i < 20; i++) {
            b.writeByte(seq + i);
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    /** An Opus packet with an audio-level extension. */
    public static byte[] opus(long ssrc, int seq, long ts, int level) {
        byte[] p = vp8(ssrc, seq, ts, false, level);
        p[1] = (byte) AUDIO_PT;
        return p;
    }

    public static long ssrcOf(byte[] rtp) {
        return Unpooled.wrappedBuffer(rtp).getUnsignedInt(8);
    }

    public static int seqOf(byte[] rtp) {
        return Unpooled.wrappedBuffer(rtp).getUnsignedShort(2);
    }


    @Override
    public void close() {
        engine.close();
    }
}
