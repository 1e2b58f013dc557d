package io.cascadesfu.core.transport;

import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.dtls.DtlsListener;
import io.cascadesfu.core.dtls.DtlsServerSession;
import io.cascadesfu.core.dtls.SrtpKeys;
import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.ice.IceLiteAgent;
import io.cascadesfu.core.ice.IceResult;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.srtp.SrtpResult;
import io.cascadesfu.core.srtp.SrtpSession;
import io.cascadesfu.core.stun.StunMessage;
import io.cascadesfu.core.worker.WorkerStats;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A browser's WebRTC transport on the shared media port: ICE-lite, then DTLS, then SRTP.
 *
 * <p>Lifecycle: created by a {@link io.cascadesfu.core.worker.MediaWorker} with local ICE credentials; the
 * signaling layer then sets the peer's parameters from its SDP ({@link #setRemoteParameters});
 * ICE checks bind remote addresses; the DTLS handshake runs on a worker thread and, when done,
 * creates the {@link SrtpSession}; from then on RTP and RTCP flow. It ends when consent expires,
 * DTLS fails or closes, or {@link #close} is called.
 *
 * <p>Paths: a remote address is a UDP address on the worker's socket, or an ICE-TCP connection (RFC 6544, accepted
 * by {@link io.cascadesfu.core.edge.TcpEdge} and moved onto this worker), named by the connection's channel and its
 * remote address. Both kinds follow the same rules: a nominated check selects a path, and once media flows a new
 * path is used only after fresh SRTP arrives on it. What goes to a TCP path is framed (RFC 4571) and flushed once
 * per loop turn.
 *
 * <p>Threading: owned by its worker's event loop. Only the DTLS callbacks arrive on other threads,
 * and they hop back onto the loop. The SRTP session and all state here are loop-confined.
 */
public final class WebRtcTransport implements MediaTransport, DtlsListener {
    private static final Logger log = LoggerFactory.getLogger(WebRtcTransport.class);

    private final String id;
    private final IceLiteAgent ice;
    private final DtlsCertificate certificate;
    private final Executor handshakeExecutor;
    private final Duration handshakeTimeout;
    private final Channel channel;
    private final EventLoop loop;
    private final TransportRegistry registry;
    private final SfuMetrics metrics;
    private final WorkerStats stats;

    private TransportListener listener;
    private DtlsServerSession dtls;
    private SrtpSession srtp;
    /** Where media goes: the nominated address, or the last validated one before nomination. */
    private volatile InetSocketAddress remote;
    /**
     * A newly nominated address media moves to once authenticated SRTP or SRTCP (fresh: replay-checked) arrives
     * from it. A check alone could be a capture replayed by someone on the path; fresh SRTP cannot be made
     * without the keys.
     */
    private InetSocketAddress pendingRemote;
    /** The ICE-TCP connection of {@link #remote}, or null when it is a UDP address. */
    private volatile Channel remoteTcp;
    /** The connection of {@link #pendingRemote}, or null for UDP. */
    private Channel pendingTcp;
    /** The connection of the ICE agent's selected (nominated) address, or null for UDP. */
    private Channel selectedTcp;
    /** Live ICE-TCP connections that passed a check for this transport; closed with it. */
    private final java.util.List<Channel> tcpPaths = new java.util.ArrayList<>(2);
    /** ICE-TCP connections one transport may hold (a browser opens one per candidate pair it tries). */
    public static final int MAX_TCP_PATHS = 4;
    /** A flush of {@link #remoteTcp} is queued on the loop. */
    private boolean tcpFlushQueued;
    private final Runnable tcpFlush = this::flushTcp;
    /** Authenticated media from the selected address refreshes consent at most this often. */
    static final long SIGN_OF_LIFE_INTERVAL_NS = 500_000_000L;
    private long lastSignOfLifeNs = Long.MIN_VALUE / 2;
    private boolean closed;

