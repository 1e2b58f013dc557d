package io.cascadesfu.bench;

import io.cascadesfu.core.dtls.SrtpKeys;
import io.cascadesfu.core.srtp.SrtpResult;
import io.cascadesfu.core.srtp.SrtpSession;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.TransportListener;
import io.netty.buffer.ByteBuf;

/**
 * A {@link MediaTransport} for benchmarks: always connected, does what a WebRTC transport does to an outgoing
 * packet short of the socket (SRTP protect in place with a session of its own) and then releases the buffer. The
 * system call is measured separately ({@link UdpForwarderProbe}, the load tool).
 *
 * <p>Threading: the thread that drives the router, like a real transport. Buffers: takes ownership of what
 * {@code sendRtp}/{@code sendRtcp} get and releases it before returning.
 */
final class SrtpSinkTransport implements MediaTransport {

    private final String id;
    /** Null: no protection, the buffer is only released. */
    private final SrtpSession srtp;
    private TransportListener listener;
    private boolean closed;

    long rtpSent;
    long rtcpSent;
    long flushes;
    long failures;
    /** Sum of the protected lengths, so that the work cannot be optimized away and can be checked. */
    long bytesSent;

    SrtpSinkTransport(String id, SrtpKeys keys) {
        this.id = id;
        this.srtp = keys == null ? null : new SrtpSession(keys);
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
        try {
            if (srtp != null && srtp.protectRtp(packet) != SrtpResult.OK) {
                failures++;
                return;
            }
            rtpSent++;
            bytesSent += packet.readableBytes();
        } finally {
            packet.release();
        }
    }

    @Override
    public void sendRtcp(ByteBuf packet) {
        try {
            if (srtp != null && srtp.protectRtcp(packet) != SrtpResult.OK) {
                failures++;
                return;
            }
            rtcpSent++;
        } finally {
            packet.release();
        }
    }

    @Override
    public void flush() {
        flushes++;
    }

    @Override
    public void setListener(TransportListener listener) {
        this.listener = listener;
    }

    @Override
    public void close(String reason) {
        if (closed) {
            return;
        }
        closed = true;
        if (srtp != null) {
            srtp.close();
        }
        if (listener != null) {
            listener.onTransportClosed(this, reason);
        }
    }
}
