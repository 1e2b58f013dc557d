package io.cascadesfu.core.worker;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Per-worker figures, exported with a {@code worker} tag next to the node totals: datagrams in, packets out,
 * the loop's busy fraction (its thread's CPU time over wall time between scrapes), transports and routers.
 *
 * <p>Threading: the counters are plain fields written by the worker's loop only (no atomic, no adder on the
 * packet path) and read by the metrics scrape; a 64-bit field read is never torn on the JVMs we run on, and a
 * scrape that sees a value a few packets old is fine.
 */
public final class WorkerStats {
    private final MediaWorker worker;
    private long datagramsIn;
    private long packetsOut;
    private long pipePacketsIn;
    private volatile int transports;
    /** When the recvmmsg batch of the datagram being handled came off the socket (for pipe latency). */
    private long batchStartNs;
    // Busy fraction: the last sample, taken by the scrape thread.
    private long lastCpuNs = -1;
    private long lastWallNs;
    private double lastBusy;

    WorkerStats(int index, MediaWorker worker, MeterRegistry registry) {
        this.worker = worker;
        String tag = Integer.toString(index);
        FunctionCounter.builder("sfu.worker.datagrams.in", this, s -> s.datagramsIn)
                .description("Datagrams read from this worker's media socket").tag("worker", tag).register(registry);
        FunctionCounter.builder("sfu.worker.packets.out", this, s -> s.packetsOut)
                .description("RTP and RTCP packets this worker sent to its transports").tag("worker", tag)
                .register(registry);
        FunctionCounter.builder("sfu.worker.pipe.rtp.in", this, s -> s.pipePacketsIn)
                .description("RTP packets this worker took from pipes (other workers' streams)").tag("worker", tag)
                .register(registry);
        Gauge.builder("sfu.worker.busy", this, WorkerStats::busyFraction)
                .description("Fraction of wall time this worker's thread was on CPU since the last scrape")
                .tag("worker", tag).register(registry);
        Gauge.builder("sfu.worker.transports", this, s -> s.transports).tag("worker", tag)
                .register(registry);
        Gauge.builder("sfu.worker.routers", worker, MediaWorker::routerCount)
                .description("Rooms with a router on this worker").tag("worker", tag).register(registry);
    }

    /** Worker loop only. */
    public void onDatagramIn() {
        datagramsIn++;
    }

    /** Worker loop only. */
    public void onPacketOut() {
        packetsOut++;
    }

    /** A transport was made on this worker. Worker loop only. */
    public void transportOpened() {
        transports++;
    }

    /** A transport of this worker closed. Worker loop only. */
    public void transportClosed() {
        transports--;
    }

    public int transports() {
        return transports;
    }

    /** Worker loop only. */
    public void onPipePacketIn() {
        pipePacketsIn++;
    }

    /** Worker loop only. */
    public void setBatchStartNs(long nowNs) {
        batchStartNs = nowNs;
    }

    /**
     * When the datagram now being handled (or, inside a pipe drain, the packet now being delivered) started its
     * way through this node. Worker loop only.
     */
    public long batchStartNs() {
        return batchStartNs;
    }

    public long datagramsIn() {
        return datagramsIn;
    }

    public long packetsOut() {
        return packetsOut;
    }

    public long pipePacketsIn() {
        return pipePacketsIn;
    }

    /** CPU time of the worker thread over wall time since the previous call. Scrape thread. */
    synchronized double busyFraction() {
        long cpu = worker.threadCpuNs();
        long wall = System.nanoTime();
        if (cpu < 0) {
            return 0;
        }
        if (lastCpuNs >= 0 && wall - lastWallNs > 100_000_000L) {
            lastBusy = Math.min(1.0, (double) (cpu - lastCpuNs) / (wall - lastWallNs));
        } else if (lastCpuNs >= 0) {
            return lastBusy; // scraped twice in quick succession: keep the last figure
        }
        lastCpuNs = cpu;
        lastWallNs = wall;
        return lastBusy;
    }
}