    WebRtcTransport(String id, IceCredentials localCredentials, long consentTimeoutNs, DtlsCertificate certificate,
                    Executor handshakeExecutor, Duration handshakeTimeout, Channel channel,
                    TransportRegistry registry, SfuMetrics metrics, WorkerStats stats) {
        this.id = id;
        this.ice = new IceLiteAgent(localCredentials, consentTimeoutNs);
        this.certificate = certificate;
        this.handshakeExecutor = handshakeExecutor;
        this.handshakeTimeout = handshakeTimeout;
        this.channel = channel;
        this.loop = channel.eventLoop();
        this.registry = registry;
        this.metrics = metrics;
        this.stats = stats;
    }

    /** Creates a transport and registers its ufrag. The worker's event loop only. */
    public static WebRtcTransport create(String id, IceCredentials localCredentials, long consentTimeoutNs,
                                         DtlsCertificate certificate, Executor handshakeExecutor,
                                         Duration handshakeTimeout, Channel channel, TransportRegistry registry,
                                         SfuMetrics metrics, WorkerStats stats) {
        WebRtcTransport t = new WebRtcTransport(id, localCredentials, consentTimeoutNs, certificate,
                handshakeExecutor, handshakeTimeout, channel, registry, metrics, stats);
        registry.register(t.ice.local().ufrag(), t);
        return t;
    }

    @Override
    public String id() {
        return id;
    }

    public IceCredentials localCredentials() {
        return ice.local();
    }

    public InetSocketAddress remoteAddress() {
        return remote;
    }

    public EventLoop eventLoop() {
        return loop;
    }

    @Override
    public void setListener(TransportListener listener) {
        this.listener = listener;
    }

    /**
     * Sets what the peer's SDP says: ICE credentials and the DTLS certificate fingerprint. A
     * repeated call with new ICE credentials (ICE restart) keeps the DTLS session.
     */
    public void setRemoteParameters(String iceUfrag, String icePwd, String fingerprintAlgorithm, String fingerprint) {
        assert loop.inEventLoop();
        ice.setRemoteCredentials(iceUfrag, icePwd);
        if (dtls == null && !closed) {
            dtls = new DtlsServerSession(certificate, fingerprintAlgorithm, fingerprint, handshakeExecutor,
                    this::sendDtls, this, handshakeTimeout);
        }
    }

    /**
     * ICE restart (RFC 8445 9): new local credentials, so the peer's checks with the old ones stop
     * matching; the selected address and the DTLS/SRTP session stay until a new pair is nominated.
     */
    public void restartIce(IceCredentials newLocal) {
        assert loop.inEventLoop();
        registry.unregisterUfrag(ice.local().ufrag());
        ice.restart(newLocal);
        registry.register(ice.local().ufrag(), this);
        log.info("transport {} ICE restart", id);
    }

    /** A STUN Binding request for this transport from a UDP address. Writes the response to the channel. */
    public IceResult onStunRequest(ByteBuf packet, StunMessage msg, InetSocketAddress from, long nowNs) {
        return onStunRequest(packet, msg, from, null, nowNs);
    }

