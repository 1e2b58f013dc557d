package io.cascadesfu.core;

import io.cascadesfu.core.bwe.TransportCcRecorder;
import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.room.Member;
import io.cascadesfu.core.room.Room;
import io.cascadesfu.core.room.Track;
import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs real calls through every worker at start, before the node accepts anyone, so that the JIT has compiled
 * the packet path (socket read, SRTP unprotect, routing, fan-out, pipes, SRTP protect, send) when the first user
 * arrives. At browser rates the JVM would otherwise run that path interpreted or in C1 for minutes.
 *
 * <p>On each worker one publisher (VP8 + Opus) and one subscriber to every publisher's tracks, so both the local
 * fan-out and the pipes run; clients are {@link RtcClient}s on loopback (ICE, DTLS, SRTP). Everything is closed
 * afterwards.
 */
public final class HotPathWarmup {
    private static final Logger log = LoggerFactory.getLogger(HotPathWarmup.class);
    static final String ROOM = "__warmup";
    private static final int VIDEO_PT = 96;
    private static final int AUDIO_PT = 111;
    private static final int RTX_PT = 97;
    private static final int RED_PT = 63;
    private static final int AUDIO_LEVEL_ID = 1;
    /** The transport-wide sequence number extension, on publishers and subscribers alike, as with browsers. */
    private static final int TWCC_ID = 3;
    /** A subscriber sends transport-cc feedback after this many packets, as a browser does every ~50 ms. */
    private static final int FEEDBACK_EVERY = 16;
    /** Of every 64 packets per publisher, this many go one at a time, {@link #TRICKLE_GAP_NS} apart. */
    private static final int TRICKLE = 4;
    private static final long TRICKLE_GAP_NS = 200_000;
    /** The sender's MID header extension: as libwebrtc, on every packet; the node drops it toward subscribers. */
    private static final int MID_ID = 4;
    /**
     * Sequence numbers and transport-wide numbers start here, so that both wrap around 16 bits during the warm-up
     * as they do in any long call (browsers start at random).
     */
    private static final int FIRST_SEQ = 60_000;
    /** The subscribers' feedback reports one transport-wide number in this many lost, as browsers' does now and then. */
    private static final int FEEDBACK_LOST_EVERY = 97;
    /** One video packet in this many is padded. */
    private static final int PADDED_EVERY = 32;

    private HotPathWarmup() {
    }

    /**
     * Sends {@code packetsPerPublisher} video and as many audio packets from each worker's publisher.
     * Blocks the caller (the node's main thread) for a few seconds; never throws: a failed warm-up is logged.
     *
     * @return RTP packets the warm-up subscribers received
     */
    public static long run(MediaEngine engine, int packetsPerPublisher) {
        return run(engine, packetsPerPublisher, 0, null);
    }

    /**
     * As {@link #run(MediaEngine, int)}, calling {@code betweenBursts} (if not null) after every
     * {@code burstPackets} packets per publisher: the server compacts the heap there, so that the warm-up's burst of
     * garbage does not make the JVM grow a heap the node will never need.
     */
    public static long run(MediaEngine engine, int packetsPerPublisher, int burstPackets, Runnable betweenBursts) {
        if (packetsPerPublisher <= 0) {
            return 0;
        }
        // Two rounds, each with new transports, streams and SRTP contexts: a stream's first packets take branches
        // that the compiled path would otherwise first meet with the first browser, and throw away then.
        DtlsCertificate cert; // the clients' certificate, both rounds
        try {
            cert = DtlsCertificate.generate();
        } catch (RuntimeException e) {
            logFailure(e);
            return 0;
        }
        int first = packetsPerPublisher / 2;
        long received = first > 0 ? round(engine, cert, first, burstPackets, betweenBursts) : 0;
        return received + round(engine, cert, packetsPerPublisher - first, burstPackets, betweenBursts);
    }

