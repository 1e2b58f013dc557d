package io.cascadesfu.core.room;

import static io.cascadesfu.core.testing.RoomHarness.audio;
import static io.cascadesfu.core.testing.RoomHarness.opus;
import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static io.cascadesfu.core.testing.RoomHarness.video;
import static io.cascadesfu.core.testing.RoomHarness.vp8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.testing.RoomHarness;
import io.cascadesfu.core.worker.MediaWorker;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Any sequence of joins, publishes, subscriptions, packets, unsubscriptions, unpublishes and leaves over three
 * workers keeps the once-per-pipe rule at every step and ends with no consumer, producer, peer or pipe left
 * (buffers: Netty's leak detector at paranoid, failing the class through LeakGuard).
 */
class RoomLifecyclePropertyTest {
    private static RoomHarness harness;

    private static synchronized RoomHarness harness() {
        if (harness == null) {
            harness = new RoomHarness(3, new MediaConfig.Placement(2, false));
        }
        return harness;
    }

    @AfterContainer
    static void closeHarness() {
        if (harness != null) {
            harness.close();
            harness = null;
        }
    }

    /** One step: an action code and two choices, each taken modulo what exists then. */
    record Step(int action, int a, int b) {
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        // Actions 0-1 join, 2 publish, 3-4 subscribe, 5 unsubscribe, 6 unpublish, 7 leave; weighted so that rooms
        // grow, span workers and then shrink.
        Arbitrary<Integer> action = Arbitraries.frequency(Tuple.of(3, 0), Tuple.of(2, 2), Tuple.of(5, 3),
                Tuple.of(3, 5), Tuple.of(1, 6), Tuple.of(2, 7));
        Arbitrary<Step> step = net.jqwik.api.Combinators.combine(action,
                Arbitraries.integers().between(0, 1000), Arbitraries.integers().between(0, 1000)).as(Step::new);
        return step.list().ofMinSize(5).ofMaxSize(60);
    }

    private static int roomCounter;

    @Property(tries = 80)
    void anySequenceLeavesNothingBehind(@ForAll("steps") List<Step> steps) {
        RoomHarness h = harness();
        String name = "prop-" + (++roomCounter);
        Room room = h.room(name);
        List<Member> members = new ArrayList<>();
        List<Endpoint> endpoints = new ArrayList<>();
        List<Track> tracks = new ArrayList<>();
        List<Subscription> subs = new ArrayList<>();
        int[] seq = new int[1];
        for (Step s : steps) {
            h.control(() -> {
                switch (s.action()) {
                    case 0, 1 -> {
                        Member m = room.addMember("m" + members.size());
                        members.add(m);
                        endpoints.add(h.endpoint(m, name + "-ep" + endpoints.size()));
                    }
                    case 2 -> {
                        if (!members.isEmpty()) {
                            int i = s.a() % members.size();
                            Member m = members.get(i);
                            if (!m.isClosed()) {
                                long ssrc = 0x10000L + tracks.size();
                                tracks.add(m.publish(endpoints.get(i), "t" + tracks.size(),
                                        s.b() % 2 == 0 ? video(ssrc) : audio(ssrc)));
                            }
                        }
                    }
                    case 3, 4 -> {
                        if (!members.isEmpty() && !tracks.isEmpty()) {
                            int i = s.a() % members.size();
                            Track t = tracks.get(s.b() % tracks.size());
                            Endpoint e = endpoints.get(i);
                            if (!e.isClosed() && !t.isClosed() && t.origin() != members.get(i)) {
                                subs.add(room.subscribe(e, t, subscriber(0x9000L + subs.size(), 100)));
                            }
                        }
                    }
                    case 5 -> {
                        if (!subs.isEmpty()) {
                            subs.get(s.a() % subs.size()).close();
                        }
                    }
                    case 6 -> {
                        if (!tracks.isEmpty()) {
                            Track t = tracks.get(s.a() % tracks.size());
                            t.origin().unpublish(t);
                        }
                    }
                    default -> {
                        if (!members.isEmpty()) {
                            members.get(s.a() % members.size()).close("left");
                        }
                    }
                }
            });
            h.settle();
            // Media flows on every live track, keyframes first, so pipes and caches hold real buffers.
            for (Track t : tracks) {
                if (!h.control(t::isClosed)) {
                    int n = seq[0]++;
                    byte[] p = t.kind() == TrackKind.VIDEO
                            ? vp8(t.params().ssrc(), n, 3000L * n, n % 5 == 0, 10) : opus(t.params().ssrc(), n, 960L * n, 10);
                    h.transport(t.endpoint()).inject(p);
                }
            }
            h.settle();
            h.control(() -> assertOncePerPipe(room));
        }
        h.control(() -> members.forEach(m -> m.close("end")));
        h.settle();
        for (Room.RouterCounts rc : h.control(room::inspect).join()) {
            assertEquals(0, rc.peers(), "peers left on worker " + rc.worker());
            assertEquals(0, rc.producers(), "producers left on worker " + rc.worker());
            assertEquals(0, rc.consumers(), "consumers left on worker " + rc.worker());
        }
        assertEquals(0, h.control(room::pipeCount), "pipes left");
        h.control(room::close);
        h.settle();
        for (MediaWorker w : h.engine.workers()) {
            assertEquals(0, w.routerCount(), "routers left on " + w);
            assertEquals(0, w.transportCount(), "transports left on " + w);
        }
    }

    /** A track crosses to exactly the workers (other than its own) where someone subscribes to it. */
    private static void assertOncePerPipe(Room room) {
        for (Track t : room.tracks()) {
            Set<Integer> wanted = new HashSet<>();
            for (Subscription s : t.subscriptions) {
                assertTrue(!s.isClosed());
                if (s.subscriber().worker() != t.worker()) {
                    wanted.add(s.subscriber().worker().index());
                }
            }
            assertEquals(wanted.size(), t.pipedWorkers(), "workers " + t + " crosses to");
            for (int w : wanted) {
                assertEquals(t.subscriptions.stream().filter(s -> s.subscriber().worker().index() == w).count(),
                        t.piped[w].subscribers, "subscribers counted behind the pipe to worker " + w);
            }
        }
    }
}
