package io.cascadesfu.core.pipe;

import io.netty.buffer.ByteBuf;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded single-producer single-consumer ring of packets, each with the time its datagram entered the node.
 * One worker's loop offers, another's polls; no lock, no object per packet (a slot is an array element pair).
 *
 * <p>Hand-written rather than taken from JCTools because each slot carries a timestamp beside the buffer, which
 * a queue of objects could only do with an object per packet.
 *
 * <p>Ownership: {@link #offer} takes the buffer when it returns true; {@link #poll} gives it to the caller.
 */
final class PacketRing {
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(PacketRing.class, "head", long.class);
            TAIL = l.findVarHandle(PacketRing.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ByteBuf[] buffers;
    private final long[] startNs;
    private final int[] payloadOffsets;
    private final int mask;
    /** Next slot to poll; written by the consumer only. */
    @SuppressWarnings("unused")
    private volatile long head;
    /** Next slot to fill; written by the producer only. */
    @SuppressWarnings("unused")
    private volatile long tail;
    /** The producer's cached view of head, so a non-full offer reads no shared field. */
    private long headCache;
    /** The consumer's cached view of tail. */
    private long tailCache;

    PacketRing(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two");
        }
        buffers = new ByteBuf[capacity];
        startNs = new long[capacity];
        payloadOffsets = new int[capacity];
        mask = capacity - 1;
    }

    int capacity() {
        return buffers.length;
    }

    /**
     * Producer thread. {@code payloadOffset}: where a validated RTP packet's payload starts, -1 for RTCP.
     * False when full (the buffer stays the caller's).
     */
    boolean offer(ByteBuf buf, long entryNs, int payloadOffset) {
        long t = (long) TAIL.getOpaque(this);
        if (t - headCache >= buffers.length) {
            headCache = (long) HEAD.getAcquire(this);
            if (t - headCache >= buffers.length) {
                return false;
            }
        }
        int i = (int) t & mask;
        buffers[i] = buf;
        startNs[i] = entryNs;
        payloadOffsets[i] = payloadOffset;
        TAIL.setRelease(this, t + 1);
        return true;
    }

    /** Consumer thread: the next packet, or null when empty. Read {@link #lastStartNs} right after. */
    ByteBuf poll() {
        long h = (long) HEAD.getOpaque(this);
        if (h >= tailCache) {
            tailCache = (long) TAIL.getAcquire(this);
            if (h >= tailCache) {
                return null;
            }
        }
        int i = (int) h & mask;
        ByteBuf buf = buffers[i];
        lastStartNs = startNs[i];
        lastPayloadOffset = payloadOffsets[i];
        buffers[i] = null;
        HEAD.setRelease(this, h + 1);
        return buf;
    }

    private long lastStartNs;
    private int lastPayloadOffset;

    /** Consumer thread: the payload offset of the packet {@link #poll} returned last (-1: RTCP). */
    int lastPayloadOffset() {
        return lastPayloadOffset;
    }

    /** Consumer thread: the entry time of the packet {@link #poll} returned last. */
    long lastStartNs() {
        return lastStartNs;
    }

    /** Packets waiting; any thread (approximate while both sides run). */
    int size() {
        long h = (long) HEAD.getVolatile(this);
        long t = (long) TAIL.getVolatile(this);
        return (int) Math.max(0, Math.min(buffers.length, t - h));
    }
}
