package io.cascadesfu.core.relay;

import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.TransportListener;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;

/**
 * The dialing end of a relay link to another node: this node connects to the far node's media port as a WebRTC
 * client would (ICE, DTLS client, SRTP), with parameters exchanged over the authenticated control channel instead
 * of SDP, and the far node treats it as a member of the room that subscribes to what this node needs. Its socket
 * lives on the worker's own event loop, so what arrives goes straight to the worker's router, as from a browser.
 *
 * <p>Lifecycle: made by the endpoint's transport factory on the worker; {@link #connect} with the far node's
 * credentials; closed with the endpoint. Threading: the worker's loop (the client's channel is registered on it).
 */
public final class RelayTransport implements MediaTransport, RtcClient.Listener {
    /**
     * A relay link checks its path every second and gives up after 8 s without an answer (UDP blocked between the
     * nodes, the far node's media gone), so the cascade can dial again or go around it; a browser waits 30 s.
     */
    static final java.time.Duration CONSENT_INTERVAL = java.time.Duration.ofSeconds(1);
    static final java.time.Duration CONSENT_TIMEOUT = java.time.Duration.ofSeconds(8);

    private final String id;
    private final MediaWorker worker;
    private final RtcClient client;
    private TransportListener listener;
    private volatile boolean connected;
    private boolean closed;

    public RelayTransport(String id, MediaWorker worker, InetSocketAddress bindAddress,
                          io.cascadesfu.core.ice.IceCredentials localCredentials) {
        this.id = id;
        this.worker = worker;
        this.client = new RtcClient(worker.loop(), worker.datagramChannelType(), bindAddress, worker.certificate(),
                worker.handshakeExecutor(), this, localCredentials)
                .consentInterval(CONSENT_INTERVAL).consentTimeout(CONSENT_TIMEOUT);
    }

    /** A transport factory for relay endpoints whose sockets bind to {@code bindHost} (an ephemeral port). */
    public static io.cascadesfu.core.room.Endpoint.TransportFactory factory(String bindHost) {
        return (w, id, credentials) -> new RelayTransport(id, w, new InetSocketAddress(bindHost, 0), credentials);
    }

    /** This end's ICE ufrag and password and DTLS fingerprint (sha-256), for the far node. */
    public RtcClient client() {
        return client;
    }

    /** Starts ICE and DTLS toward the far node's media port. Any thread. */
    public void connect(RtcClient.Remote remote) {
        client.connect(remote);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public boolean isConnected() {
        return connected && !closed;
    }

    @Override
    public boolean understandsLayerRequests() {
        return true;
    }

    @Override
    public boolean carriesTransportWideNumbers() {
        return true; // the serving node numbers what it sends on this link (hop by hop); its feedback goes back
    }

    @Override
    public void sendRtp(ByteBuf packet) {
        if (!isConnected()) {
            packet.release();
            return;
        }
        worker.metrics().sent(io.cascadesfu.core.metrics.SfuMetrics.Kind.RTP, packet.readableBytes());
        client.sendRtp(packet);
    }

    @Override
    public void sendRtcp(ByteBuf packet) {
        if (!isConnected()) {
            packet.release();
            return;
        }
        worker.metrics().sent(io.cascadesfu.core.metrics.SfuMetrics.Kind.RTCP, packet.readableBytes());
        client.sendRtcp(packet);
    }

    @Override
    public void flush() {
        // The client writes and flushes each packet.
    }

    @Override
    public void setListener(TransportListener listener) {
        this.listener = listener;
    }

    @Override
    public void onConnected(RtcClient c) {
        worker.assertInLoop();
        connected = true;
        if (listener != null) {
            listener.onTransportConnected(this);
        }
    }

    @Override
    public void onRtp(RtcClient c, ByteBuf packet, long nowNs) {
        // Counted with the media port's datagrams (after SRTP here: the payload without its auth tag).
        worker.metrics().received(io.cascadesfu.core.metrics.SfuMetrics.Kind.RTP, packet.readableBytes());
        int payloadOffset = RtpPacket.validate(packet);
        if (payloadOffset < 0 || listener == null || closed) {
            worker.metrics().drop(io.cascadesfu.core.metrics.DropReason.RTP_MALFORMED);
            return;
        }
        worker.stats().setBatchStartNs(nowNs);
        listener.onTransportRtp(this, packet, payloadOffset, nowNs);
        worker.flush();
    }

    @Override
    public void onRtcp(RtcClient c, ByteBuf packet, long nowNs) {
        worker.metrics().received(io.cascadesfu.core.metrics.SfuMetrics.Kind.RTCP, packet.readableBytes());
        if (listener != null && !closed && io.cascadesfu.core.rtcp.RtcpPacket.validateCompound(packet) >= 0) {
            listener.onTransportRtcp(this, packet, nowNs);
            worker.flush();
        }
    }

    @Override
    public void onFailed(RtcClient c, String reason) {
        close("relay link failed: " + reason + " (" + c.progress() + ")");
    }

    @Override
    public void close(String reason) {
        if (closed) {
            return;
        }
        closed = true;
        connected = false;
        client.close();
        if (listener != null) {
            listener.onTransportClosed(this, reason);
        }
    }
}
