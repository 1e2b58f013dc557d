package io.cascadesfu.core.room;

import io.cascadesfu.core.MediaEngine;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.Router;
import io.cascadesfu.core.pipe.Pipe;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A room as the media plane sees it: a graph of routers, one on each worker that holds members of the room,
 * linked by pipes. The room decides what crosses a pipe: a track crosses to a worker once, when its first
 * subscriber there subscribes, and stops crossing when the last one goes.
 *
 * <p>Lifecycle: {@link RoomRegistry#open}; closed with {@link #close} (the signaling layer closes an empty room).
 * Threading: control thread only (asserted); every change to worker-owned state is a task handed to that worker,
 * and a worker runs the tasks it is handed in order, so a task may rely on what earlier tasks made there.
 */
public final class Room {
    private final String name;
    private final RoomRegistry registry;
    private final MediaEngine engine;
    private final Router[] routers;
    private final int[] membersOnWorker;
    private final Map<String, Member> members = new LinkedHashMap<>();
    private final Map<String, Track> tracks = new LinkedHashMap<>();
    /** Index: {@code a * workers + b} with a < b. */
    private final Map<Integer, PipeState> pipes = new LinkedHashMap<>();
    private int nextPipeId;
    private boolean closed;

    /** A pipe and how many tracks cross it (either way). */
    private static final class PipeState {
        final Pipe pipe;
        final long ssrcBase = ThreadLocalRandom.current().nextLong(1, 0x7FFF_0000L);
        int tracks;
        long nextSsrc;

        PipeState(Pipe pipe) {
            this.pipe = pipe;
        }
    }

    Room(String name, RoomRegistry registry) {
        this.name = name;
        this.registry = registry;
        this.engine = registry.engine();
        this.routers = new Router[engine.workers().size()];
        this.membersOnWorker = new int[routers.length];
    }

    public String name() {
        return name;
    }

    EventLoop control() {
        return engine.control();
    }

    void assertInControl() {
        registry.assertInControl();
    }

    public boolean isClosed() {
        return closed;
    }

    public Collection<Member> members() {
        return Collections.unmodifiableCollection(members.values());
    }

    public Collection<Track> tracks() {
        return Collections.unmodifiableCollection(tracks.values());
    }

    int membersOn(MediaWorker worker) {
        return membersOnWorker[worker.index()];
    }

    /** Pipes open now (between pairs of this room's workers). */
    public int pipeCount() {
        return pipes.size();
    }

    /** Adds a member, placed on a worker by the registry's placement. */
    public Member addMember(String memberId) {
        return addMember(memberId, null);
    }

    /** Adds a member on {@code worker} (null: the registry's placement chooses). */
    public Member addMember(String memberId, MediaWorker pinned) {
        assertInControl();
        if (closed) {
            throw new IllegalStateException("room " + name + " is closed");
        }
        if (members.containsKey(memberId)) {
            throw new IllegalArgumentException("member " + memberId + " is already in room " + name);
        }
        MediaWorker worker = pinned != null ? pinned : registry.place(this);
        Member m = new Member(memberId, this, worker);
        members.put(memberId, m);
        membersOnWorker[worker.index()]++;
        registry.memberPlaced(worker, 1);
        return m;
    }

    void removeMember(Member m) {
        if (members.remove(m.id(), m)) {
            membersOnWorker[m.worker().index()]--;
            registry.memberPlaced(m.worker(), -1);
        }
    }

    /** This room's router on {@code worker}, made on first use. */
    Router routerOn(MediaWorker worker) {
        Router r = routers[worker.index()];
        if (r == null) {
            r = new Router(name + "@" + worker.index(), worker.loop(), worker.metrics(),
                    engine.config().keyframeRequestInterval().toNanos());
            routers[worker.index()] = r;
            worker.execute(() -> worker.routerCountChanged(1));
        }
        return r;
    }

    Track publish(Member origin, Endpoint endpoint, String trackId, ProducerParams params) {
        if (tracks.containsKey(trackId)) {
            throw new IllegalArgumentException("track " + trackId + " exists");
        }
        Track t = new Track(trackId, origin, endpoint, params, routers.length);
        tracks.put(trackId, t);
        MediaWorker w = endpoint.worker();
        Router router = routerOn(w);
        w.execute(() -> t.producer = router.produce(trackId, endpoint.peer(), params));
        return t;
    }

    void unpublish(Track t) {
        if (t.isClosed()) {
            return;
        }
        t.markClosed();
        tracks.remove(t.id(), t);
        for (Subscription s : new ArrayList<>(t.subscriptions)) {
            s.markClosed();
            s.subscriber.removed(s);
        }
        t.subscriptions.clear();
        MediaWorker origin = t.worker();
        Router originRouter = routers[origin.index()];
        // Closing the producer closes its consumers there, the pipe consumers included.
        origin.execute(() -> {
            if (t.producer != null) {
                originRouter.closeProducer(t.producer);
            }
        });
        for (int i = 0; i < t.piped.length; i++) {
            PipedTrack p = t.piped[i];
            if (p != null) {
                t.piped[i] = null;
                closeDestination(p);
            }
        }
    }

    /**
     * Starts sending {@code track} to {@code subscriber}, rewritten to {@code params}. If the track arrives on
     * another worker, it crosses the pipe between the two workers, once for all subscribers there.
     */
    public Subscription subscribe(Endpoint subscriber, Track track, ConsumerParams params) {
        return subscribe(subscriber, track, params, false);
    }

    /**
     * Starts relaying {@code track} to another node over {@code link} (an endpoint whose transport is a relay
     * link): every layer goes, layer {@code i} on SSRC {@code ssrc + i} (the far node chose them), with the
     * publisher's sequence numbers, timestamps and header extensions, once for every subscriber behind the link.
     */
    public Subscription relay(Endpoint link, Track track, long ssrc) {
        return subscribe(link, track, ConsumerParams.unchanged(ssrc, track.params().payloadType()), true);
    }

    private Subscription subscribe(Endpoint subscriber, Track track, ConsumerParams params, boolean relay) {
        assertInControl();
        if (track.isClosed() || subscriber.isClosed() || subscriber.member().room() != this) {
            throw new IllegalStateException("cannot subscribe " + subscriber + " to " + track);
        }
        MediaWorker dest = subscriber.worker();
        PipedTrack via = dest == track.worker() ? null : pipeTrack(track, dest);
        Subscription s = new Subscription(track, subscriber, params, via, relay);
        track.subscriptions.add(s);
        subscriber.added(s);
        Router router = routers[dest.index()];
        dest.execute(() -> {
            var source = via == null ? track.producer : via.destProducer;
            if (source != null && !source.isClosed() && !subscriber.peer().isClosed()) {
                s.consumer = relay ? router.pipeConsume(subscriber.peer(), source, params.ssrc())
                        : router.consume(subscriber.peer(), source, params);
                s.applyPreference();
            }
        });
        return s;
    }

    /** Hands a subscription's layer preference to its consumer (see {@link Subscription#setPreference}). */
    void preferenceChanged(Subscription s) {
        if (s.isClosed()) {
            return;
        }
        s.subscriber.worker().execute(s::applyPreference);
    }

    void unsubscribe(Subscription s) {
        if (s.isClosed()) {
            return;
        }
        s.markClosed();
        s.track.subscriptions.remove(s);
        s.subscriber.removed(s);
        MediaWorker dest = s.subscriber.worker();
        Router router = routers[dest.index()];
        dest.execute(() -> {
            if (s.consumer != null) {
                router.closeConsumer(s.consumer);
            }
        });
        PipedTrack via = s.via;
        if (via != null && --via.subscribers == 0 && s.track.piped[dest.index()] == via) {
            s.track.piped[dest.index()] = null;
            MediaWorker origin = s.track.worker();
            Router originRouter = routers[origin.index()];
            origin.execute(() -> {
                if (via.sourceConsumer != null) {
                    originRouter.closeConsumer(via.sourceConsumer);
                }
            });
            closeDestination(via);
        }
    }

    /** The track's crossing to {@code dest}, made (pipe consumer at the origin, producer at dest) if new. */
    private PipedTrack pipeTrack(Track track, MediaWorker dest) {
        PipedTrack p = track.piped[dest.index()];
        if (p == null) {
            MediaWorker origin = track.worker();
            PipeState ps = pipeBetween(origin, dest);
            long ssrc = (ps.ssrcBase + ps.nextSsrc) & 0xFFFF_FFFFL;
            ps.nextSsrc += track.params().streamCount(); // layer i crosses on ssrc + i
            PipedTrack created = new PipedTrack(track, ps.pipe, dest, ssrc);
            ps.tracks++;
            track.piped[dest.index()] = created;
            Router originRouter = routers[origin.index()];
            Router destRouter = routerOn(dest);
            Pipe pipe = ps.pipe;
            origin.execute(() -> {
                if (track.producer != null && !track.producer.isClosed()) {
                    created.sourceConsumer = originRouter.pipeConsume(pipe.peer(origin), track.producer, ssrc);
                }
            });
            // Nothing is lost inside the node: the origin producer asks the publisher for what it lost.
            ProducerParams piped = track.params().piped(ssrc);
            boolean paused = track.paused;
            dest.execute(() -> {
                created.destProducer = destRouter.produce(track.id() + "~" + dest.index(), pipe.peer(dest), piped);
                if (paused) {
                    created.destProducer.setPaused(true, System.nanoTime());
                }
            });
            p = created;
        }
        p.subscribers++;
        return p;
    }

    /** Closes the crossing's producer at its destination (and the consumers there); the pipe if now unused. */
    private void closeDestination(PipedTrack p) {
        Router destRouter = routers[p.destination.index()];
        p.destination.execute(() -> {
            if (p.destProducer != null) {
                destRouter.closeProducer(p.destProducer);
            }
        });
        int key = pipeKey(p.pipe.workerA(), p.pipe.workerB());
        PipeState ps = pipes.get(key);
        if (ps != null && ps.pipe == p.pipe && --ps.tracks == 0) {
            pipes.remove(key);
            ps.pipe.close(routers[ps.pipe.workerA().index()], routers[ps.pipe.workerB().index()]);
        }
    }

    private int pipeKey(MediaWorker x, MediaWorker y) {
        int a = Math.min(x.index(), y.index());
        int b = Math.max(x.index(), y.index());
        return a * routers.length + b;
    }

    private PipeState pipeBetween(MediaWorker x, MediaWorker y) {
        int key = pipeKey(x, y);
        PipeState ps = pipes.get(key);
        if (ps == null) {
            MediaWorker a = x.index() < y.index() ? x : y;
            MediaWorker b = a == x ? y : x;
            Pipe pipe = new Pipe(name + "-pipe" + (++nextPipeId), name, a, b, Pipe.DEFAULT_CAPACITY,
                    engine.metrics().registry());
            pipe.open(routerOn(a), routerOn(b));
            ps = new PipeState(pipe);
            pipes.put(key, ps);
        }
        return ps;
    }

    /** Closes every member, pipe and router. Idempotent. */
    public void close() {
        assertInControl();
        if (closed) {
            return;
        }
        for (Member m : new ArrayList<>(members.values())) {
            m.close("room closed");
        }
        closed = true;
        for (PipeState ps : pipes.values()) {
            ps.pipe.close(routers[ps.pipe.workerA().index()], routers[ps.pipe.workerB().index()]);
        }
        pipes.clear();
        for (int i = 0; i < routers.length; i++) {
            Router r = routers[i];
            if (r != null) {
                MediaWorker w = engine.worker(i);
                w.execute(() -> {
                    r.close();
                    w.routerCountChanged(-1);
                });
            }
        }
        registry.closed(this);
    }

    /**
     * The loudness of every audio track of the room since the last call (RFC 6464 levels, 0 silence .. 127
     * loudest; tracks that carried no level are left out), read on each track's origin worker. Control thread;
     * the future completes on a worker.
     */
    public CompletableFuture<java.util.Map<Track, Double>> sampleLoudness() {
        assertInControl();
        List<CompletableFuture<java.util.Map<Track, Double>>> parts = new ArrayList<>();
        for (int i = 0; i < routers.length; i++) {
            MediaWorker w = engine.worker(i);
            List<Track> here = new ArrayList<>();
            for (Track t : tracks.values()) {
                if (t.worker() == w && t.params().audioLevelExtensionId() > 0) {
                    here.add(t);
                }
            }
            if (here.isEmpty()) {
                continue;
            }
            CompletableFuture<java.util.Map<Track, Double>> f = new CompletableFuture<>();
            w.execute(() -> {
                java.util.Map<Track, Double> m = new java.util.HashMap<>();
                for (Track t : here) {
                    if (t.producer != null && !t.producer.isClosed()) {
                        double v = t.producer.takeLoudness();
                        if (v >= 0) {
                            m.put(t, v);
                        }
                    }
                }
                f.complete(m);
            });
            parts.add(f);
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
            java.util.Map<Track, Double> all = new java.util.HashMap<>();
            parts.forEach(p -> all.putAll(p.join()));
            return all;
        });
    }

    /**
     * What the room's routers hold, worker by worker, read on each worker after everything handed to it so far.
     * For tests, admin views and leak checks. Control thread.
     */
    public CompletableFuture<List<RouterCounts>> inspect() {
        assertInControl();
        List<CompletableFuture<RouterCounts>> parts = new ArrayList<>();
        for (int i = 0; i < routers.length; i++) {
            Router r = routers[i];
            if (r == null) {
                continue;
            }
            int index = i;
            CompletableFuture<RouterCounts> f = new CompletableFuture<>();
            engine.worker(i).execute(() -> f.complete(new RouterCounts(index, r.isClosed(), r.peerCount(),
                    r.producerCount(), r.consumerCount())));
            parts.add(f);
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
                .thenApply(v -> parts.stream().map(CompletableFuture::join).toList());
    }

    /** One router's contents: its peers (browsers and pipe ends), producers and consumers. */
    public record RouterCounts(int worker, boolean closed, int peers, int producers, int consumers) {
    }

    @Override
    public String toString() {
        return "Room[" + name + "]";
    }
}
