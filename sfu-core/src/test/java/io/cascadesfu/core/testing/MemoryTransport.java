package io.cascadesfu.core.testing;

import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.TransportListener;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A transport with no socket, for deterministic tests of routers, pipes and rooms: what the node sends is kept
 * as byte arrays; what a test injects goes to the router as if it had arrived decrypted from a browser.
 *
 * <p>Threading: the core calls it on its worker; {@link #inject} hands the packet to that worker.
 */
public final class MemoryTransport implements MediaTransport {
    private final String id;
    private final MediaWorker worker;
    private TransportListener listener;
    private volatile boolean closed;
    public final List<byte[]> rtpSent = new CopyOnWriteArrayList<>();
    public final List<byte[]> rtcpSent = new CopyOnWriteArrayList<>();

    public MemoryTransport(String id, MediaWorker worker) {
        this.id = id;
        this.worker = worker;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public boolean isConnected() {
        return !closed;
    }

    @Override
    public void sendRtp(ByteBuf packet) {
        worker.assertInLoop();
        rtpSent.add(ByteBufUtil.getBytes(packet));
        packet.release();
    }

    @Override
    public void sendRtcp(ByteBuf packet) {
        worker.assertInLoop();
        rtcpSent.add(ByteBufUtil.getBytes(packet));
        packet.release();
    }

    @Override
    public void flush() {
    }

    @Override
    public void setListener(TransportListener listener) {
        this.listener = listener;
    }

    /** Delivers an RTP or RTCP packet to the router, on the worker, as received from the peer. Any thread. */
    public void inject(byte[] packet) {
        inject(packet, 0);
    }

    /**
     * As {@link #inject(byte[])}, received {@code laterNs} after now (on the monotonic clock): lets a test move time
     * forward (a layer going quiet, a request interval passing) without sleeping.
     */
    public void inject(byte[] packet, long laterNs) {
        worker.execute(() -> {
            if (closed || listener == null) {
                return;
            }
            ByteBuf buf = Unpooled.wrappedBuffer(packet.clone());
            worker.stats().setBatchStartNs(System.nanoTime());
            long nowNs = System.nanoTime() + laterNs;
            try {
                if (RtcpPacket.looksLikeRtcp(buf)) {
                    listener.onTransportRtcp(this, buf, nowNs);
                } else {
                    int payloadOffset = io.cascadesfu.core.rtp.RtpPacket.validate(buf);
                    if (payloadOffset >= 0) {
                        listener.onTransportRtp(this, buf, payloadOffset, nowNs);
                    }
                }
            } finally {
                buf.release();
            }
        });
    }

    /** PLIs (RFC 4585 6.3.1) the node sent on this transport. */
    public long plisSent() {
        return rtcpSent.stream().filter(MemoryTransport::containsPli).count();
    }

    /** PLIs the node sent on this transport asking for a keyframe on {@code mediaSsrc}. */
    public long plisSentFor(long mediaSsrc) {
        return rtcpSent.stream().filter(c -> containsPli(c, mediaSsrc)).count();
    }

    private static boolean containsPli(byte[] compound) {
        return containsPli(compound, -1);
    }

    private static boolean containsPli(byte[] compound, long mediaSsrc) {
        ByteBuf b = Unpooled.wrappedBuffer(compound);
        int off = 0;
        while (off + 4 <= b.readableBytes()) {
            int len = RtcpPacket.lengthBytes(b, off);
            if (len <= 0) {
                return false;
            }
            if (RtcpPacket.isPli(b, off) && (mediaSsrc < 0 || RtcpPacket.mediaSsrc(b, off) == mediaSsrc)) {
                return true;
            }
            off += len;
        }
        return false;
    }

    @Override
    public void close(String reason) {
        worker.assertInLoop();
        if (closed) {
            return;
        }
        closed = true;
        if (listener != null) {
            listener.onTransportClosed(this, reason);
        }
    }

    public boolean isClosed() {
        return closed;
    }
}