    /**
     * A STUN Binding request for this transport, from a UDP address ({@code tcp} null) or over an ICE-TCP
     * connection; the response goes back the same way. The buffer stays the caller's.
     *
     * @return what the ICE agent made of it (an ICE-TCP connection is kept only after a success)
     */
    public IceResult onStunRequest(ByteBuf packet, StunMessage msg, InetSocketAddress from, Channel tcp, long nowNs) {
        assert loop.inEventLoop();
        if (closed) {
            return IceResult.DROPPED;
        }
        ByteBuf out = channel.alloc().directBuffer(256);
        boolean written = false;
        IceResult result = IceResult.DROPPED;
        try {
            result = ice.onBindingRequest(packet, msg, from, nowNs, out);
            switch (result) {
                case SUCCESS, SUCCESS_NOMINATED -> {
                    if (tcp == null) {
                        registry.bindAddress(from, this);
                    }
                    if (result == IceResult.SUCCESS_NOMINATED) {
                        selectedTcp = tcp;
                    }
                    InetSocketAddress selected = ice.selectedAddress();
                    InetSocketAddress next = selected != null ? selected : from;
                    Channel nextTcp = selected != null ? selectedTcp : tcp;
                    if (remote == null || srtp == null) {
                        remote = next; // before media flows there is nothing to confirm with
                        remoteTcp = nextTcp;
                        pendingRemote = null;
                        pendingTcp = null;
                    } else if (!next.equals(remote) || nextTcp != remoteTcp) {
                        pendingRemote = next;
                        pendingTcp = nextTcp;
                    } else {
                        pendingRemote = null;
                        pendingTcp = null;
                    }
                }
                case RETRANSMISSION -> {
                    // Answered again; nothing changes.
                }
                case REPLAYED -> metrics.drop(DropReason.STUN_REPLAYED);
                case UNAUTHORIZED -> metrics.drop(DropReason.STUN_UNAUTHORIZED);
                case BAD_REQUEST, ROLE_CONFLICT -> metrics.drop(DropReason.STUN_BAD_REQUEST);
                case DROPPED -> metrics.drop(DropReason.STUN_MALFORMED);
            }
            if (out.isReadable()) {
                metrics.sent(SfuMetrics.Kind.STUN, out.readableBytes());
                if (tcp == null) {
                    channel.write(new DatagramPacket(out, from));
                } else {
                    writeFramed(tcp, out);
                    tcp.flush();
                }
                written = true;
            }
        } finally {
            if (!written) {
                out.release();
            }
        }
        return result;
    }

    /** A STUN Binding indication (keepalive) from a validated address: from the selected one, a sign of life. */
    public void onBindingIndication(InetSocketAddress from, long nowNs) {
        onBindingIndication(from, null, nowNs);
    }

    /** As {@link #onBindingIndication(InetSocketAddress, long)}, over an ICE-TCP connection ({@code tcp}). */
    public void onBindingIndication(InetSocketAddress from, Channel tcp, long nowNs) {
        assert loop.inEventLoop();
        if (!closed && from.equals(remote) && tcp == remoteTcp) {
            ice.refreshConsent(nowNs);
        }
    }

    /**
     * An ICE-TCP connection passed a check for this transport: it is closed with the transport. False (and the
     * caller closes it) when the transport is closed or holds {@link #MAX_TCP_PATHS} already.
     */
    public boolean addTcpPath(Channel tcp) {
        assert loop.inEventLoop();
        if (closed || tcpPaths.size() >= MAX_TCP_PATHS) {
            return false;
        }
        if (!tcpPaths.contains(tcp)) {
            tcpPaths.add(tcp);
        }
        return true;
    }

    /**
     * An ICE-TCP connection of this transport closed. If it was the selected path, media stops until the peer
     * nominates another (consent expires otherwise).
     */
    public void onTcpPathClosed(Channel tcp) {
        assert loop.inEventLoop();
        tcpPaths.remove(tcp);
        if (pendingTcp == tcp) {
            pendingRemote = null;
            pendingTcp = null;
        }
        if (selectedTcp == tcp) {
            selectedTcp = null;
        }
        if (remoteTcp == tcp) {
            if (!closed) {
                log.info("transport {} lost its selected ICE-TCP path {}", id, remote);
            }
            remote = null;
            remoteTcp = null;
        }
    }

    /** True when media goes over ICE-TCP; for stats and tests. */
    public boolean isOnTcp() {
        return remoteTcp != null;
    }

    /**
     * Writes the RFC 4571 length prefix and then {@code packet} to {@code tcp}; both writes are made on the loop, one
     * right after the other, so nothing can come between them. Takes ownership of {@code packet}.
     */
    private static void writeFramed(Channel tcp, ByteBuf packet) {
        ByteBuf prefix = tcp.alloc().directBuffer(2);
        prefix.writeShort(packet.readableBytes());
        tcp.write(prefix, tcp.voidPromise());
        tcp.write(packet, tcp.voidPromise());
    }

    private void flushTcp() {
        tcpFlushQueued = false;
        Channel tcp = remoteTcp;
        if (tcp != null) {
            tcp.flush();
        }
    }

