package io.cascadesfu.load;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A node's resource use and its own packet counters, from its Prometheus {@code /metrics}: scraped at the
 * start, after every progress interval (asynchronously; the reporter uses the latest answer) and at the end.
 *
 * <p>Threading: {@link #scrapeAsync()} from the reporter thread; results land on the HTTP client's threads
 * and are published through volatile fields and a lock taken once per scrape.
 */
final class NodeMetrics {
    /**
     * One scrape.
     *
     * @param cpuUsage   {@code process_cpu_usage}: the node process's share of the whole machine, 0..1
     * @param cpuCount   {@code system_cpu_count}
     * @param heapBytes  {@code jvm_memory_used_bytes} summed over {@code area="heap"}
     * @param rtpIn      {@code sfu_packets_in_total{kind="rtp"}}
     * @param rtpOut     {@code sfu_packets_out_total{kind="rtp"}}
     * @param cpuTimeNs  {@code process_cpu_time_ns_total}: CPU time the node process has used
     * @param forwardP50Ms {@code sfu_forward_latency_seconds} median over the node's recent window, in ms
     * @param forwardP99Ms the same, 99th percentile: the latency the node's own processing adds
     */
    record Sample(long atNs, double cpuUsage, double cpuCount, double heapBytes, double rtpIn, double rtpOut,
                  double cpuTimeNs, double forwardP50Ms, double forwardP99Ms) {
        /** Cores in use: usage of the machine times its processors. */
        double cores() {
            return cpuUsage * cpuCount;
        }
    }

    final URI node;
    private final HttpClient http;
    private volatile Sample first;
    private volatile Sample latest;
    private volatile Sample previous;
    private volatile Sample baseline;
    private double peakCpu;        // guarded by this
    private double peakHeap;       // guarded by this
    private volatile String lastError;

    NodeMetrics(URI node, HttpClient http) {
        this.node = node;
        this.http = http;
    }

    /** Starts a scrape; the returned future completes (never exceptionally) when it is recorded. */
    CompletableFuture<Void> scrapeAsync() {
        HttpRequest request = HttpRequest.newBuilder(URI.create(node + "/metrics"))
                .timeout(Duration.ofSeconds(2)).GET().build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                .thenAccept(response -> {
                    if (response.statusCode() != 200) {
                        lastError = "/metrics answered " + response.statusCode();
                        return;
                    }
                    record(parse(System.nanoTime(), response.body()));
                })
                .exceptionally(e -> {
                    lastError = SimulatedParticipant.rootMessage(e);
                    return null;
                });
    }

    /** A scrape, waited for at most 3 s. */
    void scrape() {
        try {
            scrapeAsync().get(3, TimeUnit.SECONDS);
        } catch (Exception e) {
            lastError = SimulatedParticipant.rootMessage(e);
        }
    }

    private void record(Sample s) {
        synchronized (this) {
            if (first == null) {
                first = s;
            }
            previous = latest;
            latest = s;
            peakCpu = Math.max(peakCpu, s.cpuUsage());
            peakHeap = Math.max(peakHeap, s.heapBytes());
        }
    }

    Sample first() {
        return first;
    }

    /** The sample the summary's rates start from: the latest when {@link #markBaseline()} ran, else the first. */
    Sample baseline() {
        Sample b = baseline;
        return b != null ? b : first;
    }

    void markBaseline() {
        baseline = latest;
    }

    Sample latest() {
        return latest;
    }

    /** Packets per second the node forwarded between the last two scrapes, or -1. */
    synchronized double recentRtpOutPerSecond() {
        if (previous == null || latest == null || latest.atNs() <= previous.atNs()) {
            return -1;
        }
        return (latest.rtpOut() - previous.rtpOut()) * 1e9 / (latest.atNs() - previous.atNs());
    }

    synchronized double peakCpu() {
        return peakCpu;
    }

    synchronized double peakHeapBytes() {
        return peakHeap;
    }

    String lastError() {
        return lastError;
    }

    /** Reads the few series we need from Prometheus text exposition format. */
    static Sample parse(long atNs, String text) {
        double cpu = 0;
        double cpus = 0;
        double heap = 0;
        double in = 0;
        double out = 0;
        double cpuTime = 0;
        double forwardP50 = 0;
        double forwardP99 = 0;
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.charAt(0) == '#') {
                continue;
            }
            int space = line.lastIndexOf(' ');
            if (space <= 0) {
                continue;
            }
            String series = line.substring(0, space).trim();
            double value;
            try {
                value = Double.parseDouble(line.substring(space + 1).trim());
            } catch (NumberFormatException e) {
                continue;
            }
            int brace = series.indexOf('{');
            String name = brace < 0 ? series : series.substring(0, brace);
            String labels = brace < 0 ? "" : series.substring(brace);
            switch (name) {
                case "process_cpu_usage" -> cpu = value;
                case "system_cpu_count" -> cpus = value;
                case "process_cpu_time_ns_total" -> cpuTime = value;
                case "sfu_forward_latency_seconds" -> {
                    if (labels.contains("quantile=\"0.5\"")) {
                        forwardP50 = value * 1000;
                    } else if (labels.contains("quantile=\"0.99\"")) {
                        forwardP99 = value * 1000;
                    }
                }
                case "jvm_memory_used_bytes" -> heap += labels.contains("area=\"heap\"") ? value : 0;
                case "sfu_packets_in_total" -> in += labels.contains("kind=\"rtp\"") ? value : 0;
                case "sfu_packets_out_total" -> out += labels.contains("kind=\"rtp\"") ? value : 0;
                default -> {
                }
            }
        }
        return new Sample(atNs, cpu, cpus, heap, in, out, cpuTime, forwardP50, forwardP99);
    }
}
