package io.cascadesfu.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The machine's own UDP limit, the figure the node's forwarding rate is quoted against: a minimal Netty epoll
 * forwarder with no protocol work, on one event loop thread, as the node's media loop is. Every 1200-byte datagram
 * it receives on one socket goes out as {@code fanOut} pooled copies, one to each of {@code fanOut} receiver
 * sockets. Receive uses {@code recvmmsg} (a fixed 16-datagram buffer and {@code MAX_DATAGRAM_PAYLOAD_SIZE}); sends
 * are queued and flushed once per read burst so Netty uses {@code sendmmsg} (see /work/shared/MEASURED.md).
 *
 * <p>A sender and the receivers run in the same process on threads of their own. The sender keeps at most
 * {@link #WINDOW} datagrams in flight ahead of what the forwarder has read, so the forwarder is always busy but
 * the sender does not burn a core on datagrams the kernel would drop. Since the three share a 2-core machine,
 * the figure that matters is normalized by CPU time: packets out per second of forwarder thread CPU (the
 * forwarder's own limit on one core) and per second of process CPU (everything in the process included).
 *
 * <p>Run: {@code java -cp sfu-bench/target/sfu-bench.jar io.cascadesfu.bench.UdpForwarderProbe 10 10}
 * (arguments: fan-out, seconds measured after 2 s of warm-up).
 *
 * <p>Threading: each channel belongs to one event loop; counters are read from main through tasks on the loops.
 */
public final class UdpForwarderProbe {

    static final int PACKET_BYTES = 1200;
    static final int MAX_DATAGRAM_BYTES = 2048;
    static final int RECV_BATCH = 16;
    static final int SOCKET_BUFFER_BYTES = 4 << 20;
    /** Datagrams the sender may have sent beyond what the forwarder has read. */
    static final int WINDOW = 512;
    static final long WARMUP_SECONDS = 2;

    private UdpForwarderProbe() {
    }

    public static void main(String[] args) throws Exception {
        int fanOut = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("native epoll unavailable", Epoll.unavailabilityCause());
        }
        EventLoopGroup forwarderGroup = group("forwarder");
        EventLoopGroup receiverGroup = group("receivers");
        EventLoopGroup senderGroup = group("sender");
        try {
            run(fanOut, seconds, forwarderGroup, receiverGroup, senderGroup);
        } finally {
            senderGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            forwarderGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            receiverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static void run(int fanOut, int seconds, EventLoopGroup forwarderGroup, EventLoopGroup receiverGroup,
                            EventLoopGroup senderGroup) throws Exception {
        Receiver receiver = new Receiver();
        InetSocketAddress[] destinations = new InetSocketAddress[fanOut];
        for (int i = 0; i < fanOut; i++) {
            destinations[i] = (InetSocketAddress) bind(receiverGroup, receiver).localAddress();
        }
        Forwarder forwarder = new Forwarder(destinations);
        Channel forwarderChannel = bind(forwarderGroup, forwarder);
        Sender sender = new Sender(forwarder, (InetSocketAddress) forwarderChannel.localAddress());
        Channel senderChannel = bind(senderGroup, new ChannelInboundHandlerAdapter());
        sender.start(senderChannel);

        EventLoop forwarderLoop = forwarderChannel.eventLoop();
        EventLoop receiverLoop = receiverGroup.next();
        long forwarderThreadId = onLoop(forwarderLoop, () -> Thread.currentThread().getId());
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

        Thread.sleep(TimeUnit.SECONDS.toMillis(WARMUP_SECONDS));
        long[] f0 = onLoop(forwarderLoop, forwarder::counts);
        long r0 = onLoop(receiverLoop, () -> receiver.received);
        long fwdCpu0 = threads.getThreadCpuTime(forwarderThreadId);
        long procCpu0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();

        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
        long[] f1 = onLoop(forwarderLoop, forwarder::counts);
        long r1 = onLoop(receiverLoop, () -> receiver.received);
        long fwdCpu1 = threads.getThreadCpuTime(forwarderThreadId);
        long procCpu1 = os.getProcessCpuTime();
        long wall1 = System.nanoTime();
        sender.stop();

        double wallS = (wall1 - wall0) / 1e9;
        double fwdCpuS = (fwdCpu1 - fwdCpu0) / 1e9;
        double procCpuS = (procCpu1 - procCpu0) / 1e9;
        long in = f1[0] - f0[0];
        long out = f1[1] - f0[1];
        long notWritable = f1[2] - f0[2];
        long received = r1 - r0;
        System.out.printf("UdpForwarderProbe fan-out %d, %d s after %d s warm-up, %d-byte datagrams, epoll "
                + "recvmmsg x%d + sendmmsg, %d cores%n", fanOut, seconds, WARMUP_SECONDS, PACKET_BYTES, RECV_BATCH,
            Runtime.getRuntime().availableProcessors());
        System.out.printf("  forwarder in            %,12.0f packets/s%n", in / wallS);
        System.out.printf("  forwarder out (written) %,12.0f packets/s (%d dropped not writable)%n", out / wallS,
            notWritable);
        System.out.printf("  receivers got           %,12.0f packets/s (%.2f%% of written)%n", received / wallS,
            out == 0 ? 0 : 100.0 * received / out);
        System.out.printf("  forwarder thread CPU    %12.2f cores%n", fwdCpuS / wallS);
        System.out.printf("  process CPU             %12.2f cores%n", procCpuS / wallS);
        System.out.printf("  out per forwarder core  %,12.0f packets/s  (%.2f us per packet out, receive included)%n",
            out / fwdCpuS, fwdCpuS * 1e6 / out);
        System.out.printf("  out per process core    %,12.0f packets/s  (sender and receivers included)%n",
            received / procCpuS);
    }

    private static EventLoopGroup group(String name) {
        return new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("probe-" + name, true),
            EpollIoHandler.newFactory());
    }

    @SuppressWarnings("deprecation") // maxMessagesPerRead: still the way to batch reads in 4.2
    private static Channel bind(EventLoopGroup group, io.netty.channel.ChannelHandler handler) {
        FixedRecvByteBufAllocator recv = new FixedRecvByteBufAllocator(MAX_DATAGRAM_BYTES * RECV_BATCH);
        recv.maxMessagesPerRead(RECV_BATCH);
        return new Bootstrap()
            .group(group)
            .channel(EpollDatagramChannel.class)
            .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
            .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
            .option(ChannelOption.RCVBUF_ALLOCATOR, recv)
            .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM_BYTES)
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8 << 20, 16 << 20))
            .handler(handler)
            .bind(new InetSocketAddress("127.0.0.1", 0))
            .syncUninterruptibly()
            .channel();
    }

    private static <T> T onLoop(EventLoop loop, Callable<T> task) throws Exception {
        return loop.submit(task).get(10, TimeUnit.SECONDS);
    }

    /** Fan-out with no protocol work: a pooled copy per destination, flushed once per read burst. */
    static final class Forwarder extends ChannelInboundHandlerAdapter {
        private final InetSocketAddress[] destinations;
        private long in;
        private long out;
        private long notWritable;
        /** {@link #in}, published once per read burst for the sender's window. */
        volatile long readSoFar;

        Forwarder(InetSocketAddress[] destinations) {
            this.destinations = destinations;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket packet = (DatagramPacket) msg;
            try {
                in++;
                ByteBuf content = packet.content();
                int length = content.readableBytes();
                Channel channel = ctx.channel();
                for (InetSocketAddress destination : destinations) {
                    if (!channel.isWritable()) {
                        notWritable++;
                        continue;
                    }
                    ByteBuf copy = ctx.alloc().directBuffer(length);
                    copy.writeBytes(content, content.readerIndex(), length);
                    ctx.write(new DatagramPacket(copy, destination), ctx.voidPromise());
                    out++;
                }
            } finally {
                packet.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            readSoFar = in;
        }

        long[] counts() {
            return new long[] {in, out, notWritable};
        }
    }

    /** Counts what arrives on every receiver socket; all of them on one loop, so a plain field. */
    static final class Receiver extends ChannelInboundHandlerAdapter {
        long received;

        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            received++;
            ((DatagramPacket) msg).release();
        }
    }

    /**
     * Sends as fast as the forwarder reads, {@link #WINDOW} ahead of it; if the window stays full for
     * {@code STALL_NS} (datagrams the kernel dropped), it forgives them and goes on.
     */
    static final class Sender implements Runnable {
        private static final long STALL_NS = TimeUnit.MILLISECONDS.toNanos(5);
        private static final int BURST = 32;
        private final Forwarder forwarder;
        private final InetSocketAddress target;
        private Channel channel;
        private ByteBuf payload;
        private long sent;
        private long lastRead = -1;
        private long lastProgressNs;
        private volatile boolean stopped;

        Sender(Forwarder forwarder, InetSocketAddress target) {
            this.forwarder = forwarder;
            this.target = target;
        }

        void start(Channel channel) {
            this.channel = channel;
            payload = PooledByteBufAllocator.DEFAULT.directBuffer(PACKET_BYTES);
            for (int i = 0; i < PACKET_BYTES; i++) {
                payload.writeByte(i);
            }
            channel.eventLoop().execute(this);
        }

        void stop() {
            stopped = true;
            channel.eventLoop().execute(() -> payload.release());
        }

        @Override
        public void run() {
            if (stopped) {
                return;
            }
            long read = forwarder.readSoFar;
            long nowNs = System.nanoTime();
            if (read != lastRead) {
                lastRead = read;
                lastProgressNs = nowNs;
            } else if (nowNs - lastProgressNs > STALL_NS) {
                sent = read;  // what is still missing was dropped by the kernel
                lastProgressNs = nowNs;
            }
            int burst = 0;
            while (burst < BURST && sent - read < WINDOW && channel.isWritable()) {
                channel.write(new DatagramPacket(payload.retainedDuplicate(), target), channel.voidPromise());
                sent++;
                burst++;
            }
            if (burst > 0) {
                channel.flush();
                channel.eventLoop().execute(this);
            } else {
                channel.eventLoop().schedule(this, 20, TimeUnit.MICROSECONDS);
            }
        }
    }
}
