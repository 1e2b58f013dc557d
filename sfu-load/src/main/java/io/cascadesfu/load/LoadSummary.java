package io.cascadesfu.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The result of a run: what the summary prints and {@code --json} writes. Times in milliseconds, rates per
 * second, loss in percent.
 */
record LoadSummary(
        String shape,
        int participants,
        int rooms,
        List<String> nodes,
        String impairmentUp,
        String impairmentDown,
        double seconds,
        int connected,
        int failed,
        Map<String, Integer> failures,
        Percentiles connectMs,
        int streamsExpected,
        int streamsReceiving,
        long packetsSent,
        long bytesSent,
        long packetsReceived,
        long bytesReceived,
        double packetsSentPerSecond,
        double packetsReceivedPerSecond,
        double mbitSentPerSecond,
        double mbitReceivedPerSecond,
        long packetsExpected,
        long packetsLost,
        double lossPercent,
        Percentiles latencyMs,
        Percentiles jitterMs,
        long keyframesSent,
        long keyframeRequests,
        long foreignPackets,
        List<NodeResult> nodeResults,
        List<ParticipantResult> participantResults,
        Map<String, String> impairmentFor,
        boolean nack,
        long deadlineMs,
        long nacksSent,
        long retransmissionsSent,
        List<KindResult> kinds) {

    /** Percentiles of a distribution, milliseconds. */
    record Percentiles(long count, double mean, double p50, double p90, double p95, double p99, double p999,
                       double max) {
        static Percentiles ofMicros(Histogram h) {
            if (h.getTotalCount() == 0) {
                return new Percentiles(0, 0, 0, 0, 0, 0, 0, 0);
            }
            return new Percentiles(h.getTotalCount(), round(h.getMean() / 1000),
                    round(h.getValueAtPercentile(50) / 1000.0), round(h.getValueAtPercentile(90) / 1000.0),
                    round(h.getValueAtPercentile(95) / 1000.0), round(h.getValueAtPercentile(99) / 1000.0),
                    round(h.getValueAtPercentile(99.9) / 1000.0), round(h.getMaxValue() / 1000.0));
        }
    }

    /**
     * What the subscribers got of one kind (audio or video) in the measured window.
     *
     * @param packetsExpected      from the received streams' sequence numbers
     * @param packetsInTime        distinct packets that arrived within the deadline of their send time
     * @param residualLossPercent  expected but not delivered in time (lost, or repaired too late)
     * @param lossPercent          expected but never arrived
     */
    record KindResult(String kind, long packetsExpected, long packetsInTime, double residualLossPercent,
                      double lossPercent, Percentiles latencyMs, Percentiles jitterMs) {
    }

    /** A node's resource use: CPU as a share of the whole machine (0..100 %), heap in MB, its RTP counters. */
    record NodeResult(String url, double cpuPercentStart, double cpuPercentEnd, double cpuPercentPeak,
                      double cpuCount, double heapMbStart, double heapMbEnd, double heapMbPeak,
                      double rtpInPerSecond, double rtpOutPerSecond, double coresUsed, double rtpOutPerCoreSecond,
                      double nodeLatencyP50Ms, double nodeLatencyP99Ms, String error) {
    }

    /** One stream received by one participant. */
    record StreamResult(int sender, String kind, long received, long expected, long lost, long inTime) {
    }

    record ParticipantResult(String identity, String room, String state, String failure, double connectMs,
                             int streamsExpected, List<StreamResult> streams) {
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    void writeJson(Path file) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        mapper.writeValue(file.toFile(), this);
    }

    /** The human-readable summary. */
    String toText() {
        StringBuilder b = new StringBuilder();
        b.append("==== summary ====\n");
        b.append(String.format(Locale.ROOT, "shape %s, %d participants in %d room(s) on %s, measured %.1f s"
                + " (after the ramp)%n", shape,
                participants, rooms, String.join(" ", nodes), seconds));
        if (!impairmentUp.equals("none") || !impairmentDown.equals("none")) {
            b.append(String.format(Locale.ROOT, "impairment: client->node [%s], node->client [%s]%n", impairmentUp,
                    impairmentDown));
        }
        impairmentFor.forEach((i, imp) -> b.append(String.format(Locale.ROOT,
                "impairment of participant %s: [%s] both directions%n", i, imp)));
        b.append(String.format(Locale.ROOT, "participants: %d connected, %d failed%n", connected, failed));
        failures.forEach((reason, n) -> b.append(String.format(Locale.ROOT, "  %4d x %s%n", n, reason)));
        b.append(String.format(Locale.ROOT, "connect time ms: p50 %.0f  p90 %.0f  p99 %.0f  max %.0f%n",
                connectMs.p50(), connectMs.p90(), connectMs.p99(), connectMs.max()));
        b.append(String.format(Locale.ROOT, "streams: %d of %d expected are receiving%n", streamsReceiving,
                streamsExpected));
        b.append(String.format(Locale.ROOT, "sent:     %,d packets  %.0f pkt/s  %.2f Mbit/s  (%d keyframes, %d requested)%n",
                packetsSent, packetsSentPerSecond, mbitSentPerSecond, keyframesSent, keyframeRequests));
        b.append(String.format(Locale.ROOT, "received: %,d packets  %.0f pkt/s  %.2f Mbit/s%n", packetsReceived,
                packetsReceivedPerSecond, mbitReceivedPerSecond));
        b.append(String.format(Locale.ROOT, "loss: %,d of %,d expected = %.3f %%%n", packetsLost, packetsExpected,
                lossPercent));
        b.append(String.format(Locale.ROOT,
                "latency ms (one-way, end to end): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (%,d samples)%n",
                latencyMs.p50(), latencyMs.p90(), latencyMs.p99(), latencyMs.p999(), latencyMs.max(),
                latencyMs.count()));
        b.append(String.format(Locale.ROOT, "jitter ms (RFC 3550): p50 %.2f  p90 %.2f  p99 %.2f  max %.2f%n",
                jitterMs.p50(), jitterMs.p90(), jitterMs.p99(), jitterMs.max()));
        if (nack) {
            b.append(String.format(Locale.ROOT, "nack: %,d packets asked for again, %,d resent by publishers%n",
                    nacksSent, retransmissionsSent));
        }
        for (KindResult k : kinds) {
            b.append(String.format(Locale.ROOT,
                    "%s: residual loss (not delivered within %d ms) %.3f %% of %,d, never arrived %.3f %%, latency"
                            + " p50 %.2f p95 %.2f p99 %.2f ms, jitter p50 %.2f p95 %.2f ms%n",
                    k.kind(), deadlineMs, k.residualLossPercent(), k.packetsExpected(), k.lossPercent(),
                    k.latencyMs().p50(), k.latencyMs().p95(), k.latencyMs().p99(), k.jitterMs().p50(),
                    k.jitterMs().p95()));
        }
        for (NodeResult n : nodeResults) {
            if (n.error() != null && n.cpuCount() == 0) {
                b.append(String.format(Locale.ROOT, "node %s: metrics unavailable (%s)%n", n.url(), n.error()));
                continue;
            }
            b.append(String.format(Locale.ROOT,
                    "node %s: cpu %.0f%% -> %.0f%% (peak %.0f%% of %.0f cores = %.2f cores), heap %.0f -> %.0f MB"
                            + " (peak %.0f), rtp in %.0f/s out %.0f/s%n"
                            + "node %s: measured window: %.2f cores used (process CPU time), %.0f rtp packets out per core-second%n"
                            + "node %s: latency the node adds per datagram (sfu_forward_latency): p50 %.3f ms  p99 %.3f ms%n",
                    n.url(), n.cpuPercentStart(), n.cpuPercentEnd(), n.cpuPercentPeak(), n.cpuCount(),
                    n.cpuPercentPeak() / 100 * n.cpuCount(), n.heapMbStart(), n.heapMbEnd(), n.heapMbPeak(),
                    n.rtpInPerSecond(), n.rtpOutPerSecond(), n.url(), n.coresUsed(), n.rtpOutPerCoreSecond(),
                    n.url(), n.nodeLatencyP50Ms(), n.nodeLatencyP99Ms()));
        }
        if (foreignPackets > 0) {
            b.append(String.format(Locale.ROOT, "packets without a probe header: %d%n", foreignPackets));
        }
        return b.toString();
    }
}
