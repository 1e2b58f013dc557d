package io.cascadesfu.core.pipe;

import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.TransportListener;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.buffer.ByteBuf;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One end of a {@link Pipe}: a {@link MediaTransport} whose packets go into the far end's ring instead of a
 * socket. The router on this end's worker sees it as one more peer; it cannot tell it from a browser.
 *
 * <p>Threading: {@code send*}, {@code close} and the drain run on this end's worker; {@link #enqueue} is called by
 * the far end on the far worker. Buffers: a packet offered to the ring belongs to the ring until this end's
 * worker polls it, delivers it to its listener (borrowed for the call) and releases it. Packets in the ring are
 * copies made by the sending consumer, never slices of a receive batch.
 */
public final class PipeEnd implements MediaTransport {
    private static final VarHandle DRAIN_SCHEDULED;

    static {
        try {
            DRAIN_SCHEDULED = MethodHandles.lookup().findVarHandle(PipeEnd.class, "drainScheduled", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Packets taken from the ring per drain task before the loop gets back to its socket. */
    static final int DRAIN_BATCH = 256;

    private final String id;
    private final MediaWorker worker;
    private final PacketRing inbound;
    private final Runnable drainTask = this::drain;
    private PipeEnd far;
    private TransportListener listener;
    @SuppressWarnings("unused")
    private volatile int drainScheduled;
    private volatile boolean closed;

    PipeEnd(String id, MediaWorker worker, int capacity) {
        this.id = id;
        this.worker = worker;
        this.inbound = new PacketRing(capacity);
    }

    void connect(PipeEnd far) {
        this.far = far;
    }

    @Override
    public String id() {
        return id;
    }

    public MediaWorker worker() {
        return worker;
    }

    /** Packets waiting in this end's inbound ring. Any thread. */
    public int queueDepth() {
        return inbound.size();
    }

    @Override
    public boolean understandsLayerRequests() {
        return true;
    }

    @Override
    public boolean carriesTransportWideNumbers() {
        return false;
    }

    @Override
    public boolean isConnected() {
        return !closed && !far.closed;
    }

    /** An RTP packet not validated yet (nothing in the core sends one; kept for the interface's contract). */
    @Override
    public void sendRtp(ByteBuf packet) {
        int payloadOffset = RtpPacket.validate(packet);
        if (payloadOffset < 0) {
            packet.release();
            worker.metrics().drop(DropReason.RTP_MALFORMED);
            return;
        }
        send(packet, payloadOffset);
    }

    @Override
    public void sendRtp(ByteBuf packet, int payloadOffset) {
        send(packet, payloadOffset);
    }

    @Override
    public void sendRtcp(ByteBuf packet) {
        send(packet, -1);
    }

    private void send(ByteBuf packet, int payloadOffset) {
        worker.assertInLoop();
        if (closed) {
            packet.release();
            worker.metrics().drop(DropReason.NOT_CONNECTED);
            return;
        }
        worker.stats().onPacketOut();
        far.enqueue(packet, worker.stats().batchStartNs(), payloadOffset);
    }

    /** Called by the far end's worker: takes the packet. */
    private void enqueue(ByteBuf packet, long entryNs, int payloadOffset) {
        if (closed) {
            packet.release();
            worker.metrics().drop(DropReason.NOT_CONNECTED);
            return;
        }
        if (!inbound.offer(packet, entryNs, payloadOffset)) {
            packet.release();
            worker.metrics().drop(DropReason.PIPE_FULL);
            return;
        }
        if (drainScheduled == 0 && DRAIN_SCHEDULED.compareAndSet(this, 0, 1)) {
            worker.execute(drainTask);
        }
    }

    /** This end's worker: hands what arrived to the listener, each packet's fan-out flushed at once. */
    private void drain() {
        drainScheduled = 0; // before polling: an offer after the last poll schedules another drain
        for (int n = 0; n < DRAIN_BATCH; n++) {
            ByteBuf packet = inbound.poll();
            if (packet == null) {
                return;
            }
            long entryNs = inbound.lastStartNs();
            int payloadOffset = inbound.lastPayloadOffset();
            try {
                if (!closed && listener != null) {
                    worker.stats().setBatchStartNs(entryNs);
                    long nowNs = System.nanoTime();
                    if (payloadOffset < 0) {
                        listener.onTransportRtcp(this, packet, nowNs);
                    } else {
                        worker.stats().onPipePacketIn();
                        listener.onTransportRtp(this, packet, payloadOffset, nowNs);
                    }
                }
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(PipeEnd.class).warn("pipe {} packet failed", id, e);
            } finally {
                packet.release();
            }
            worker.flush();
            worker.metrics().datagramHandled(System.nanoTime() - entryNs);
        }
        // More than a batch waiting: let the socket's reads and other tasks in before the rest.
        if (inbound.size() > 0 && DRAIN_SCHEDULED.compareAndSet(this, 0, 1)) {
            worker.execute(drainTask);
        }
    }

    @Override
    public void flush() {
        // Each send already reached the far ring and woke its worker.
    }

    @Override
    public void setListener(TransportListener listener) {
        this.listener = listener;
    }

    @Override
    public void close(String reason) {
        worker.assertInLoop();
        if (closed) {
            return;
        }
        closed = true;
        TransportListener l = listener;
        if (l != null) {
            l.onTransportClosed(this, reason);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Releases what is left in the inbound ring. This end's worker, once the far end is closed (so nothing more
     * can be offered).
     */
    void releaseInbound() {
        worker.assertInLoop();
        ByteBuf b;
        while ((b = inbound.poll()) != null) {
            b.release();
        }
    }

    @Override
    public String toString() {
        return "PipeEnd[" + id + " on " + worker + "]";
    }
}