    /** A DTLS record from a validated address. The buffer stays the caller's. */
    public void onDtls(ByteBuf packet) {
        if (dtls == null || closed) {
            metrics.drop(DropReason.DTLS_REJECTED);
            return;
        }
        dtls.onDatagram(packet);
    }

    /**
     * An SRTP or SRTCP packet from a validated address, decrypted in place and handed to the
     * listener. The buffer stays the caller's.
     */
    public void onSrtp(ByteBuf packet, InetSocketAddress from, long nowNs) {
        onSrtp(packet, from, null, nowNs);
    }

    /** As {@link #onSrtp(ByteBuf, InetSocketAddress, long)}, over an ICE-TCP connection ({@code tcp}) or UDP (null). */
    public void onSrtp(ByteBuf packet, InetSocketAddress from, Channel tcp, long nowNs) {
        assert loop.inEventLoop();
        SrtpSession session = srtp;
        if (session == null || closed) {
            metrics.drop(DropReason.NOT_CONNECTED);
            return;
        }
        if (RtcpPacket.looksLikeRtcp(packet)) {
            SrtpResult r = session.unprotectRtcp(packet);
            if (r != SrtpResult.OK) {
                metrics.drop(dropReasonOf(r));
                return;
            }
            confirmAddress(from, tcp, nowNs);
            if (RtcpPacket.validateCompound(packet) <= 0) {
                metrics.drop(DropReason.RTCP_MALFORMED);
                return;
            }
            listener.onTransportRtcp(this, packet, nowNs);
        } else {
            SrtpResult r = session.unprotectRtp(packet);
            if (r != SrtpResult.OK) {
                metrics.drop(dropReasonOf(r));
                return;
            }
            confirmAddress(from, tcp, nowNs);
            // Padding lies in the encrypted part: the header is fully checked only now, and only here.
            int payloadOffset = RtpPacket.validate(packet);
            if (payloadOffset < 0) {
                metrics.drop(DropReason.RTP_MALFORMED);
                return;
            }
            listener.onTransportRtp(this, packet, payloadOffset, nowNs);
        }
    }

    /**
     * Authenticated, fresh SRTP/SRTCP from {@code from}: if a fresh check nominated it, media moves there now; from
     * the selected address it refreshes consent (at most every {@link #SIGN_OF_LIFE_INTERVAL_NS}, so the address
     * comparison is not paid per packet).
     */
    private void confirmAddress(InetSocketAddress from, Channel tcp, long nowNs) {
        if (nowNs - lastSignOfLifeNs > SIGN_OF_LIFE_INTERVAL_NS && tcp == remoteTcp && from.equals(remote)) {
            lastSignOfLifeNs = nowNs;
            ice.refreshConsent(nowNs);
        }
        InetSocketAddress pending = pendingRemote;
        if (pending != null && tcp == pendingTcp && pending.equals(from)) {
            log.info("transport {} remote address {} -> {}{}", id, remote, tcp != null ? "tcp " : "", pending);
            remote = pending;
            remoteTcp = tcp;
            pendingRemote = null;
            pendingTcp = null;
            metrics.addressSwitched();
        }
    }

    private static DropReason dropReasonOf(SrtpResult r) {
        return switch (r) {
            case AUTH_FAIL -> DropReason.SRTP_AUTH_FAIL;
            case REPLAY -> DropReason.SRTP_REPLAY;
            default -> DropReason.SRTP_INVALID;
        };
    }

    @Override
    public boolean isConnected() {
        return srtp != null && remote != null && !closed;
    }

    @Override
    public void sendRtp(ByteBuf packet) {
        send(packet, false);
    }

    @Override
    public void sendRtcp(ByteBuf packet) {
        send(packet, true);
    }

