package io.cascadesfu.core.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The media plane's counters, made once at start so that the hot path only increments
 * (Micrometer counters are lock-free adders: safe from any thread, no allocation).
 */
public final class SfuMetrics {
    /** Kinds of datagram counted in and out. */
    public enum Kind { STUN, DTLS, RTP, RTCP }

    private final MeterRegistry registry;
    private final Counter[] packetsIn = new Counter[Kind.values().length];
    private final Counter[] bytesIn = new Counter[Kind.values().length];
    private final Counter[] packetsOut = new Counter[Kind.values().length];
    private final Counter[] bytesOut = new Counter[Kind.values().length];
    private final Counter[] dropped = new Counter[DropReason.values().length];
    private final Timer forwardLatency;
    private final Counter handshakesSucceeded;
    private final Counter handshakesFailed;
    private final Counter addressSwitches;
    private final Counter nackRequested;
    private final Counter nackMissed;
    private final Counter retransmitted;
    private final Counter nackSent;
    private final Counter layerSwitches;
    private final Counter probePackets;

    public SfuMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (Kind kind : Kind.values()) {
            String tag = kind.name().toLowerCase(java.util.Locale.ROOT);
            packetsIn[kind.ordinal()] = Counter.builder("sfu.packets.in").description("Datagrams received on the media port and relay links")
                    .tag("kind", tag).register(registry);
            bytesIn[kind.ordinal()] = Counter.builder("sfu.bytes.in").tag("kind", tag).register(registry);
            packetsOut[kind.ordinal()] = Counter.builder("sfu.packets.out").description("Datagrams sent from the media port")
                    .tag("kind", tag).register(registry);
            bytesOut[kind.ordinal()] = Counter.builder("sfu.bytes.out").tag("kind", tag).register(registry);
        }
        for (DropReason reason : DropReason.values()) {
            dropped[reason.ordinal()] = Counter.builder("sfu.packets.dropped").description("Packets dropped, by reason")
                    .tag("reason", reason.tag()).register(registry);
        }
        forwardLatency = Timer.builder("sfu.forward.latency")
                .description("Per datagram: from the moment its recvmmsg batch came off the socket to the moment what "
                        + "it caused was flushed to the socket; the latency the node's processing and queueing behind "
                        + "the datagrams read with it add (kernel socket queues not included)")
                .publishPercentiles(0.5, 0.9, 0.99, 0.999)
                .distributionStatisticExpiry(java.time.Duration.ofSeconds(30))
                .distributionStatisticBufferLength(3)
                .register(registry);
        handshakesSucceeded = Counter.builder("sfu.dtls.handshakes").tag("result", "success").register(registry);
        handshakesFailed = Counter.builder("sfu.dtls.handshakes").tag("result", "failure").register(registry);
        nackRequested = Counter.builder("sfu.nack.requested")
                .description("Packets subscribers asked again for (generic NACK)").register(registry);
        nackMissed = Counter.builder("sfu.nack.missed")
                .description("NACKed packets the node no longer had (or never forwarded)").register(registry);
        retransmitted = Counter.builder("sfu.retransmitted")
                .description("Packets the node sent again from its cache, answering NACKs").register(registry);
        nackSent = Counter.builder("sfu.nack.sent")
                .description("Packets the node asked publishers again for (gaps in what they sent)").register(registry);
        probePackets = Counter.builder("sfu.bwe.probe.packets")
                .description("Padding packets sent on rtx streams to probe a subscriber's bandwidth").register(registry);
        layerSwitches = Counter.builder("sfu.layer.switches")
                .description("Simulcast layer switches of subscribers (each on a keyframe of the new layer)")
                .register(registry);
        addressSwitches = Counter.builder("sfu.ice.address.switches")
                .description("Transports whose media moved to a new client address (fresh ICE check, then "
                        + "authenticated SRTP from it)")
                .register(registry);
    }

    /** Metrics kept in memory only, for tests and tools. */
    public static SfuMetrics inMemory() {
        return new SfuMetrics(new SimpleMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void received(Kind kind, int bytes) {
        packetsIn[kind.ordinal()].increment();
        bytesIn[kind.ordinal()].increment(bytes);
    }

    public void sent(Kind kind, int bytes) {
        packetsOut[kind.ordinal()].increment();
        bytesOut[kind.ordinal()].increment(bytes);
    }

    public void drop(DropReason reason) {
        dropped[reason.ordinal()].increment();
    }

    public double dropped(DropReason reason) {
        return dropped[reason.ordinal()].count();
    }

    public double packetsOut(Kind kind) {
        return packetsOut[kind.ordinal()].count();
    }

    public double packetsIn(Kind kind) {
        return packetsIn[kind.ordinal()].count();
    }

    /** One datagram handled: {@code nanos} from its recvmmsg batch's arrival to the end of its flush. */
    public void datagramHandled(long nanos) {
        forwardLatency.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    public void nackRequested() {
        nackRequested.increment();
    }

    public void nackMissed() {
        nackMissed.increment();
    }

    public void retransmitted() {
        retransmitted.increment();
    }

    public void nackSent(int packets) {
        nackSent.increment(packets);
    }

    public double nackSentCount() {
        return nackSent.count();
    }

    public double retransmittedCount() {
        return retransmitted.count();
    }

    public void probePacketSent() {
        probePackets.increment();
    }

    public double probePackets() {
        return probePackets.count();
    }

    /** A subscriber's consumer moved to another simulcast layer. */
    public void layerSwitched() {
        layerSwitches.increment();
    }

    public double layerSwitches() {
        return layerSwitches.count();
    }

    /** A transport's media moved to a new client address. */
    public void addressSwitched() {
        addressSwitches.increment();
    }

    public double addressSwitches() {
        return addressSwitches.count();
    }

    public void handshake(boolean success) {
        (success ? handshakesSucceeded : handshakesFailed).increment();
    }
}
