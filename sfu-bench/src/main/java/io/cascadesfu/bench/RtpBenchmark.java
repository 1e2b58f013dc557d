package io.cascadesfu.bench;

import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.rtp.RtpRewriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RTP header work per packet on a 1200-byte Chromium VP8 packet with one-byte header extensions
 * ({@link RtpFixtures#writeVp8}), held in a pooled direct buffer as a received datagram is:
 *
 * <ul>
 *   <li>{@code validate}: {@link RtpPacket#validate}, what every received packet goes through;</li>
 *   <li>{@code rewrite}: what a consumer does per subscriber, without the buffer pool: copy the packet into a
 *       reused buffer, {@link RtpRewriter#rewrite} (sequence number, timestamp, SSRC),
 *       {@link RtpPacket#setPayloadType}, {@link RtpPacket#rewriteExtensionIds}, {@link RtpPacket#setSsrc};</li>
 *   <li>{@code pooledCopyAndRewrite}: the same on a copy taken from and returned to the pooled allocator, as
 *       {@code Consumer.onProducerRtp} does;</li>
 *   <li>{@code naiveParse} / {@code naiveRewrite}: the baseline, a parser as often written: a {@link ByteBuffer}
 *       over a {@code byte[]} read into a new header object with a list of extension objects per packet, and for
 *       the rewrite the header changed on the object and serialized into a new array with the payload.</li>
 * </ul>
 * A fresh input sequence number per operation keeps the rewriter on its normal path (no duplicate drop).
 *
 * <p>Run: {@code java -jar sfu-bench/target/sfu-bench.jar RtpBenchmark -prof gc}
 * (smoke: {@code java -jar sfu-bench/target/sfu-bench.jar RtpBenchmark.validate -f 1 -wi 1 -i 1 -w 1s -r 1s}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Djmh.executor=CUSTOM",
    "-Djmh.executor.class=io.cascadesfu.bench.FastThreadLocalExecutor"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RtpBenchmark {

    private static final int SUBSCRIBER_PT = 100;
    private static final long SUBSCRIBER_SSRC = 0x5EED_0001L;

    private ByteBuf packet;
    private ByteBuf copy;
    private byte[] packetBytes;
    private RtpRewriter rewriter;
    private final byte[] extensionIds = RtpFixtures.subscriberExtensionIds();
    private int seq;
    private long failures;

    @Setup(Level.Trial)
    public void setUp() {
        packet = PooledByteBufAllocator.DEFAULT.directBuffer(2048);
        RtpFixtures.writeVp8(packet, 1000, 90_000, false, false);
        packetBytes = RtpFixtures.toArray(packet);
        copy = PooledByteBufAllocator.DEFAULT.directBuffer(2048);
        rewriter = new RtpRewriter(SUBSCRIBER_SSRC, 90_000);
        seq = 1000;
        if (RtpPacket.validate(packet) != 12 + 16) {
            throw new IllegalStateException("fixture packet does not validate: " + RtpPacket.validate(packet));
        }
        if (rewrite() < 0 || naiveRewrite().length != packetBytes.length
                || naiveParse().extensions.size() != 3) {
            throw new IllegalStateException("fixture packet does not rewrite");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        packet.release();
        copy.release();
        if (failures != 0) {
            throw new IllegalStateException(failures + " rewrites dropped a fresh packet");
        }
    }

    @Benchmark
    public int validate() {
        return RtpPacket.validate(packet);
    }

    @Benchmark
    public int rewrite() {
        RtpPacket.setSequenceNumber(packet, ++seq);
        ByteBuf out = copy.clear();
        out.writeBytes(packet, packet.readerIndex(), packet.readableBytes());
        return rewriteCopy(out);
    }

    @Benchmark
    public int pooledCopyAndRewrite() {
        RtpPacket.setSequenceNumber(packet, ++seq);
        int length = packet.readableBytes();
        ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(length + 16);
        try {
            out.writeBytes(packet, packet.readerIndex(), length);
            return rewriteCopy(out);
        } finally {
            out.release();
        }
    }

    private int rewriteCopy(ByteBuf out) {
        if (!rewriter.rewrite(out, seq * 20_000L)) {
            failures++;
            return -1;
        }
        RtpPacket.setPayloadType(out, SUBSCRIBER_PT);
        RtpPacket.rewriteExtensionIds(out, extensionIds);
        RtpPacket.setSsrc(out, SUBSCRIBER_SSRC);
        return RtpPacket.sequenceNumber(out);
    }

    @Benchmark
    public NaiveRtpPacket naiveParse() {
        return NaiveRtpPacket.parse(packetBytes);
    }

    @Benchmark
    public byte[] naiveRewrite() {
        NaiveRtpPacket p = NaiveRtpPacket.parse(packetBytes);
        p.sequenceNumber = (p.sequenceNumber + 1) & 0xFFFF;
        p.timestamp = (p.timestamp + 3000) & 0xFFFF_FFFFL;
        p.ssrc = SUBSCRIBER_SSRC;
        p.payloadType = SUBSCRIBER_PT;
        for (NaiveRtpPacket.Extension e : p.extensions) {
            e.id = extensionIds[e.id];
        }
        return p.serialize();
    }

    /** The baseline: the object-per-packet parser a first version usually is. */
    public static final class NaiveRtpPacket {
        int version;
        boolean padding;
        boolean extension;
        boolean marker;
        int payloadType;
        int sequenceNumber;
        long timestamp;
        long ssrc;
        long[] csrcs;
        int extensionProfile;
        List<Extension> extensions = new ArrayList<>();
        byte[] payload;

        /** One RFC 8285 element with its own copy of the data. */
        public static final class Extension {
            int id;
            byte[] data;

            Extension(int id, byte[] data) {
                this.id = id;
                this.data = data;
            }
        }

        static NaiveRtpPacket parse(byte[] bytes) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            NaiveRtpPacket p = new NaiveRtpPacket();
            int b0 = b.get() & 0xFF;
            p.version = b0 >>> 6;
            p.padding = (b0 & 0x20) != 0;
            p.extension = (b0 & 0x10) != 0;
            int cc = b0 & 0x0F;
            int b1 = b.get() & 0xFF;
            p.marker = (b1 & 0x80) != 0;
            p.payloadType = b1 & 0x7F;
            p.sequenceNumber = b.getShort() & 0xFFFF;
            p.timestamp = b.getInt() & 0xFFFF_FFFFL;
            p.ssrc = b.getInt() & 0xFFFF_FFFFL;
            p.csrcs = new long[cc];
            for (int i = 0; i < cc; i++) {
                p.csrcs[i] = b.getInt() & 0xFFFF_FFFFL;
            }
            if (p.extension) {
                p.extensionProfile = b.getShort() & 0xFFFF;
                int end = b.position() + 2 + 4 * (b.getShort() & 0xFFFF);
                while (b.position() < end) {
                    int h = b.get() & 0xFF;
                    if (h == 0) {
                        continue;
                    }
                    byte[] data = new byte[(h & 0x0F) + 1];
                    b.get(data);
                    p.extensions.add(new Extension(h >>> 4, data));
                }
            }
            p.payload = new byte[b.remaining()];
            b.get(p.payload);
            return p;
        }

        byte[] serialize() {
            int extBytes = 0;
            for (Extension e : extensions) {
                extBytes += 1 + e.data.length;
            }
            int extWords = (extBytes + 3) / 4;
            ByteBuffer b = ByteBuffer.allocate(12 + 4 * csrcs.length + (extension ? 4 + 4 * extWords : 0)
                + payload.length);
            b.put((byte) (version << 6 | (padding ? 0x20 : 0) | (extension ? 0x10 : 0) | csrcs.length));
            b.put((byte) ((marker ? 0x80 : 0) | payloadType));
            b.putShort((short) sequenceNumber);
            b.putInt((int) timestamp);
            b.putInt((int) ssrc);
            for (long csrc : csrcs) {
                b.putInt((int) csrc);
            }
            if (extension) {
                b.putShort((short) extensionProfile);
                b.putShort((short) extWords);
                for (Extension e : extensions) {
                    b.put((byte) (e.id << 4 | (e.data.length - 1)));
                    b.put(e.data);
                }
                for (int i = extBytes; i < 4 * extWords; i++) {
                    b.put((byte) 0);
                }
            }
            b.put(payload);
            return b.array();
        }
    }
}