    private static long round(MediaEngine engine, DtlsCertificate cert, int packetsPerPublisher, int burstPackets,
                              Runnable betweenBursts) {
        long startNs = System.nanoTime();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ExecutorService dtls = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "sfu-warmup-dtls");
            t.setDaemon(true);
            return t;
        });
        List<RtcClient> clients = new ArrayList<>();
        AtomicLong received = new AtomicLong();
        Room[] room = new Room[1];
        try {
            // Subscribers answer with transport-cc feedback like browsers, so the send-side estimator's path is warm
            // too. Called on the clients' one loop only.
            Map<RtcClient, Feedback> feedback = new ConcurrentHashMap<>();
            RtcClient.Listener counting = new RtcClient.Listener() {
                @Override
                public void onRtp(RtcClient c, ByteBuf packet, long nowNs) {
                    received.incrementAndGet();
                    Feedback f = feedback.get(c);
                    if (f != null) {
                        f.onRtp(c, packet, nowNs);
                    }
                }
            };
            List<Endpoint> endpoints = onControl(engine, () -> {
                room[0] = engine.rooms().open(ROOM);
                List<Endpoint> list = new ArrayList<>();
                List<Track> tracks = new ArrayList<>();
                for (MediaWorker w : engine.workers()) {
                    Member pub = room[0].addMember("pub" + w.index(), w);
                    Endpoint pe = pub.createWebRtcEndpoint("warmup-pub" + w.index(), EndpointListener.NONE);
                    tracks.add(pub.publish(pe, "wv" + w.index(), new ProducerParams("0", TrackKind.VIDEO, Codec.VP8,
                            VIDEO_PT, 90000, videoSsrc(w.index()), MID_ID, true, 0, List.of(), 0, TWCC_ID, false)));
                    tracks.add(pub.publish(pe, "wa" + w.index(), new ProducerParams("1", TrackKind.AUDIO, Codec.OPUS,
                            AUDIO_PT, 48000, audioSsrc(w.index()), MID_ID, true, AUDIO_LEVEL_ID, List.of(), 0, TWCC_ID,
                            true)));
                    list.add(pe);
                }
                int n = 0;
                for (MediaWorker w : engine.workers()) {
                    Member sub = room[0].addMember("sub" + w.index(), w);
                    Endpoint se = sub.createWebRtcEndpoint("warmup-sub" + w.index(), EndpointListener.NONE);
                    for (Track t : tracks) {
                        byte[] ids = new byte[256];
                        ids[AUDIO_LEVEL_ID] = AUDIO_LEVEL_ID;
                        ids[TWCC_ID] = TWCC_ID;
                        // As a browser subscriber: its own MID element, rtx for video, red offered and NACK for audio.
                        long ssrc = 0x7000_0000L + n;
                        String mid = "m" + n++;
                        room[0].subscribe(se, t, t.params().kind() == TrackKind.VIDEO
                                ? new ConsumerParams(ssrc, VIDEO_PT, ids, ssrc + 0x100_0000L, RTX_PT, null, MID_ID, mid,
                                        false)
                                : new ConsumerParams(ssrc, AUDIO_PT, ids, -1, -1,
                                        new ConsumerParams.RedMapping(RED_PT, AUDIO_PT, -1, AUDIO_PT), MID_ID, mid, true));
                    }
                    list.add(se);
                }
                // And one that never connects, as a browser that subscribed is until its ICE and DTLS are done:
                // its consumers see every packet and send none.
                for (MediaWorker w : engine.workers()) {
                    Endpoint idle = room[0].addMember("idle" + w.index(), w)
                            .createWebRtcEndpoint("warmup-idle" + w.index(), EndpointListener.NONE);
                    for (Track t : tracks) {
                        room[0].subscribe(idle, t, new ConsumerParams(0x7100_0000L + n++, t.params().payloadType(),
                                new byte[256]));
                    }
                }
                return list;
            });
            List<CompletableFuture<RtcClient>> connecting = new ArrayList<>();
            for (Endpoint e : endpoints) {
                RtcClient c = new RtcClient(group, NioDatagramChannel.class, new InetSocketAddress("127.0.0.1", 0), cert,
                        dtls, counting);
                clients.add(c);
                if (clients.size() > engine.workers().size()) { // the subscribers come after the publishers
                    feedback.put(c, new Feedback(0x6000_0000L + clients.size()));
                }
                onControl(engine, () -> {
                    e.setRemoteParameters(c.localCredentials().ufrag(), c.localCredentials().pwd(), "sha-256",
                            c.localFingerprint());
                    return null;
                });
                InetSocketAddress bound = e.worker().localAddress();
                InetSocketAddress local = bound.getAddress().isAnyLocalAddress()
                        ? new InetSocketAddress("127.0.0.1", bound.getPort()) : bound;
                c.connect(new RtcClient.Remote(local, e.localCredentials().ufrag(), e.localCredentials().pwd(),
                        "sha-256", engine.fingerprintSha256()));
                connecting.add(c.connected());
            }
            CompletableFuture.allOf(connecting.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!onControl(engine, () -> endpoints.stream().allMatch(Endpoint::isConnected))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("node side of the warm-up transports did not connect");
                }
                Thread.sleep(5);
            }
            int publishers = engine.workers().size();
            for (int seq = 0; seq < packetsPerPublisher; seq++) {
                for (int p = 0; p < publishers; p++) {
                    RtcClient c = clients.get(p);
                    c.sendRtp(video(videoSsrc(p), FIRST_SEQ + seq, seq % 100 == 0, FIRST_SEQ + 2 * seq));
                    c.sendRtp(packet(audioSsrc(p), AUDIO_PT, FIRST_SEQ + seq, seq * 960L, 120,
                            FIRST_SEQ + 2 * seq + 1, false, '1'));
                }
                if (betweenBursts != null && burstPackets > 0 && seq % burstPackets == burstPackets - 1) {
                    betweenBursts.run();
                }
                if (seq % 64 < TRICKLE) {
                    // A few packets one at a time, as browsers send: the node then reads single datagrams, not only
                    // full batches, and the JIT compiles both shapes (else browsers' traffic deoptimizes the path).
                    group.next().submit(() -> null).get(5, TimeUnit.SECONDS);
                    LockSupport.parkNanos(TRICKLE_GAP_NS);
                }
                if (seq % 64 == 63) {
                    sendReports(clients, publishers, seq);
                    // Let the clients' loop catch up (it protects what we queue), so nothing piles up unsent.
                    group.next().submit(() -> null).get(5, TimeUnit.SECONDS);
                    Thread.sleep(1);
                }
            }
            long before = -1;
            for (int i = 0; i < 50 && received.get() != before; i++) { // until the last forwarded packets arrived
                before = received.get();
                Thread.sleep(20);
            }
            log.info("hot path warm-up: {} packets sent through {} worker(s), {} forwarded, in {} ms",
                    2L * publishers * packetsPerPublisher, publishers, received.get(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
        } catch (Exception e) {
            logFailure(e);
        } finally {
            try {
                onControl(engine, () -> {
                    if (room[0] != null) {
                        room[0].close();
                    }
                    return null;
                });
            } catch (RuntimeException e) {
                log.warn("closing the warm-up room failed", e);
            }
            for (RtcClient c : clients) {
                c.close();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            dtls.shutdownNow();
        }
        return received.get();
    }

    /**
     * RTCP as browsers send it: each publisher an SR with its CNAME, each subscriber an RR, and now and then a PLI
     * for the first video it receives (the node passes keyframe requests on to the publisher, rate-limited).
     */
    private static void sendReports(List<RtcClient> clients, int publishers, int seq) {
        for (int i = 0; i < clients.size(); i++) {
            ByteBuf out = PooledByteBufAllocator.DEFAULT.heapBuffer(128);
            if (i < publishers) {
                RtcpWriter.writeSenderReport(out, videoSsrc(i), System.nanoTime(), seq * 3000L, seq, seq * 900L);
                RtcpWriter.writeSdesCname(out, videoSsrc(i), "warmup" + i);
            } else {
                long self = 0x6100_0000L + i;
                RtcpWriter.writeReceiverReport(out, self);
                if (seq % 512 == 511) {
                    RtcpWriter.writePli(out, self, 0x7000_0000L + 2L * publishers * (i - publishers));
                }
            }
            clients.get(i).sendRtcp(out);
        }
    }

    private static long videoSsrc(int worker) {
        return 0x5700_0000L + worker;
    }

    private static long audioSsrc(int worker) {
        return 0x5A00_0000L + worker;
    }

    /**
     * A one-packet VP8 frame as libwebrtc sends it: marker set, payload descriptor with a 15-bit picture id; one in
     * {@link #PADDED_EVERY} carries RTP padding (browsers pad to probe the bandwidth).
     */
    private static ByteBuf video(long ssrc, int seq, boolean keyframe, int transportSeq) {
        boolean padded = seq % PADDED_EVERY == 0;
        ByteBuf b = packet(ssrc, VIDEO_PT, seq, seq * 3000L, 0, transportSeq, padded, '0');
        b.writeByte(0x90).writeByte(0x80).writeShort(0x8000 | (seq & 0x7FFF)); // X S, I, M + picture id
        b.writeByte(keyframe ? 0x00 : 0x01).writeZero(899); // VP8 payload header: P bit clear on a keyframe
        if (padded) {
            b.writeZero(3).writeByte(4);
        }
        return b;
    }

    /**
     * An RTP packet with an audio-level and a transport-wide sequence number extension and {@code payloadBytes} of
     * zeros (video writes its own payload); the marker and padding bits as asked.
     */
    private static ByteBuf packet(long ssrc, int pt, int seq, long ts, int payloadBytes, int transportSeq,
                                  boolean padded, char mid) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.heapBuffer(32 + Math.max(payloadBytes, 904) + 32);
        b.writeByte(padded ? 0xB0 : 0x90);
        b.writeByte(pt == VIDEO_PT ? 0x80 | pt : pt);
        b.writeShort(seq & 0xFFFF);
        b.writeInt((int) ts);
        b.writeInt((int) ssrc);
        b.writeShort(0xBEDE).writeShort(2);
        b.writeByte(AUDIO_LEVEL_ID << 4).writeByte(0x20); // one byte: level 32 dBov
        b.writeByte(TWCC_ID << 4 | 1).writeShort(transportSeq & 0xFFFF);
        b.writeByte(MID_ID << 4).writeByte(mid);
        b.writeZero(1);
        b.writeZero(payloadBytes);
        return b;
    }

    /** One subscriber's transport-cc receive side: records arrivals, sends feedback every few packets. */
    private static final class Feedback {
        private final TransportCcRecorder recorder = new TransportCcRecorder();
        private final long ssrc;
        private int sinceLast;

        Feedback(long ssrc) {
            this.ssrc = ssrc;
        }

        void onRtp(RtcClient c, ByteBuf packet, long nowNs) {
            int at = RtpPacket.findExtension(packet, TWCC_ID);
            if (at < 0) {
                return;
            }
            int transportSeq = packet.getUnsignedShort(packet.readerIndex() + at);
            if (transportSeq % FEEDBACK_LOST_EVERY != 0) {
                recorder.onPacket(transportSeq, nowNs);
            }
            if (++sinceLast < FEEDBACK_EVERY) {
                return;
            }
            sinceLast = 0;
            // Direct, as the node's own feedback buffers are: the JIT speculates on the buffer class in there.
            ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(TransportCcRecorder.MAX_PACKET_BYTES + 64);
            if (recorder.writeFeedback(out, ssrc, RtpPacket.ssrc(packet)) > 0) {
                c.sendRtcp(out);
            } else {
                out.release();
            }
        }
    }

    private static void logFailure(Exception e) {
        log.warn("hot path warm-up failed (the node runs anyway, the JIT compiles later): {}", e.toString());
    }

    private static <T> T onControl(MediaEngine engine, java.util.concurrent.Callable<T> task) {
        try {
            return engine.control().submit(task).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("warm-up step failed", e);
        }
    }

}
