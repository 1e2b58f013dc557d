package io.cascadesfu.core.room;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.MediaEngine;
import io.cascadesfu.core.worker.MediaWorker;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The node's rooms, and where their members go: the placement of members on workers.
 *
 * <p>Placement: the first member of a room goes to the least-loaded worker (load: members of all rooms placed
 * there). Later members join the room's worker that holds most of its members, as long as that worker holds
 * fewer members than the budget ({@code media.placement.memberBudget}); past it, the least-loaded worker, linked
 * to the others by pipes. With {@code spread}, every member goes to the least-loaded worker.
 *
 * <p>Threading: the engine's control thread only (asserted).
 */
public final class RoomRegistry {
    private final MediaEngine engine;
    private final MediaConfig.Placement placement;
    private final Map<String, Room> rooms = new HashMap<>();
    private final int[] membersOnWorker;

    public RoomRegistry(MediaEngine engine) {
        this.engine = engine;
        this.placement = engine.config().placement();
        this.membersOnWorker = new int[engine.workers().size()];
    }

    MediaEngine engine() {
        return engine;
    }

    void assertInControl() {
        assert engine.control().inEventLoop() : "room state touched from " + Thread.currentThread().getName();
    }

    /** The room, or null. */
    public Room get(String name) {
        assertInControl();
        return rooms.get(name);
    }

    /** The room, made if it does not exist. */
    public Room open(String name) {
        assertInControl();
        return rooms.computeIfAbsent(name, n -> new Room(n, this));
    }

    public Collection<Room> rooms() {
        assertInControl();
        return Collections.unmodifiableCollection(rooms.values());
    }

    public int size() {
        return rooms.size();
    }

    /** Members placed on each worker, all rooms together. */
    public int membersOn(MediaWorker worker) {
        assertInControl();
        return membersOnWorker[worker.index()];
    }

    void closed(Room room) {
        rooms.remove(room.name(), room);
    }

    /** Chooses the worker for a new member of {@code room}. */
    MediaWorker place(Room room) {
        List<MediaWorker> workers = engine.workers();
        if (!placement.spread()) {
            MediaWorker best = null;
            for (MediaWorker w : workers) {
                int inRoom = room.membersOn(w);
                if (inRoom > 0 && membersOnWorker[w.index()] < placement.memberBudget()
                        && (best == null || inRoom > room.membersOn(best))) {
                    best = w;
                }
            }
            if (best != null) {
                return best;
            }
        }
        MediaWorker least = workers.get(0);
        for (MediaWorker w : workers) {
            if (membersOnWorker[w.index()] < membersOnWorker[least.index()]) {
                least = w;
            }
        }
        return least;
    }

    void memberPlaced(MediaWorker worker, int delta) {
        membersOnWorker[worker.index()] += delta;
    }
}
