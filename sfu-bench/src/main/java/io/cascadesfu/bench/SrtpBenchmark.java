package io.cascadesfu.bench;

import io.cascadesfu.core.dtls.SrtpKeys;
import io.cascadesfu.core.dtls.SrtpProfile;
import io.cascadesfu.core.srtp.SrtpResult;
import io.cascadesfu.core.srtp.SrtpSession;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayDeque;
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
 * {@link SrtpSession#protectRtp} and {@link SrtpSession#unprotectRtp} of a 1200-byte VP8 RTP packet, per profile
 * and for heap and direct buffers (a direct buffer, what the node receives and sends, goes through the session's
 * scratch array: two extra copies).
 *
 * <p>What is measured is the real work, never a failure: every result is checked, failures are counted, and an
 * iteration with any failure throws in its tear-down.
 * <ul>
 *   <li>{@code protect}: a new sequence number per operation, writerIndex reset to the plain length, the bytes
 *       encrypted again in place (the cipher's cost does not depend on what the bytes are).</li>
 *   <li>{@code unprotect}: the receive side keeps replay protection on (a replayed index fails), so packets come
 *       from a ring of {@value #RING} packets protected once in sequence. Each op copies the next one into the
 *       receive buffer (as the kernel copies a datagram) and unprotects it there. A receive session sees the
 *       ring once, then the next one of a pool of sessions made with the same keys in the iteration's set-up
 *       takes over, each already holding its SSRC context (primed with packet 0). {@code ringCopy} measures that
 *       copy alone, to subtract.</li>
 * </ul>
 *
 * <p>Run: {@code java -jar sfu-bench/target/sfu-bench.jar SrtpBenchmark -prof gc}
 * (one profile: {@code -p profile=AEAD_AES_128_GCM}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Djmh.executor=CUSTOM",
    "-Djmh.executor.class=io.cascadesfu.bench.FastThreadLocalExecutor", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SrtpBenchmark {

    /** Packets in the unprotect ring; a power of two. */
    static final int RING = 16384;
    /** Receive sessions made per iteration; each serves {@link #RING} - 1 operations. */
    static final int SESSIONS_PER_ITERATION = 512;

    @Param({"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"})
    public SrtpProfile profile;

    @Param({"heap", "direct"})
    public String buffer;

    private SrtpKeys senderKeys;
    private SrtpKeys receiverKeys;
    private SrtpSession sender;
    private ByteBuf work;
    private int plainLength;
    private int seq;

    private byte[][] ring;
    private final ArrayDeque<SrtpSession> receivers = new ArrayDeque<>();
    private SrtpSession receiver;
    private int ringIndex;

    private long failures;
    private long sessionsMadeInMeasurement;

    @Setup(Level.Trial)
    public void setUp() {
        senderKeys = RtpFixtures.keys(profile, 7);
        receiverKeys = RtpFixtures.peerOf(senderKeys);
        sender = new SrtpSession(senderKeys);
        work = "direct".equals(buffer) ? Unpooled.directBuffer(2048) : Unpooled.buffer(2048);
        RtpFixtures.writeVp8(work, 0, 90_000, false, false);
        plainLength = work.readableBytes();

        // The ring: packets 0..RING-1 of one stream, protected in order by a sender of their own.
        SrtpSession ringSender = new SrtpSession(senderKeys);
        ring = new byte[RING][];
        ByteBuf p = Unpooled.buffer(2048);
        for (int i = 0; i < RING; i++) {
            p.clear();
            RtpFixtures.writeVp8(p, i, 90_000 + 3000L * (i / 8), i == 0, i % 8 == 7);
            check(ringSender.protectRtp(p), "ring protect");
            ring[i] = RtpFixtures.toArray(p);
        }
        p.release();
        ringSender.close();

        // Verify: what protect makes, a receiver takes back to the same plain bytes.
        ByteBuf plain = work.copy();
        protect();
        if (failures != 0) {
            throw new IllegalStateException("protect failed");
        }
        SrtpSession verifier = new SrtpSession(receiverKeys);
        check(verifier.unprotectRtp(work), "unprotect of protect");
        plain.setShort(2, seq);
        if (!work.equals(plain)) {
            throw new IllegalStateException("unprotect did not restore the plain packet");
        }
        plain.release();
        verifier.close();
    }

    @Setup(Level.Iteration)
    public void makeReceivers() {
        if (receiver != null) {
            receiver.close();
        }
        while (receivers.size() < SESSIONS_PER_ITERATION) {
            receivers.add(primedReceiver());
        }
        receiver = receivers.poll();
        ringIndex = 1;
        failures = 0;
        sessionsMadeInMeasurement = 0;
    }

    @TearDown(Level.Iteration)
    public void checkFailures() {
        if (failures != 0) {
            throw new IllegalStateException(failures + " SRTP operations failed in this iteration");
        }
        if (sessionsMadeInMeasurement != 0) {
            System.out.println("note: " + sessionsMadeInMeasurement + " receive sessions made during the iteration");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        work.release();
        sender.close();
        receivers.forEach(SrtpSession::close);
        receivers.clear();
        if (receiver != null) {
            receiver.close();
        }
    }

    @Benchmark
    public int protect() {
        ByteBuf p = work;
        p.writerIndex(p.readerIndex() + plainLength);
        p.setShort(p.readerIndex() + 2, ++seq);
        SrtpResult result = sender.protectRtp(p);
        if (result != SrtpResult.OK) {
            failures++;
        }
        return p.writerIndex();
    }

    @Benchmark
    public int unprotect() {
        if (ringIndex == RING) {
            nextReceiver();
        }
        byte[] packet = ring[ringIndex++];
        ByteBuf p = work.clear().writeBytes(packet);
        SrtpResult result = receiver.unprotectRtp(p);
        if (result != SrtpResult.OK) {
            failures++;
        }
        return p.writerIndex();
    }

    /** The copy {@link #unprotect} makes before the work, alone. */
    @Benchmark
    public int ringCopy() {
        if (ringIndex == RING) {
            ringIndex = 1;
        }
        return work.clear().writeBytes(ring[ringIndex++]).writerIndex();
    }

    private void nextReceiver() {
        receiver.close();
        receiver = receivers.poll();
        if (receiver == null) {
            sessionsMadeInMeasurement++;
            receiver = primedReceiver();
        }
        ringIndex = 1;
    }

    private SrtpSession primedReceiver() {
        SrtpSession s = new SrtpSession(receiverKeys);
        ByteBuf p = Unpooled.wrappedBuffer(ring[0].clone());
        check(s.unprotectRtp(p), "priming unprotect");
        return s;
    }

    private static void check(SrtpResult result, String what) {
        if (result != SrtpResult.OK) {
            throw new IllegalStateException(what + ": " + result);
        }
    }
}
