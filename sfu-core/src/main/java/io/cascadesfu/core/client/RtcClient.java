package io.cascadesfu.core.client;

import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.dtls.DtlsClientSession;
import io.cascadesfu.core.dtls.DtlsListener;
import io.cascadesfu.core.dtls.SrtpKeys;
import io.cascadesfu.core.edge.PacketKind;
import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.srtp.SrtpResult;
import io.cascadesfu.core.srtp.SrtpSession;
import io.cascadesfu.core.stun.Stun;
import io.cascadesfu.core.stun.StunMessage;
import io.cascadesfu.core.stun.StunParseResult;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client side of a WebRTC transport to an ICE-lite node: ICE controlling agent (Binding requests
 * with USE-CANDIDATE, then consent checks), DTLS client, SRTP. It is what a browser does, without the
 * browser: the load tool's simulated participants and the integration tests use it, and a node
 * dialing a peer node will use it for the cascade.
 *
 * <p>Lifecycle: construct (local ICE credentials and certificate are known at once, for the SDP),
 * {@link #connect} with the remote parameters from the answer, {@link #close}.
 *
 * <p>Over ICE-TCP ({@link #overTcp}) the client dials the node's passive TCP candidate at once and sends
 * everything on that connection, framed as RFC 4571 says (2-byte length before each packet).
 *
 * <p>Threading: all state lives on the event loop of the client's own UDP channel. {@code send*}
 * may be called from any thread (they hop onto the loop). Received packets are handed to the
 * {@link Listener} on that loop and are borrowed for the call.
 */
public final class RtcClient implements AutoCloseable {

    /** What the client hands back. Called on the client's event loop. */
    public interface Listener {
        default void onConnected(RtcClient client) {
        }

        /** Decrypted RTP, borrowed. */
        default void onRtp(RtcClient client, ByteBuf packet, long nowNs) {
        }

        /** Decrypted RTCP compound, borrowed. */
        default void onRtcp(RtcClient client, ByteBuf packet, long nowNs) {
        }

        default void onFailed(RtcClient client, String reason) {
        }
    }

    /** Remote parameters from the node's SDP. */
    public record Remote(InetSocketAddress address, String iceUfrag, String icePwd, String fingerprintAlgorithm,
                         String fingerprint) {
    }

    static final long CHECK_INTERVAL_MS = 100;
    /** Begins the {@link Listener#onFailed} reason when the path stopped answering (see {@link #consentTimeout}). */
    public static final String CONSENT_LOST = "consent lost";
    static final long DEFAULT_CONSENT_INTERVAL_MS = 5000;

    private final EventLoopGroup group;
    private final Class<? extends DatagramChannel> channelType;
    private final InetSocketAddress bindAddress;
    /** ICE-TCP: the node's passive candidate this client dials, with the socket type; null over UDP. */
    private final InetSocketAddress tcpAddress;
    private final Class<? extends io.netty.channel.socket.SocketChannel> tcpChannelType;
    private final DtlsCertificate certificate;
    private final Executor dtlsExecutor;
    private final Listener listener;
    private final IceCredentials local;
    private final long tieBreaker = ThreadLocalRandom.current().nextLong();
    private final StunMessage stun = new StunMessage();
    private final CompletableFuture<RtcClient> connected = new CompletableFuture<>();
    private final AtomicLong srtpFailures = new AtomicLong();

    private volatile Channel channel;
    private Remote remote;
    private byte[] remoteKey;
    /**
     * The transaction ids of the last checks sent, newest at {@link #nextTransaction} - 1: an answer to any of them
     * counts. Checks go every 100 ms until connected, so on a path with a longer round trip (between regions:
     * 150 ms California-Frankfurt) the answer to a check comes after the next one was sent.
     */
    private final byte[][] recentTransactions = new byte[RECENT_TRANSACTIONS][12];
    private int nextTransaction;
    /** Checks whose answers still count: 3.2 s of them before connecting. */
    static final int RECENT_TRANSACTIONS = 32;
    private boolean iceConnected;
    private DtlsClientSession dtls;
    private volatile SrtpSession srtp;
    private long consentIntervalMs = DEFAULT_CONSENT_INTERVAL_MS;
    /** Fail when no check was answered this long once connected; 0: never (a browser's 30 s is the caller's). */
    private long consentTimeoutMs;
    private long lastAnswerNs;
    private long stunIgnored;
    private boolean consentLost;
    private volatile boolean consentPaused;
    private volatile boolean closed;
    private volatile int dropIncomingSeq = -1;
    // Progress of the connection, for a diagnosis when it does not come up (single writer each).
    private volatile int checksSent;
    private volatile int checkAnswers;
    private volatile int dtlsIn;
    private final java.util.concurrent.atomic.AtomicInteger dtlsOut = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Binds a UDP socket for the client.
     *
     * @param channelType  the datagram channel class matching {@code group}'s transport
     * @param bindAddress  local address, port 0 for an ephemeral one
     */
    public RtcClient(EventLoopGroup group, Class<? extends DatagramChannel> channelType, InetSocketAddress bindAddress,
                     DtlsCertificate certificate, Executor dtlsExecutor, Listener listener) {
        this(group, channelType, bindAddress, certificate, dtlsExecutor, listener, IceCredentials.random());
    }

    /** As above, with the local ICE credentials given (a relay link announces them before the client exists). */
    public RtcClient(EventLoopGroup group, Class<? extends DatagramChannel> channelType, InetSocketAddress bindAddress,
                     DtlsCertificate certificate, Executor dtlsExecutor, Listener listener, IceCredentials local) {
        this(group, channelType, bindAddress, null, null, certificate, dtlsExecutor, listener, local);
    }

    private RtcClient(EventLoopGroup group, Class<? extends DatagramChannel> channelType, InetSocketAddress bindAddress,
                      Class<? extends io.netty.channel.socket.SocketChannel> tcpChannelType,
                      InetSocketAddress tcpAddress, DtlsCertificate certificate, Executor dtlsExecutor,
                      Listener listener, IceCredentials local) {
        this.local = local;
        this.group = group;
        this.channelType = channelType;
        this.bindAddress = bindAddress;
        this.tcpChannelType = tcpChannelType;
        this.tcpAddress = tcpAddress;
        this.certificate = certificate;
        this.dtlsExecutor = dtlsExecutor;
        this.listener = listener;
        this.channel = bind();
    }

    /**
     * A client over ICE-TCP: connects to the node's passive TCP candidate {@code nodeTcp} now (blocking); the
     * address of the {@link Remote} given to {@link #connect} is not used.
     */
    public static RtcClient overTcp(EventLoopGroup group, Class<? extends io.netty.channel.socket.SocketChannel> type,
                                    InetSocketAddress nodeTcp, DtlsCertificate certificate, Executor dtlsExecutor,
                                    Listener listener) {
        return new RtcClient(group, null, null, type, nodeTcp, certificate, dtlsExecutor, listener,
                IceCredentials.random());
    }

    /** Binds; waits for it unless called on the group's own loop (a relay link's worker), where it cannot. */
    private Channel bind() {
        if (tcpAddress != null) {
            return new Bootstrap().group(group).channel(tcpChannelType)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new io.netty.channel.ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new io.netty.handler.codec.LengthFieldBasedFrameDecoder(
                                    65535, 0, 2, 0, 2), new Handler());
                        }
                    })
                    .connect(tcpAddress).syncUninterruptibly().channel();
        }
        io.netty.channel.ChannelFuture f = new Bootstrap().group(group).channel(channelType)
                .option(ChannelOption.SO_RCVBUF, 1 << 20)
                .option(ChannelOption.SO_SNDBUF, 1 << 20)
                .handler(new Handler())
                .bind(bindAddress);
        if (!(group instanceof EventLoop loop && loop.inEventLoop())) {
            f.syncUninterruptibly();
        }
        return f.channel();
    }

    public IceCredentials localCredentials() {
        return local;
    }

    public String localFingerprint() {
        return certificate.fingerprintSha256();
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    /** Completes when ICE and DTLS are done and SRTP can flow; fails on DTLS failure. */
    public CompletableFuture<RtcClient> connected() {
        return connected;
    }

    /** How far the connection got: checks sent and answered, DTLS datagrams each way. Any thread. */
    public String progress() {
        return "to " + (remote == null ? "?" : remote.address()) + " from " + channel.localAddress() + ": "
                + checksSent + " ICE checks, " + checkAnswers + " answered, DTLS " + dtlsOut.get() + " out / "
                + dtlsIn + " in" + (srtp != null ? ", SRTP up" : "") + (stunIgnored > 0 ? ", " + stunIgnored
                + " STUN messages ignored" : "") + (srtpFailures.get() > 0 ? ", " + srtpFailures.get()
                + " SRTP failures" : "");
    }

    public boolean isConnected() {
        return srtp != null && !closed;
    }

    /** Packets that failed SRTP unprotect (authentication, replay). */
    public long srtpFailures() {
        return srtpFailures.get();
    }

    /** Consent check interval once connected (RFC 7675 says about 5 s). */
    /**
     * Reports {@link Listener#onFailed} when, once connected, no consent check was answered for {@code timeout}
     * (the far end is gone or the path is blocked; RFC 7675's 30 s is a browser's choice). Before {@link #connect}.
     */
    public RtcClient consentTimeout(Duration timeout) {
        this.consentTimeoutMs = Math.max(0, timeout.toMillis());
        return this;
    }

    public RtcClient consentInterval(Duration interval) {
        this.consentIntervalMs = Math.max(10, interval.toMillis());
        return this;
    }

    /** Stops (or resumes) consent checks, as a vanished client would. */
    public void pauseConsent(boolean paused) {
        consentPaused = paused;
    }

    /** Starts ICE towards the node; DTLS follows the first successful check. */
    public void connect(Remote remote) {
        channel.eventLoop().execute(() -> {
            this.remote = remote;
            this.remoteKey = remote.icePwd().getBytes(StandardCharsets.UTF_8);
            dtls = new DtlsClientSession(certificate, remote.fingerprintAlgorithm(), remote.fingerprint(),
                    dtlsExecutor, this::sendDtls, new DtlsEvents(), Duration.ofSeconds(10));
            scheduleCheck(0);
        });
    }

    /** ICE restart: the node's new credentials from its new answer; DTLS and SRTP carry on. */
    public void restartIce(String remoteUfrag, String remotePwd) {
        channel.eventLoop().execute(() -> {
            remote = new Remote(remote.address(), remoteUfrag, remotePwd, remote.fingerprintAlgorithm(),
                    remote.fingerprint());
            remoteKey = remotePwd.getBytes(StandardCharsets.UTF_8);
            scheduleCheck(0);
        });
    }

    /**
     * Moves to a new local socket, as a client whose network changed: the node must follow the
     * nominated check from the new address and keep the session.
     */
    public void rebind() {
        Channel old = channel;
        channel = bind();
        old.close();
        channel.eventLoop().execute(() -> scheduleCheck(0));
    }

    private void scheduleCheck(long delayMs) {
        Channel ch = channel;
        ch.eventLoop().schedule(this::sendCheck, delayMs, TimeUnit.MILLISECONDS);
    }

    private void sendCheck() {
        if (closed || remote == null || consentLost) {
            return;
        }
        if (iceConnected && consentTimeoutMs > 0
                && System.nanoTime() - lastAnswerNs > TimeUnit.MILLISECONDS.toNanos(consentTimeoutMs)) {
            consentLost = true;
            listener.onFailed(this, CONSENT_LOST + ": no ICE check answered for " + consentTimeoutMs + " ms");
            return;
        }
        if (!consentPaused) {
            byte[] transaction = recentTransactions[nextTransaction];
            nextTransaction = (nextTransaction + 1) % RECENT_TRANSACTIONS;
            ThreadLocalRandom.current().nextBytes(transaction);
            ByteBuf out = channel.alloc().directBuffer(256);
            Stun.writeBindingRequest(out, transaction, remote.iceUfrag() + ":" + local.ufrag(), remoteKey,
                    0x7E7F_00FFL, true, true, tieBreaker);
            writeOut(channel, out);
            checksSent++;
        }
        scheduleCheck(iceConnected ? consentIntervalMs : CHECK_INTERVAL_MS);
    }

    /**
     * Drops the next incoming RTP packet with sequence number {@code seq} before decrypting it, as if the network
     * had lost it (so its retransmission is not a replay). Any thread.
     */
    public void dropNextIncoming(int seq) {
        dropIncomingSeq = seq & 0xFFFF;
    }

    /** Sends RTP (plain; protected here). Takes ownership of the buffer. Any thread. */
    public void sendRtp(ByteBuf packet) {
        send(packet, false);
    }

    /** Sends an RTCP compound (plain; protected here). Takes ownership. Any thread. */
    public void sendRtcp(ByteBuf packet) {
        send(packet, true);
    }

    private void send(ByteBuf packet, boolean rtcp) {
        Channel ch = channel;
        if (!ch.eventLoop().inEventLoop()) {
            ch.eventLoop().execute(() -> send(packet, rtcp));
            return;
        }
        SrtpSession session = srtp;
        if (session == null || closed) {
            packet.release();
            return;
        }
        SrtpResult r = rtcp ? session.protectRtcp(packet) : session.protectRtp(packet);
        if (r != SrtpResult.OK) {
            packet.release();
            return;
        }
        writeOut(ch, packet);
    }

    /** To the node: a datagram, or over ICE-TCP a frame with its RFC 4571 length. Takes ownership. */
    private void writeOut(Channel ch, ByteBuf packet) {
        if (tcpAddress != null) {
            ByteBuf prefix = ch.alloc().buffer(2).writeShort(packet.readableBytes());
            ch.writeAndFlush(Unpooled.wrappedBuffer(prefix, packet), ch.voidPromise());
        } else {
            ch.writeAndFlush(new DatagramPacket(packet, remote.address()), ch.voidPromise());
        }
    }

    /** Sends raw bytes to the node, unprotected (for tests that send garbage). Takes ownership. */
    public void sendRaw(ByteBuf datagram) {
        Channel ch = channel;
        writeOut(ch, datagram);
    }

    private void sendDtls(byte[] data, int offset, int length) {
        Channel ch = channel;
        Remote r = remote;
        if (!closed && r != null) {
            dtlsOut.incrementAndGet();
            writeOut(ch, Unpooled.copiedBuffer(data, offset, length));
        }
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf content = msg instanceof DatagramPacket datagram ? datagram.content() : (ByteBuf) msg;
            try {
                if (!closed && remote != null) {
                    onDatagram(content);
                }
            } finally {
                content.release();
            }
        }
    }

    private void onDatagram(ByteBuf buf) {
        switch (PacketKind.of(buf)) {
            case STUN -> onStun(buf);
            case DTLS -> {
                dtlsIn++;
                dtls.onDatagram(buf);
            }
            case SRTP -> {
                SrtpSession session = srtp;
                if (session == null) {
                    return;
                }
                long nowNs = System.nanoTime();
                if (RtcpPacket.looksLikeRtcp(buf)) {
                    if (session.unprotectRtcp(buf) == SrtpResult.OK) {
                        listener.onRtcp(this, buf, nowNs);
                    } else {
                        srtpFailures.incrementAndGet();
                    }
                } else if (dropIncomingSeq >= 0 && RtpPacket.sequenceNumber(buf) == dropIncomingSeq) {
                    dropIncomingSeq = -1; // lost on the way, once (tests of loss repair)
                } else if (session.unprotectRtp(buf) == SrtpResult.OK) {
                    listener.onRtp(this, buf, nowNs);
                } else {
                    srtpFailures.incrementAndGet();
                }
            }
            default -> {
            }
        }
    }

    private boolean isRecentTransaction(byte[] id) {
        long sent = Math.min(checksSent, RECENT_TRANSACTIONS);
        for (int i = 0; i < sent; i++) {
            if (Arrays.equals(id, recentTransactions[i])) {
                return true;
            }
        }
        return false;
    }

    private void onStun(ByteBuf buf) {
        if (stun.parse(buf) != StunParseResult.OK || stun.messageClass() != StunMessage.CLASS_SUCCESS
                || !isRecentTransaction(stun.transactionId())
                || !Stun.verifyMessageIntegrity(buf, stun, remoteKey)) {
            stunIgnored++;
            return;
        }
        checkAnswers++;
        lastAnswerNs = System.nanoTime();
        if (!iceConnected) {
            iceConnected = true;
            dtls.start();
        }
    }

    private final class DtlsEvents implements DtlsListener {
        @Override
        public void onDtlsConnected(SrtpKeys keys) {
            channel.eventLoop().execute(() -> {
                srtp = new SrtpSession(keys);
                listener.onConnected(RtcClient.this);
                connected.complete(RtcClient.this);
            });
        }

        @Override
        public void onDtlsFailed(String reason) {
            channel.eventLoop().execute(() -> {
                listener.onFailed(RtcClient.this, reason);
                connected.completeExceptionally(new IllegalStateException("DTLS failed: " + reason));
            });
        }

        @Override
        public void onDtlsClosed() {
            channel.eventLoop().execute(() -> listener.onFailed(RtcClient.this, "DTLS closed by the node"));
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (dtls != null) {
            dtls.close();
        }
        channel.close().syncUninterruptibly();
        if (!connected.isDone()) {
            connected.completeExceptionally(new IllegalStateException("closed"));
        }
    }
}