    private void send(ByteBuf packet, boolean rtcp) {
        SrtpSession session = srtp;
        InetSocketAddress to = remote;
        if (session == null || to == null || closed) {
            packet.release();
            metrics.drop(DropReason.NOT_CONNECTED);
            return;
        }
        boolean handedOff = false;
        try {
            int overhead = rtcp ? SrtpSession.MAX_RTCP_OVERHEAD : SrtpSession.MAX_RTP_OVERHEAD;
            if (packet.writableBytes() < overhead) {
                packet.ensureWritable(overhead);
            }
            SrtpResult r = rtcp ? session.protectRtcp(packet) : session.protectRtp(packet);
            if (r != SrtpResult.OK) {
                metrics.drop(DropReason.SEND_FAILED);
                return;
            }
            Channel tcp = remoteTcp;
            if (tcp != null) {
                if (!tcp.isWritable()) {
                    metrics.drop(DropReason.TCP_BACKPRESSURE);
                    return;
                }
                metrics.sent(rtcp ? SfuMetrics.Kind.RTCP : SfuMetrics.Kind.RTP, packet.readableBytes());
                stats.onPacketOut();
                handedOff = true;
                writeFramed(tcp, packet);
                if (!tcpFlushQueued) {
                    // The UDP edge flushes its socket after each datagram; a TCP path is flushed once per loop turn.
                    tcpFlushQueued = true;
                    loop.execute(tcpFlush);
                }
                return;
            }
            metrics.sent(rtcp ? SfuMetrics.Kind.RTCP : SfuMetrics.Kind.RTP, packet.readableBytes());
            stats.onPacketOut();
            channel.write(new DatagramPacket(packet, to), channel.voidPromise());
            handedOff = true;
        } finally {
            if (!handedOff) {
                packet.release();
            }
        }
    }

    @Override
    public void onSsrcRetired(long ssrc) {
        if (srtp != null) {
            srtp.forgetSendSsrc(ssrc);
        }
    }

    @Override
    public void flush() {
        Channel tcp = remoteTcp;
        if (tcp != null) {
            tcp.flush();
        } else {
            channel.flush();
        }
    }

    /** DTLS flights from the handshake thread: copied into a buffer and written at once. */
    private void sendDtls(byte[] data, int offset, int length) {
        InetSocketAddress to = remote;
        Channel tcp = remoteTcp;
        if (to == null || closed) {
            return;
        }
        metrics.sent(SfuMetrics.Kind.DTLS, length);
        if (tcp != null) {
            // From the handshake thread: prefix and record in one buffer, so one write task carries both.
            ByteBuf framed = tcp.alloc().directBuffer(2 + length);
            framed.writeShort(length).writeBytes(data, offset, length);
            tcp.writeAndFlush(framed, tcp.voidPromise());
            return;
        }
        channel.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer(data, offset, length), to), channel.voidPromise());
    }

    @Override
    public void onDtlsConnected(SrtpKeys keys) {
        loop.execute(() -> {
            if (closed) {
                return;
            }
            metrics.handshake(true);
            srtp = new SrtpSession(keys);
            log.info("transport {} connected from {} ({})", id, remote, keys.profile());
            listener.onTransportConnected(this);
        });
    }

    @Override
    public void onDtlsFailed(String reason) {
        loop.execute(() -> {
            metrics.handshake(false);
            log.warn("transport {} DTLS handshake failed from {}: {}", id, remote, reason);
            close("dtls failed: " + reason);
        });
    }

    @Override
    public void onDtlsClosed() {
        loop.execute(() -> close("dtls closed by peer"));
    }

    /** Checks consent freshness (RFC 7675); closes the transport when it has expired. */
    public void checkConsent(long nowNs) {
        if (!closed && ice.isConsentExpired(nowNs)) {
            log.info("transport {} consent expired ({})", id, remote);
            close("ice consent expired");
        }
    }

    @Override
    public void close(String reason) {
        assert loop.inEventLoop();
        if (closed) {
            return;
        }
        closed = true;
        registry.remove(this);
        stats.transportClosed();
        for (Channel tcp : new java.util.ArrayList<>(tcpPaths)) {
            tcp.close();
        }
        tcpPaths.clear();
        if (dtls != null) {
            dtls.close();
        }
        TransportListener l = listener;
        if (l != null) {
            l.onTransportClosed(this, reason);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "WebRtcTransport[" + id + " " + remote + "]";
    }
}
