package io.cascadesfu.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * A UDP relay that impairs traffic between clients and one target (a node's media port): per-direction
 * delay, jitter, random loss and rate limit ({@link Impairment}). Clients send to {@link #address()}; for
 * each client address the relay opens its own socket towards the target, so the target sees one distinct
 * address per client and its replies find their way back. "Up" is client → target, "down" target → client.
 *
 * <p>The load tool routes its clients' media through one (the {@code --impair} options), and cascade tests
 * can put one between two nodes to emulate regions.
 *
 * <p>Threading: everything runs on the relay's own single event loop; {@link #setImpairment} and the counters
 * may be used from any thread. Each flow direction is a bounded FIFO ({@value #QUEUE_CAPACITY} packets,
 * tail drop) served by one timer, so packets of a flow are never reordered.
 *
 * <p>Buffers: a received datagram's buffer is owned by the queue until it is written out (then Netty releases
 * it) or dropped (released here); {@link #close()} releases whatever is still queued.
 */
public final class ImpairmentRelay implements AutoCloseable {
    /** Packets held per flow and direction before tail drop. */
    static final int QUEUE_CAPACITY = 8192;
    /** Flows (client addresses) the relay serves at most. */
    static final int MAX_FLOWS = 8192;
    /** A flow without traffic for this long is closed. */
    static final long IDLE_FLOW_NS = TimeUnit.SECONDS.toNanos(60);
    /** Packets due within this much of the timer firing go out in the same burst. */
    static final long DRAIN_SLACK_NS = TimeUnit.MICROSECONDS.toNanos(200);

    private final EventLoopGroup group;
    private final EventLoop loop;
    private final NettyTransport transport;
    private final InetSocketAddress target;
    private final Channel listener;
    private final Map<InetSocketAddress, Flow> flows = new HashMap<>();
    private final SplittableRandom random = new SplittableRandom();
    private volatile Impairment up;
    private volatile Impairment down;
    private volatile boolean closed;

    private volatile long upForwarded;
    private volatile long upDropped;
    private volatile long downForwarded;
    private volatile long downDropped;

    private ImpairmentRelay(InetSocketAddress bind, InetSocketAddress target, Impairment up, Impairment down) {
        this.transport = NettyTransport.best();
        this.group = transport.newGroup(1, "impairment-relay");
        this.loop = group.next();
        this.target = target;
        this.up = up;
        this.down = down;
        try {
            this.listener = bootstrap(new ClientSide()).bind(bind).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        loop.scheduleAtFixedRate(this::closeIdleFlows, 5, 5, TimeUnit.SECONDS);
    }

    /**
     * Starts a relay listening on {@code bind} (port 0 for an ephemeral one) towards {@code target}.
     *
     * @param up   applied to client → target traffic
     * @param down applied to target → client traffic
     */
    public static ImpairmentRelay start(InetSocketAddress bind, InetSocketAddress target, Impairment up,
                                        Impairment down) {
        return new ImpairmentRelay(bind, target, up, down);
    }

    /** Where clients send instead of the target. */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public InetSocketAddress target() {
        return target;
    }

    /** Changes the impairments; packets already queued keep their schedule. Any thread. */
    public void setImpairment(Impairment up, Impairment down) {
        this.up = up;
        this.down = down;
    }

    public Impairment up() {
        return up;
    }

    public Impairment down() {
        return down;
    }

    public long upForwarded() {
        return upForwarded;
    }

    /** Up packets dropped: random loss, rate-limit queue overflow, queue full. */
    public long upDropped() {
        return upDropped;
    }

    public long downForwarded() {
        return downForwarded;
    }

    public long downDropped() {
        return downDropped;
    }

    private Bootstrap bootstrap(ChannelInboundHandlerAdapter handler) {
        return new Bootstrap().group(loop).channel(transport.datagramChannel())
                .option(ChannelOption.SO_RCVBUF, 4 << 20)
                .option(ChannelOption.SO_SNDBUF, 4 << 20)
                .handler(handler);
    }

    /** Datagrams from clients, on the listening socket. */
    private final class ClientSide extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket packet = (DatagramPacket) msg;
            ByteBuf content = packet.content();
            if (closed) {
                content.release();
                return;
            }
            Flow flow = flows.get(packet.sender());
            if (flow == null) {
                flow = openFlow(packet.sender());
                if (flow == null) {
                    content.release();
                    upDropped++;
                    return;
                }
            }
            flow.lastActiveNs = System.nanoTime();
            flow.up.offer(content, up);
        }
    }

    /** Datagrams from the target, on a flow's own socket. */
    private final class TargetSide extends ChannelInboundHandlerAdapter {
        private final Flow flow;

        TargetSide(Flow flow) {
            this.flow = flow;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf content = ((DatagramPacket) msg).content();
            if (closed || flow.closed) {
                content.release();
                return;
            }
            flow.down.offer(content, down);
        }
    }

    private Flow openFlow(InetSocketAddress client) {
        if (flows.size() >= MAX_FLOWS) {
            return null;
        }
        Flow flow = new Flow(client);
        InetSocketAddress local = new InetSocketAddress(address().getAddress(), 0);
        flow.upstream = bootstrap(new TargetSide(flow)).bind(local).addListener(f -> {
            if (f.isSuccess()) {
                flow.up.drain();
            } else {
                flow.close();
                flows.remove(client, flow);
            }
        }).channel();
        flows.put(client, flow);
        return flow;
    }

    private void closeIdleFlows() {
        long now = System.nanoTime();
        for (Flow flow : new ArrayList<>(flows.values())) {
            if (now - flow.lastActiveNs > IDLE_FLOW_NS) {
                flows.remove(flow.client);
                flow.close();
            }
        }
    }

    /** One client address: its socket towards the target and a queue per direction. */
    private final class Flow {
        final InetSocketAddress client;
        final DirectionQueue up = new DirectionQueue(this, true);
        final DirectionQueue down = new DirectionQueue(this, false);
        Channel upstream;
        long lastActiveNs = System.nanoTime();
        boolean closed;

        Flow(InetSocketAddress client) {
            this.client = client;
        }

        void close() {
            closed = true;
            up.clear();
            down.clear();
            if (upstream != null) {
                upstream.close();
            }
        }
    }

    /**
     * A bounded FIFO of packets with their departure times (two parallel rings: no object per packet) and the
     * state of the rate limiter. Only the relay's loop touches it.
     */
    private final class DirectionQueue {
        private final Flow flow;
        private final boolean upstream;
        private final ByteBuf[] packets = new ByteBuf[QUEUE_CAPACITY];
        private final long[] dueNs = new long[QUEUE_CAPACITY];
        private int head;
        private int size;
        private long lastDueNs;
        private long linkBusyUntilNs;
        private boolean timerArmed;
        private final Runnable drainTask = this::onTimer;

        DirectionQueue(Flow flow, boolean upstream) {
            this.flow = flow;
            this.upstream = upstream;
        }

        /** Takes ownership of {@code packet}. */
        void offer(ByteBuf packet, Impairment impairment) {
            long now = System.nanoTime();
            if (impairment.lossPercent() > 0 && random.nextDouble() * 100 < impairment.lossPercent()) {
                drop(packet);
                return;
            }
            long departNs = now;
            if (impairment.rateBps() > 0) {
                long start = Math.max(now, linkBusyUntilNs);
                if (start - now > TimeUnit.MICROSECONDS.toNanos(Impairment.MAX_QUEUE_DELAY_US)) {
                    drop(packet);
                    return;
                }
                linkBusyUntilNs = start + packet.readableBytes() * 8L * 1_000_000_000L / impairment.rateBps();
                departNs = linkBusyUntilNs;
            }
            long delayNs = impairment.delayUs() * 1000;
            if (impairment.jitterUs() > 0) {
                delayNs += (long) ((random.nextDouble() * 2 - 1) * impairment.jitterUs() * 1000);
            }
            long due = Math.max(departNs + Math.max(0, delayNs), lastDueNs); // never reorder within a flow
            if (size == QUEUE_CAPACITY) {
                drop(packet);
                return;
            }
            lastDueNs = due;
            int tail = (head + size) % QUEUE_CAPACITY;
            packets[tail] = packet;
            dueNs[tail] = due;
            size++;
            if (due - now <= DRAIN_SLACK_NS && !timerArmed) {
                drain();
            } else if (!timerArmed) {
                arm(due - now);
            }
        }

        private void drop(ByteBuf packet) {
            packet.release();
            if (upstream) {
                upDropped++;
            } else {
                downDropped++;
            }
        }

        private void arm(long delayNs) {
            timerArmed = true;
            loop.schedule(drainTask, Math.max(0, delayNs), TimeUnit.NANOSECONDS);
        }

        private void onTimer() {
            timerArmed = false;
            drain();
        }

        /** Sends every packet that is due, then re-arms the timer for the next one. */
        void drain() {
            if (closed || flow.closed) {
                clear();
                return;
            }
            Channel out = upstream ? flow.upstream : listener;
            if (out == null || !out.isActive()) {
                return; // the flow's socket is still binding: its bind listener drains
            }
            InetSocketAddress to = upstream ? target : flow.client;
            long now = System.nanoTime();
            int sent = 0;
            while (size > 0 && dueNs[head] - now <= DRAIN_SLACK_NS) {
                ByteBuf packet = packets[head];
                packets[head] = null;
                head = (head + 1) % QUEUE_CAPACITY;
                size--;
                out.write(new DatagramPacket(packet, to), out.voidPromise());
                sent++;
            }
            if (sent > 0) {
                out.flush();
                if (upstream) {
                    upForwarded += sent;
                } else {
                    downForwarded += sent;
                }
            }
            if (size > 0 && !timerArmed) {
                arm(dueNs[head] - now);
            }
        }

        void clear() {
            while (size > 0) {
                packets[head].release();
                packets[head] = null;
                head = (head + 1) % QUEUE_CAPACITY;
                size--;
            }
        }
    }

    /** Stops the relay and releases every queued packet. Waits at most a few seconds. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            loop.submit(() -> {
                closed = true;
                for (Flow flow : flows.values()) {
                    flow.close();
                }
                flows.clear();
                listener.close();
            }).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            closed = true;
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @Override
    public String toString() {
        return "ImpairmentRelay " + address() + " -> " + target + " up[" + up + "] down[" + down + "]";
    }
}
