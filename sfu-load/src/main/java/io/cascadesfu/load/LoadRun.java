package io.cascadesfu.load;

import io.cascadesfu.load.LoadSummary.KindResult;
import io.cascadesfu.load.LoadSummary.NodeResult;
import io.cascadesfu.load.LoadSummary.ParticipantResult;
import io.cascadesfu.load.LoadSummary.Percentiles;
import io.cascadesfu.load.LoadSummary.StreamResult;
import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * One load run: starts the participants at the ramp rate, prints a progress line every report interval,
 * measures for the given duration once all have started (and the warm-up after that has passed), stops the media, lets packets in flight arrive,
 * and returns the summary.
 *
 * <p>Threading: {@link #run()} on the caller's thread, which is also the reporter thread. Every wait in it is
 * bounded by the run's end time.
 */
final class LoadRun {
    /** After the media stops, how long packets still in flight may take to arrive (plus any impairment delay). */
    static final long DRAIN_MS = 300;
    /** How often the ramp checks whether a gated participant may join. */
    static final long GATE_POLL_NS = TimeUnit.MILLISECONDS.toNanos(10);

    private final LoadOptions options;
    private final PrintStream out;

    // reporter state
    private long measureStartNs;
    private long baseSent;
    private long baseSentBytes;
    private long baseReceived;
    private long baseReceivedBytes;
    private final Map<ReceiveStream, long[]> baseStreams = new IdentityHashMap<>();
    private long lastReportNs;
    private long lastSent;
    private long lastSentBytes;
    private long lastReceived;
    private long lastReceivedBytes;
    private long lastExpected;
    private long lastStreamReceived;

    LoadRun(LoadOptions options, PrintStream out) {
        this.options = options;
        this.out = out;
    }

    LoadSummary run() throws InterruptedException {
        try (LoadContext ctx = new LoadContext(options)) {
            return run(ctx);
        }
    }

    private LoadSummary run(LoadContext ctx) throws InterruptedException {
        String runId = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
        List<NodeMetrics> nodes = new ArrayList<>();
        for (URI url : options.allUrls()) {
            NodeMetrics n = new NodeMetrics(url, ctx.http);
            n.scrape();
            nodes.add(n);
        }
        List<SimulatedParticipant> participants = new ArrayList<>();
        for (int i = 0; i < options.participants; i++) {
            int room = i % options.rooms;
            participants.add(new SimulatedParticipant(ctx, i, i / options.rooms,
                    options.roomPrefix + "-" + runId + "-" + room, options.urlOf(i)));
        }
        for (SimulatedParticipant p : participants) {
            int expected = 0;
            for (SimulatedParticipant other : participants) {
                if (other != p && other.room.equals(p.room)) {
                    expected += (other.sendsAudio ? 1 : 0) + (other.sendsVideo ? 1 : 0);
                }
            }
            p.expectedStreams = expected;
        }
        out.printf(Locale.ROOT, "load run %s: shape %s, %d participants in %d room(s) on %s, ramp %.1f/s, "
                        + "measuring %d s after the ramp%s%n", runId, options.shape.name().toLowerCase(Locale.ROOT),
                options.participants, options.rooms, options.urlFor.isEmpty() ? options.urls
                        : options.urls + " (" + options.urlFor + " on their own)", options.rampPerSecond,
                options.duration.toSeconds(), options.impaired()
                        ? ", impairment up [" + options.impairUp + "] down [" + options.impairDown + "]"
                        + (options.impairFor.isEmpty() ? "" : " per participant " + options.impairFor)
                        : options.via != null ? ", media via " + options.via : "");

        long startNs = System.nanoTime();
        long rampIntervalNs = (long) (1e9 / options.rampPerSecond);
        long endNs = Long.MAX_VALUE;   // known once the ramp is done
        long warmupEndNs = Long.MAX_VALUE;
        long rampDeadlineNs = startNs + rampIntervalNs * options.participants
                + options.connectTimeout.toNanos() * 2 + TimeUnit.MINUTES.toNanos(1);
        long reportNs = options.reportInterval.toNanos();
        long nextReportNs = startNs + reportNs;
        lastReportNs = startNs;
        int started = 0;
        boolean measuring = false;
        while (true) {
            long now = System.nanoTime();
            while (started < participants.size() && now - (startNs + started * rampIntervalNs) >= 0
                    && mayJoin(participants, started)) {
                participants.get(started++).start();
            }
            if (!measuring && warmupEndNs == Long.MAX_VALUE
                    && (started == participants.size() || now - rampDeadlineNs >= 0)) {
                warmupEndNs = now + options.warmup.toNanos();
            }
            if (!measuring && now - warmupEndNs >= 0 && warmupEndNs != Long.MAX_VALUE) {
                measuring = true;
                startMeasurement(ctx, participants, nodes);
                endNs = now + options.duration.toNanos();
            }
            if (now - nextReportNs >= 0) {
                progress(ctx, participants, nodes, now, startNs);
                nodes.forEach(NodeMetrics::scrapeAsync);
                nextReportNs += reportNs;
            }
            if (measuring && now - endNs >= 0) {
                break;
            }
            long wake = Math.min(nextReportNs, measuring ? endNs : warmupEndNs);
            if (started < participants.size()) {
                wake = Math.min(wake, Math.max(startNs + started * rampIntervalNs, now + GATE_POLL_NS));
            }
            long sleepNs = wake - now;
            if (sleepNs > 0) {
                TimeUnit.NANOSECONDS.sleep(Math.min(sleepNs, TimeUnit.SECONDS.toNanos(1)));
            }
        }
        long mediaStopNs = System.nanoTime();
        for (SimulatedParticipant p : participants) {
            p.stopMedia();
        }
        long drainMs = DRAIN_MS + maxDelayMs(options.impairUp) + maxDelayMs(options.impairDown);
        for (Impairment i : options.impairFor.values()) {
            drainMs = Math.max(drainMs, DRAIN_MS + 2 * maxDelayMs(i) + maxDelayMs(options.impairUp)
                    + maxDelayMs(options.impairDown));
        }
        Thread.sleep(drainMs);
        for (NodeMetrics n : nodes) {
            n.scrape();
        }
        LoadSummary summary = summarize(ctx, participants, nodes, (mediaStopNs - measureStartNs) / 1e9);
        for (SimulatedParticipant p : participants) {
            p.close();
        }
        return summary;
    }

    /**
     * Unless {@code --concurrent-joins}: a participant joins its room only once the previous participant of that
     * room is connected (or has failed, which the connect timeout bounds): real rooms rarely see two joins within
     * the same round trip. {@code --concurrent-joins} exercises exactly that case.
     */
    private boolean mayJoin(List<SimulatedParticipant> participants, int index) {
        if (options.concurrentJoins || index < options.rooms) {
            return true;
        }
        return participants.get(index - options.rooms).connected().isDone();
    }

    /**
     * The summary covers the measurement window only (from the last participant's start to the end), so that
     * joins, handshakes and warm-up of the ramp do not blur the steady state; progress lines cover everything.
     */
    private void startMeasurement(LoadContext ctx, List<SimulatedParticipant> participants, List<NodeMetrics> nodes) {
        LoadStats stats = ctx.stats;
        measureStartNs = System.nanoTime();
        stats.resetTotals();
        baseSent = stats.packetsSent.sum();
        baseSentBytes = stats.bytesSent.sum();
        baseReceived = stats.packetsReceived.sum();
        baseReceivedBytes = stats.bytesReceived.sum();
        for (SimulatedParticipant p : participants) {
            for (ReceiveStream s : p.streams) {
                baseStreams.put(s, new long[] {s.expected(), s.received(), s.inTime()});
            }
        }
        nodes.forEach(NodeMetrics::markBaseline);
    }

    private Map<String, String> impairForText() {
        Map<String, String> m = new TreeMap<>();
        options.impairFor.forEach((i, imp) -> m.put(String.valueOf(i), imp.toString()));
        return m;
    }

    private static long maxDelayMs(Impairment i) {
        return (i.delayUs() + i.jitterUs()) / 1000 + (i.rateBps() > 0 ? Impairment.MAX_QUEUE_DELAY_US / 1000 : 0);
    }

    private void progress(LoadContext ctx, List<SimulatedParticipant> participants, List<NodeMetrics> nodes, long now,
                          long startNs) {
        LoadStats stats = ctx.stats;
        LoadStats.Interval interval = stats.takeInterval();
        double seconds = (now - lastReportNs) / 1e9;
        lastReportNs = now;
        int connected = 0;
        int failed = 0;
        long expected = 0;
        long streamReceived = 0;
        for (SimulatedParticipant p : participants) {
            if (p.failure() != null) {
                failed++;
            } else if (p.state() == SimulatedParticipant.State.CONNECTED) {
                connected++;
            }
            for (ReceiveStream s : p.streams) {
                expected += s.expected();
                streamReceived += s.received();
            }
        }
        long sent = stats.packetsSent.sum();
        long sentBytes = stats.bytesSent.sum();
        long received = stats.packetsReceived.sum();
        long receivedBytes = stats.bytesReceived.sum();
        long dExpected = expected - lastExpected;
        long dLost = Math.max(0, dExpected - (streamReceived - lastStreamReceived));
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                "[%6.1fs] connected %d/%d%s | out %,.0f pkt/s %.1f Mbit/s | in %,.0f pkt/s %.1f Mbit/s | loss %.2f%% "
                        + "| latency p50 %.2f p99 %.2f ms | jitter p50 %.2f ms",
                (now - startNs) / 1e9, connected, participants.size(), failed > 0 ? " (" + failed + " failed)" : "",
                (sent - lastSent) / seconds, (sentBytes - lastSentBytes) * 8 / seconds / 1e6,
                (received - lastReceived) / seconds, (receivedBytes - lastReceivedBytes) * 8 / seconds / 1e6,
                dExpected > 0 ? 100.0 * dLost / dExpected : 0.0,
                interval.latencyUs().getValueAtPercentile(50) / 1000.0,
                interval.latencyUs().getValueAtPercentile(99) / 1000.0,
                interval.jitterUs().getValueAtPercentile(50) / 1000.0));
        for (NodeMetrics n : nodes) {
            NodeMetrics.Sample s = n.latest();
            if (s != null) {
                double fwd = n.recentRtpOutPerSecond();
                line.append(String.format(Locale.ROOT, " | node cpu %.0f%% heap %.0f MB%s",
                        s.cpuUsage() * 100, s.heapBytes() / 1e6,
                        fwd >= 0 ? String.format(Locale.ROOT, " fwd %,.0f pkt/s", fwd) : ""));
            }
        }
        out.println(line);
        lastSent = sent;
        lastSentBytes = sentBytes;
        lastReceived = received;
        lastReceivedBytes = receivedBytes;
        lastExpected = expected;
        lastStreamReceived = streamReceived;
    }

    private LoadSummary summarize(LoadContext ctx, List<SimulatedParticipant> participants, List<NodeMetrics> nodes,
                                  double seconds) {
        LoadStats stats = ctx.stats;
        stats.takeInterval();
        Histogram connectUs = new Histogram(3_600_000_000L, 3);
        Map<String, Integer> failures = new TreeMap<>();
        int connected = 0;
        int failed = 0;
        int streamsExpected = 0;
        int streamsReceiving = 0;
        long expected = 0;
        long lost = 0;
        long[] kindExpected = new long[2];
        long[] kindReceived = new long[2];
        long[] kindInTime = new long[2];
        List<ParticipantResult> results = new ArrayList<>();
        for (SimulatedParticipant p : participants) {
            String failure = p.failure();
            if (failure != null) {
                failed++;
                failures.merge(failure, 1, Integer::sum);
            } else if (p.state() == SimulatedParticipant.State.CONNECTED) {
                connected++;
            }
            double connectMs = p.connectMs();
            if (connectMs >= 0) {
                connectUs.recordValue(Math.min(3_600_000_000L, (long) (connectMs * 1000)));
            }
            streamsExpected += p.expectedStreams;
            streamsReceiving += Math.min(p.expectedStreams, p.receivingStreams());
            List<StreamResult> streams = new ArrayList<>();
            for (ReceiveStream s : p.streams) {
                long[] base = baseStreams.getOrDefault(s, new long[3]);
                long e = s.expected() - base[0];
                expected += e;
                lost += Math.max(0, e - (s.received() - base[1]));
                int k = s.video ? 1 : 0;
                kindExpected[k] += e;
                kindReceived[k] += s.received() - base[1];
                kindInTime[k] += s.inTime() - base[2];
                streams.add(new StreamResult(s.senderIndex, s.video ? "video" : "audio", s.received(), s.expected(),
                        s.lost(), s.inTime()));
            }
            results.add(new ParticipantResult(p.identity, p.room, p.state().name().toLowerCase(Locale.ROOT), failure,
                    LoadSummary.round(connectMs), p.expectedStreams, streams));
        }
        List<NodeResult> nodeResults = new ArrayList<>();
        for (NodeMetrics n : nodes) {
            NodeMetrics.Sample first = n.first();
            NodeMetrics.Sample base = n.baseline();
            NodeMetrics.Sample last = n.latest();
            if (first == null || last == null) {
                nodeResults.add(new NodeResult(n.node.toString(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n.lastError()));
                continue;
            }
            double span = Math.max(1e-9, (last.atNs() - base.atNs()) / 1e9);
            double cpuSeconds = (last.cpuTimeNs() - base.cpuTimeNs()) / 1e9;
            double rtpOut = last.rtpOut() - base.rtpOut();
            nodeResults.add(new NodeResult(n.node.toString(), LoadSummary.round(first.cpuUsage() * 100),
                    LoadSummary.round(last.cpuUsage() * 100), LoadSummary.round(n.peakCpu() * 100), last.cpuCount(),
                    LoadSummary.round(first.heapBytes() / 1e6), LoadSummary.round(last.heapBytes() / 1e6),
                    LoadSummary.round(n.peakHeapBytes() / 1e6), LoadSummary.round((last.rtpIn() - base.rtpIn()) / span),
                    LoadSummary.round(rtpOut / span), LoadSummary.round(cpuSeconds / span),
                    cpuSeconds > 0 ? LoadSummary.round(rtpOut / cpuSeconds) : 0,
                    LoadSummary.round(last.forwardP50Ms()), LoadSummary.round(last.forwardP99Ms()), n.lastError()));
        }
        List<KindResult> kinds = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            LoadStats.Interval totals = stats.kindTotals(k == 1);
            if (kindExpected[k] == 0 && totals.latencyUs().getTotalCount() == 0) {
                continue;
            }
            long missed = Math.max(0, kindExpected[k] - kindInTime[k]);
            long never = Math.max(0, kindExpected[k] - kindReceived[k]);
            kinds.add(new KindResult(k == 1 ? "video" : "audio", kindExpected[k], kindInTime[k],
                    kindExpected[k] > 0 ? LoadSummary.round(100.0 * missed / kindExpected[k]) : 0,
                    kindExpected[k] > 0 ? LoadSummary.round(100.0 * never / kindExpected[k]) : 0,
                    Percentiles.ofMicros(totals.latencyUs()), Percentiles.ofMicros(totals.jitterUs())));
        }
        long sent = stats.packetsSent.sum() - baseSent;
        long sentBytes = stats.bytesSent.sum() - baseSentBytes;
        long received = stats.packetsReceived.sum() - baseReceived;
        long receivedBytes = stats.bytesReceived.sum() - baseReceivedBytes;
        return new LoadSummary(options.shape.name().toLowerCase(Locale.ROOT), options.participants, options.rooms,
                options.allUrls().stream().map(URI::toString).toList(), options.impairUp.toString(),
                options.impairDown.toString(), LoadSummary.round(seconds), connected, failed, failures,
                Percentiles.ofMicros(connectUs), streamsExpected, streamsReceiving, sent, sentBytes, received,
                receivedBytes, LoadSummary.round(sent / seconds), LoadSummary.round(received / seconds),
                LoadSummary.round(sentBytes * 8 / seconds / 1e6), LoadSummary.round(receivedBytes * 8 / seconds / 1e6),
                expected, lost, expected > 0 ? LoadSummary.round(100.0 * lost / expected) : 0,
                Percentiles.ofMicros(stats.latencyTotal), Percentiles.ofMicros(stats.jitterTotal),
                stats.keyframesSent.sum(), stats.keyframeRequests.sum(), stats.foreignPackets.sum(), nodeResults,
                results, impairForText(), options.nack, options.deadline.toMillis(), stats.nacksSent.sum(),
                stats.retransmissionsSent.sum(), kinds);
    }
}
