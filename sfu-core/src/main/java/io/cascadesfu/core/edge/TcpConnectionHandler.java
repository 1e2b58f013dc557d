package io.cascadesfu.core.edge;

import io.cascadesfu.core.ice.IceLiteAgent;
import io.cascadesfu.core.ice.IceResult;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.stun.StunMessage;
import io.cascadesfu.core.stun.StunParseResult;
import io.cascadesfu.core.transport.UfragDirectory;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ICE-TCP connection (RFC 6544, passive side), after {@link TcpFrameDecoder}.
 *
 * <p>Lifecycle: accepted on the TCP edge's accept loop, which owns no transport. The first frame must be a STUN
 * Binding request whose USERNAME names a local ufrag in the node's {@link UfragDirectory}; anything else, or nothing
 * within the first-frame timeout, closes the connection. The connection is then deregistered from the accept loop
 * and registered on the worker loop that owns the transport (frames read meanwhile are held, a few at most), where
 * the first check is answered. It stays only if that check succeeds: it is then one path of the transport
 * ({@link WebRtcTransport#addTcpPath}), and every later frame is handled on the worker like a datagram from the UDP
 * edge: STUN checks and indications, DTLS records and SRTP/SRTCP packets, others close it. It closes when silent for
 * the idle timeout, when the peer closes it, or with its transport.
 *
 * <p>Threading: the accept loop until moved, then the worker loop; one at a time, never both. Buffers: each frame is
 * this handler's to release, after the transport has used it.
 */
final class TcpConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(TcpConnectionHandler.class);
    /** Frames held while the connection moves to its worker (a browser sends one check and waits for the answer). */
    static final int MAX_HELD_FRAMES = 8;

    private final UfragDirectory directory;
    private final SfuMetrics metrics;
    private final TcpEdge.Limits limits;
    private final StunMessage stun = new StunMessage();
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>(2);

    private InetSocketAddress remote;
    private String ufrag;
    private UfragDirectory.Owner owner;
    private WebRtcTransport transport;
    /** A check over this connection succeeded: DTLS and SRTP may follow. */
    private boolean validated;
    private boolean moving;
    private boolean closed;
    private long lastReadNs;
    private ScheduledFuture<?> timer;

    TcpConnectionHandler(UfragDirectory directory, SfuMetrics metrics, TcpEdge.Limits limits) {
        this.directory = directory;
        this.metrics = metrics;
        this.limits = limits;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        remote = (InetSocketAddress) ctx.channel().remoteAddress();
        lastReadNs = System.nanoTime();
        timer = ctx.executor().schedule(() -> {
            if (transport == null && !closed) {
                metrics.drop(DropReason.TCP_TIMEOUT);
                ctx.close();
            }
        }, limits.firstFrameTimeout().toNanos(), TimeUnit.NANOSECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (closed) {
            frame.release();
            return;
        }
        long nowNs = System.nanoTime();
        lastReadNs = nowNs;
        if (moving) {
            if (held.size() < MAX_HELD_FRAMES) {
                held.add(frame);
            } else {
                frame.release();
                metrics.drop(DropReason.TCP_REJECTED);
            }
            return;
        }
        if (transport == null) {
            onFirstFrame(ctx, frame);
            return;
        }
        try {
            onFrame(ctx, frame, nowNs);
        } catch (RuntimeException e) {
            log.warn("error handling an ICE-TCP frame from {}", remote, e);
        } finally {
            frame.release();
        }
        owner.flush().run();
    }

    /** On the accept loop: find the worker the first check names and move there, taking the frame along. */
    private void onFirstFrame(ChannelHandlerContext ctx, ByteBuf frame) {
        metrics.received(SfuMetrics.Kind.STUN, frame.readableBytes());
        boolean isCheck = PacketKind.of(frame) == PacketKind.STUN && stun.parse(frame) == StunParseResult.OK
                && stun.method() == StunMessage.METHOD_BINDING && stun.messageClass() == StunMessage.CLASS_REQUEST;
        String local = isCheck ? IceLiteAgent.localUfragOf(stun.username()) : null;
        UfragDirectory.Owner found = directory.ownerOf(local);
        if (found == null) {
            frame.release();
            reject(ctx);
            return;
        }
        ufrag = local;
        owner = found;
        moving = true;
        held.add(frame);
        Channel ch = ctx.channel();
        ch.config().setAutoRead(false);
        ch.deregister().addListener(d -> {
            if (!d.isSuccess()) {
                ch.close();
                return;
            }
            found.loop().register(ch).addListener(r -> {
                if (!r.isSuccess()) {
                    ch.close();
                    return;
                }
                onMoved(ctx);
            });
        });
    }

    /** On the worker loop: answer what came so far, then read on. */
    private void onMoved(ChannelHandlerContext ctx) {
        assert owner.loop().inEventLoop();
        moving = false;
        if (timer != null) {
            timer.cancel(false);
        }
        transport = owner.registry().byUfrag(ufrag);
        if (transport == null || closed) {
            releaseHeld();
            reject(ctx);
            return;
        }
        long nowNs = System.nanoTime();
        ByteBuf frame;
        while ((frame = held.poll()) != null) {
            try {
                if (!closed) {
                    onFrame(ctx, frame, nowNs);
                }
            } finally {
                frame.release();
            }
        }
        owner.flush().run();
        if (closed) {
            return;
        }
        if (!validated) {
            reject(ctx);
            return;
        }
        long idleNs = limits.idleTimeout().toNanos();
        timer = ctx.executor().scheduleAtFixedRate(() -> {
            if (!closed && System.nanoTime() - lastReadNs > idleNs) {
                metrics.drop(DropReason.TCP_TIMEOUT);
                ctx.close();
            }
        }, idleNs / 2, idleNs / 2, TimeUnit.NANOSECONDS);
        ctx.channel().config().setAutoRead(true);
    }

    /** One frame for the transport, on its worker loop; the frame stays the caller's. */
    private void onFrame(ChannelHandlerContext ctx, ByteBuf frame, long nowNs) {
        owner.stats().onDatagramIn();
        owner.stats().setBatchStartNs(nowNs);
        Channel ch = ctx.channel();
        switch (PacketKind.of(frame)) {
            case STUN -> onStun(ctx, frame, nowNs);
            case DTLS -> {
                if (!validated) {
                    reject(ctx);
                    return;
                }
                metrics.received(SfuMetrics.Kind.DTLS, frame.readableBytes());
                transport.onDtls(frame);
            }
            case SRTP -> {
                if (!validated) {
                    reject(ctx);
                    return;
                }
                metrics.received(EdgeHandler.isRtcp(frame) ? SfuMetrics.Kind.RTCP : SfuMetrics.Kind.RTP,
                        frame.readableBytes());
                transport.onSrtp(frame, remote, ch, nowNs);
            }
            case UNKNOWN -> reject(ctx);
        }
    }

    private void onStun(ChannelHandlerContext ctx, ByteBuf frame, long nowNs) {
        if (validated) {
            metrics.received(SfuMetrics.Kind.STUN, frame.readableBytes()); // the first one was counted on arrival
        }
        if (stun.parse(frame) != StunParseResult.OK) {
            metrics.drop(DropReason.STUN_MALFORMED);
            return;
        }
        Channel ch = ctx.channel();
        if (stun.method() != StunMessage.METHOD_BINDING) {
            metrics.drop(DropReason.STUN_UNEXPECTED);
            return;
        }
        if (stun.messageClass() == StunMessage.CLASS_INDICATION) {
            transport.onBindingIndication(remote, ch, nowNs);
            return;
        }
        if (stun.messageClass() != StunMessage.CLASS_REQUEST) {
            metrics.drop(DropReason.STUN_UNEXPECTED);
            return;
        }
        // The ufrag must still be the transport's (an ICE restart replaces it).
        if (owner.registry().byUfrag(IceLiteAgent.localUfragOf(stun.username())) != transport) {
            metrics.drop(DropReason.STUN_UNAUTHORIZED);
            return;
        }
        IceResult result = transport.onStunRequest(frame, stun, remote, ch, nowNs);
        if (!validated && (result == IceResult.SUCCESS || result == IceResult.SUCCESS_NOMINATED)) {
            if (transport.addTcpPath(ch)) {
                validated = true;
            } else {
                reject(ctx);
            }
        }
    }

    private void reject(ChannelHandlerContext ctx) {
        if (!closed) {
            metrics.drop(DropReason.TCP_REJECTED);
            closed = true;
            ctx.close();
        }
    }

    private void releaseHeld() {
        ByteBuf b;
        while ((b = held.poll()) != null) {
            b.release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        if (timer != null) {
            timer.cancel(false);
        }
        if (!moving) {
            releaseHeld();
        }
        if (transport != null && validated && owner.loop().inEventLoop()) {
            transport.onTcpPathClosed(ctx.channel());
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseHeld();
    }

    /** A reset by the peer is how many TCP connections end: closed quietly. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("ICE-TCP connection {} error: {}", remote, cause.toString());
        ctx.close();
    }
}
