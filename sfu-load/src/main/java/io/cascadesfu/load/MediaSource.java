package io.cascadesfu.load;

import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.srtp.SrtpSession;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * A synthetic published track: paced RTP with realistic sizes and timing, each payload carrying a
 * {@link ProbeHeader}.
 *
 * <ul>
 *   <li>Audio: Opus timing, one packet every 20 ms (50/s), {@value #AUDIO_PAYLOAD_BYTES}-byte payload,
 *       clock 48000.</li>
 *   <li>Video: VP8 at {@code fps}; frame sizes from the target bitrate with ±20 % variation; a keyframe of
 *       {@value #KEYFRAME_FACTOR}× a delta frame every {@value #KEYFRAME_INTERVAL_MS} ms and when asked by
 *       PLI/FIR (at most one per {@value #KEYFRAME_REQUEST_MIN_INTERVAL_MS} ms); frames split into packets of
 *       at most {@value #MAX_VIDEO_PAYLOAD_BYTES} payload bytes; marker bit on a frame's last packet; clock
 *       90000.</li>
 * </ul>
 *
 * <p>VP8 payload layout: a one-byte payload descriptor (S=1 on a frame's first packet, PID 0), a 3-byte frame
 * tag (its low bit P is 0 on a keyframe: what the node looks at), then the probe header and filler. The RTP
 * timestamp follows the capture (send) time, so that the receivers' jitter measures the network and the
 * node, not how punctually the sender was scheduled.
 *
 * <p>Threading: runs on the publishing client's event loop (its pacing timer); {@link #requestKeyframe()}
 * must be called there too (it is, from the client's RTCP callback). Buffers come from the pooled allocator and
 * their ownership passes to {@link RtcClient#sendRtp}.
 */
final class MediaSource {
    static final int AUDIO_PT = 111;
    static final int VIDEO_PT = 96;
    static final int AUDIO_CLOCK = 48000;
    static final int VIDEO_CLOCK = 90000;
    static final int AUDIO_PACKET_MS = 20;
    static final int AUDIO_PAYLOAD_BYTES = 100;
    static final int MAX_VIDEO_PAYLOAD_BYTES = 1100;
    static final int KEYFRAME_INTERVAL_MS = 3000;
    static final int KEYFRAME_FACTOR = 5;
    static final int KEYFRAME_REQUEST_MIN_INTERVAL_MS = 500;
    /** VP8 descriptor (1) + frame tag (3) before the probe header. */
    static final int VP8_PREFIX = 4;
    /** Video packets kept for retransmission (a power of two): seconds of video at load-test bitrates. */
    static final int HISTORY = 512;

    private final RtcClient client;
    private final boolean video;
    private final long ssrc;
    private final int senderIndex;
    private final LoadStats stats;
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private final SplittableRandom random;
    private final long periodNs;
    private final int deltaFrameBytes;
    private final long timestampBase;
    private int sequence;
    private long startNs;
    private long lastKeyframeNs;
    private boolean keyframeRequested;
    private ScheduledFuture<?> timer;
    private volatile boolean stopped;
    /** Plain copies of the last {@link #HISTORY} packets by sequence number, null without NACK; event loop only. */
    private final ByteBuf[] history;

    private MediaSource(RtcClient client, boolean video, long ssrc, int senderIndex, LoadStats stats, long periodNs,
                        int deltaFrameBytes, boolean answerNacks) {
        this.client = client;
        this.video = video;
        this.ssrc = ssrc;
        this.senderIndex = senderIndex;
        this.stats = stats;
        this.periodNs = periodNs;
        this.deltaFrameBytes = deltaFrameBytes;
        this.random = new SplittableRandom(ssrc);
        this.sequence = random.nextInt(1 << 16);
        this.timestampBase = random.nextLong(1L << 32);
        this.history = answerNacks ? new ByteBuf[HISTORY] : null;
    }

    static MediaSource audio(RtcClient client, long ssrc, int senderIndex, LoadStats stats) {
        return audio(client, ssrc, senderIndex, stats, false);
    }

    /** @param answerNacks keep a history of sent packets and resend those NACKed ({@link #onNack}) */
    static MediaSource audio(RtcClient client, long ssrc, int senderIndex, LoadStats stats, boolean answerNacks) {
        return new MediaSource(client, false, ssrc, senderIndex, stats,
                TimeUnit.MILLISECONDS.toNanos(AUDIO_PACKET_MS), 0, answerNacks);
    }

    static MediaSource video(RtcClient client, long ssrc, int senderIndex, LoadStats stats, int kbps, int fps) {
        return video(client, ssrc, senderIndex, stats, kbps, fps, false);
    }

    /** @param answerNacks keep a history of sent packets and resend those NACKed ({@link #onNack}) */
    static MediaSource video(RtcClient client, long ssrc, int senderIndex, LoadStats stats, int kbps, int fps,
                             boolean answerNacks) {
        return new MediaSource(client, true, ssrc, senderIndex, stats, 1_000_000_000L / fps,
                deltaFrameBytes(kbps, fps), answerNacks);
    }

    /**
     * A delta frame's size such that the mean bitrate over a keyframe interval is {@code kbps}: the interval has
     * {@code 3 s × fps} frames, one of them a keyframe of {@value #KEYFRAME_FACTOR} delta frames.
     */
    static int deltaFrameBytes(int kbps, int fps) {
        long bytesPerInterval = kbps * 1000L / 8 * KEYFRAME_INTERVAL_MS / 1000;
        long framesPerInterval = (long) fps * KEYFRAME_INTERVAL_MS / 1000;
        return (int) Math.max(ProbeHeader.LENGTH + VP8_PREFIX,
                bytesPerInterval / (framesPerInterval - 1 + KEYFRAME_FACTOR));
    }

    long ssrc() {
        return ssrc;
    }

    boolean isVideo() {
        return video;
    }

    /** Starts pacing on the client's event loop. */
    void start() {
        client.eventLoop().execute(() -> {
            if (stopped) {
                return;
            }
            startNs = System.nanoTime();
            lastKeyframeNs = startNs - TimeUnit.MILLISECONDS.toNanos(KEYFRAME_INTERVAL_MS); // first frame is key
            timer = client.eventLoop().scheduleAtFixedRate(this::tick, 0, periodNs, TimeUnit.NANOSECONDS);
        });
    }

    /** Stops sending and releases the history; any thread. */
    void stop() {
        stopped = true;
        client.eventLoop().execute(() -> {
            if (timer != null) {
                timer.cancel(false);
            }
            if (history != null) {
                for (int i = 0; i < HISTORY; i++) {
                    if (history[i] != null) {
                        history[i].release();
                        history[i] = null;
                    }
                }
            }
        });
    }

    /**
     * A generic NACK (RFC 4585 6.2.1) for this track at {@code off} in {@code rtcp} (validated by the caller):
     * resends each asked packet still in the history, as it was first sent (same sequence number and probe
     * header: its send time stays the original's). Event loop only.
     */
    void onNack(ByteBuf rtcp, int off) {
        if (history == null || stopped) {
            return;
        }
        int items = RtcpPacket.nackCount(rtcp, off);
        for (int i = 0; i < items; i++) {
            int pid = RtcpPacket.nackPid(rtcp, off, i);
            int blp = RtcpPacket.nackBlp(rtcp, off, i);
            resend(pid);
            for (int bit = 0; bit < 16; bit++) {
                if ((blp & (1 << bit)) != 0) {
                    resend((pid + bit + 1) & 0xFFFF);
                }
            }
        }
    }

    private void resend(int seq) {
        ByteBuf kept = history[seq & (HISTORY - 1)];
        if (kept == null || RtpPacket.sequenceNumber(kept) != seq) {
            return;
        }
        ByteBuf p = alloc.directBuffer(kept.readableBytes() + SrtpSession.MAX_RTP_OVERHEAD);
        p.writeBytes(kept, kept.readerIndex(), kept.readableBytes());
        stats.retransmissionsSent.increment();
        client.sendRtp(p);
    }

    /** PLI or FIR for this track arrived; the next frame is a keyframe unless one went out very recently. */
    void requestKeyframe() {
        keyframeRequested = true;
        stats.keyframeRequests.increment();
    }

    private void tick() {
        if (stopped || !client.isConnected()) {
            return;
        }
        long nowNs = System.nanoTime();
        if (video) {
            sendFrame(nowNs);
        } else {
            sendAudio(nowNs);
        }
    }

    private long rtpTimestamp(long nowNs, int clockRate) {
        return (timestampBase + (nowNs - startNs) * clockRate / 1_000_000_000L) & 0xFFFF_FFFFL;
    }

    private void sendAudio(long nowNs) {
        ByteBuf p = alloc.directBuffer(RtpPacket.HEADER_LENGTH + AUDIO_PAYLOAD_BYTES + SrtpSession.MAX_RTP_OVERHEAD);
        writeHeader(p, AUDIO_PT, false, rtpTimestamp(nowNs, AUDIO_CLOCK));
        ProbeHeader.write(p, senderIndex, nowNs);
        p.writeZero(AUDIO_PAYLOAD_BYTES - ProbeHeader.LENGTH);
        send(p);
    }

    private void sendFrame(long nowNs) {
        long sinceKeyNs = nowNs - lastKeyframeNs;
        boolean keyframe = sinceKeyNs >= TimeUnit.MILLISECONDS.toNanos(KEYFRAME_INTERVAL_MS)
                || (keyframeRequested && sinceKeyNs >= TimeUnit.MILLISECONDS.toNanos(KEYFRAME_REQUEST_MIN_INTERVAL_MS));
        int frameBytes;
        if (keyframe) {
            keyframeRequested = false;
            lastKeyframeNs = nowNs;
            stats.keyframesSent.increment();
            frameBytes = deltaFrameBytes * KEYFRAME_FACTOR;
        } else {
            frameBytes = (int) (deltaFrameBytes * (0.8 + 0.4 * random.nextDouble()));
        }
        int perPacketOverhead = VP8_PREFIX + ProbeHeader.LENGTH;
        int packets = Math.max(1, (frameBytes + MAX_VIDEO_PAYLOAD_BYTES - perPacketOverhead - 1)
                / (MAX_VIDEO_PAYLOAD_BYTES - perPacketOverhead));
        int payloadEach = Math.min(MAX_VIDEO_PAYLOAD_BYTES, Math.max(perPacketOverhead, frameBytes / packets));
        long ts = rtpTimestamp(nowNs, VIDEO_CLOCK);
        for (int i = 0; i < packets; i++) {
            boolean first = i == 0;
            boolean last = i == packets - 1;
            ByteBuf p = alloc.directBuffer(RtpPacket.HEADER_LENGTH + payloadEach + SrtpSession.MAX_RTP_OVERHEAD);
            writeHeader(p, VIDEO_PT, last, ts);
            p.writeByte(first ? 0x10 : 0x00);            // VP8 descriptor: X=0, N=0, S, PID=0
            p.writeByte(keyframe ? 0x00 : 0x01);         // frame tag: P bit (0 = keyframe), version 0, show_frame 0
            p.writeByte(0x00).writeByte(0x00);           // first partition size (not decoded by anyone)
            ProbeHeader.write(p, senderIndex, System.nanoTime());
            p.writeZero(payloadEach - perPacketOverhead);
            send(p);
        }
    }

    private void writeHeader(ByteBuf p, int payloadType, boolean marker, long timestamp) {
        p.writeByte(0x80);                               // V=2, P=0, X=0, CC=0
        p.writeByte((marker ? 0x80 : 0) | payloadType);
        p.writeShort(sequence);
        p.writeInt((int) timestamp);
        p.writeInt((int) ssrc);
        sequence = (sequence + 1) & 0xFFFF;
    }

    private void send(ByteBuf p) {
        stats.packetsSent.increment();
        stats.bytesSent.add(p.readableBytes());
        if (history != null) {
            // A copy: sendRtp protects the packet in place and takes it.
            int slot = RtpPacket.sequenceNumber(p) & (HISTORY - 1);
            ByteBuf kept = history[slot];
            if (kept == null) {
                kept = alloc.directBuffer(p.readableBytes());
                history[slot] = kept;
            }
            kept.clear().writeBytes(p, p.readerIndex(), p.readableBytes());
        }
        client.sendRtp(p);
    }
}
