package io.cascadesfu.core.transport;

import io.netty.channel.EventLoop;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which worker owns each local ICE ufrag, over all workers of a node. The ICE-TCP accept loop reads it once per
 * new connection (its first STUN check names the ufrag) to move the connection onto the worker that owns the
 * transport; nothing on the per-packet path touches it.
 *
 * <p>Threading: written by each worker's {@link TransportRegistry} on that worker's loop, read from the accept
 * loop; a concurrent map, since only connection set-up and transport creation use it.
 */
public final class UfragDirectory {
    /**
     * A worker as an ICE-TCP connection sees it: the loop to move onto, its registry, its stats (batch time, datagram
     * count) and how to flush its UDP socket after a frame's fan-out.
     */
    public record Owner(EventLoop loop, TransportRegistry registry, io.cascadesfu.core.worker.WorkerStats stats,
                        Runnable flush) {
    }

    private final ConcurrentHashMap<String, Owner> owners = new ConcurrentHashMap<>();

    void put(String ufrag, Owner owner) {
        owners.put(ufrag, owner);
    }

    void remove(String ufrag, Owner owner) {
        owners.remove(ufrag, owner);
    }

    /** The owner of {@code ufrag}, or null. Any thread. */
    public Owner ownerOf(String ufrag) {
        return ufrag == null ? null : owners.get(ufrag);
    }

    /** Ufrags known; for tests. */
    public int size() {
        return owners.size();
    }
}
