package io.cascadesfu.core.pipe;

import io.cascadesfu.core.media.MediaPeer;
import io.cascadesfu.core.media.Router;
import io.cascadesfu.core.worker.MediaWorker;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * A link between a room's routers on two workers of this node: two {@link PipeEnd}s joined by a ring each way,
 * each end a peer of its router. A stream crosses a pipe once, as one {@code PipeConsumer} on the sending router
 * and one producer on the receiving router, however many subscribers there are behind it. A relay link to
 * another node is the same thing with a network between the ends.
 *
 * <p>Lifecycle: made by the room when a stream first has to cross between the two workers; closed when no
 * stream crosses any more or the room closes. Threading: built on the room's control thread; each end's peer is
 * added and removed on its own worker ({@link #open}, {@link #close}).
 */
public final class Pipe {
    /** Packets a ring holds: ~4 s of a 1 Mbit/s video stream, far more than a healthy worker ever queues. */
    public static final int DEFAULT_CAPACITY = 4096;

    private final String id;
    private final PipeEnd endA;
    private final PipeEnd endB;
    private final MeterRegistry registry;
    private final Gauge depthAtA;
    private final Gauge depthAtB;
    // Worker-owned: each set and read on its end's worker only.
    private MediaPeer peerA;
    private MediaPeer peerB;

    public Pipe(String id, String room, MediaWorker a, MediaWorker b, int capacity, MeterRegistry registry) {
        if (a == b) {
            throw new IllegalArgumentException("a pipe links two different workers");
        }
        this.id = id;
        this.registry = registry;
        this.endA = new PipeEnd(id + "@" + a.index(), a, capacity);
        this.endB = new PipeEnd(id + "@" + b.index(), b, capacity);
        endA.connect(endB);
        endB.connect(endA);
        depthAtA = depthGauge(room, b, a, endA);
        depthAtB = depthGauge(room, a, b, endB);
    }

    private Gauge depthGauge(String room, MediaWorker from, MediaWorker to, PipeEnd end) {
        return Gauge.builder("sfu.pipe.queue.depth", end, PipeEnd::queueDepth)
                .description("Packets waiting in a pipe between two workers")
                .tag("room", room).tag("from", Integer.toString(from.index())).tag("to", Integer.toString(to.index()))
                .register(registry);
    }

    public String id() {
        return id;
    }

    public MediaWorker workerA() {
        return endA.worker();
    }

    public MediaWorker workerB() {
        return endB.worker();
    }

    /** The end on {@code worker}. */
    public PipeEnd end(MediaWorker worker) {
        if (worker == endA.worker()) {
            return endA;
        }
        if (worker == endB.worker()) {
            return endB;
        }
        throw new IllegalArgumentException(worker + " is not an end of pipe " + id);
    }

    /** The other worker. */
    public MediaWorker other(MediaWorker worker) {
        return end(worker) == endA ? endB.worker() : endA.worker();
    }

    /** The peer of this pipe on {@code worker}'s router; that worker's loop only, after {@link #open}. */
    public MediaPeer peer(MediaWorker worker) {
        worker.assertInLoop();
        return end(worker) == endA ? peerA : peerB;
    }

    /** Adds each end as a peer of its router, each on its own worker. Control thread. */
    public void open(Router routerA, Router routerB) {
        endA.worker().execute(() -> peerA = routerA.addPeer(endA.id(), endA));
        endB.worker().execute(() -> peerB = routerB.addPeer(endB.id(), endB));
    }

    /**
     * Closes both ends: A stops sending, then B stops and frees what A had queued to it, then A frees what B had
     * queued. Each step runs on its end's worker after everything handed to that worker before. Control thread.
     */
    public void close(Router routerA, Router routerB) {
        registry.remove(depthAtA);
        registry.remove(depthAtB);
        MediaWorker a = endA.worker();
        MediaWorker b = endB.worker();
        a.execute(() -> {
            closePeer(routerA, peerA, endA);
            b.execute(() -> {
                closePeer(routerB, peerB, endB);
                endB.releaseInbound();
                a.execute(endA::releaseInbound);
            });
        });
    }

    private static void closePeer(Router router, MediaPeer peer, PipeEnd end) {
        if (peer != null) {
            router.removePeer(peer, "pipe closed");
        } else {
            end.close("pipe closed");
        }
    }

    @Override
    public String toString() {
        return "Pipe[" + id + " " + endA.worker() + "<->" + endB.worker() + "]";
    }
}
