package io.cascadesfu.core.media;

import io.cascadesfu.core.rtcp.RtcpWriter;
import io.cascadesfu.core.rtp.Keyframes;
import io.cascadesfu.core.rtp.RtpPacket;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One published track as it arrives at the node, and its fan-out to {@link Consumer}s. A track has one
 * {@link ProducerStream} per simulcast layer ({@code rid}), or one: each consumer chooses which layer it forwards.
 *
 * <p>Lifecycle: made by {@link Router#produce} when a publisher's SDP is accepted; closed when the
 * publisher unpublishes or leaves, which closes its consumers.
 *
 * <p>Threading: its router's worker loop only. The consumer list is only changed on that loop, so the
 * fan-out iterates it without copying or locking.
 */
public final class Producer {
    /** Keyframe requests to a publisher are spaced at least this far apart, unless the router says otherwise. */
    public static final long DEFAULT_KEYFRAME_REQUEST_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(300);

    private final String id;
    private final MediaPeer publisher;
    private final ProducerParams params;
    private final ProducerStream[] streams;
    private final List<Consumer> consumers = new ArrayList<>();
    private boolean closed;

    private final long keyframeRequestIntervalNs;
    // Audio level (RFC 6464) since the last sample: the loudest packet (127 - level in -dBov), -1 if none carried one.
    // The peak, not the mean: speech comes in syllables with pauses between them.
    private int loudnessPeak = -1;

    Producer(String id, MediaPeer publisher, ProducerParams params, long keyframeRequestIntervalNs) {
        this.keyframeRequestIntervalNs = keyframeRequestIntervalNs;
        this.id = id;
        this.publisher = publisher;
        this.params = params;
        boolean video = params.kind() == TrackKind.VIDEO;
        // Audio is NACKed when its publisher negotiated it (askForLoss) or publishes over a relay link (a transport
        // of ours that understands our RTCP): hop by hop, answered from that node's audio cache.
        boolean overLink = publisher.transport() != null && publisher.transport().understandsLayerRequests();
        this.streams = new ProducerStream[params.streamCount()];
        for (int i = 0; i < streams.length; i++) {
            String rid = params.rids().isEmpty() ? "" : params.rids().get(i);
            long ssrc = params.ssrc() < 0 ? -1 : (params.ssrc() + i) & 0xFFFF_FFFFL;
            streams[i] = new ProducerStream(this, i, rid, ssrc, params.clockRate(), video,
                    params.askForLoss() && (video || overLink || params.audioNack()));
        }
    }

    public String id() {
        return id;
    }

    public ProducerParams params() {
        return params;
    }

    public TrackKind kind() {
        return params.kind();
    }

    public MediaPeer publisher() {
        return publisher;
    }

    /** SSRC of the first stream, -1 until known. */
    public long ssrc() {
        return streams[0].ssrc;
    }

    /** Streams (simulcast layers, lowest first); at least one. */
    public int streamCount() {
        return streams.length;
    }

    ProducerStream stream(int layer) {
        return streams[layer];
    }

    /** The stream with {@code rid}, or null. */
    ProducerStream streamByRid(String rid) {
        for (ProducerStream s : streams) {
            if (s.rid.equals(rid)) {
                return s;
            }
        }
        return null;
    }

    /** Whether layer {@code layer} received a packet recently. */
    public boolean isLayerActive(int layer, long nowNs) {
        return layer >= 0 && layer < streams.length && streams[layer].isActive(nowNs);
    }

    /** Received bitrate of a layer over the last second; 0 if it is not flowing. */
    public long layerBitrateBps(int layer, long nowNs) {
        return streams[layer].bitrateBps(nowNs);
    }

    /** Frame height last seen on a layer's keyframes, 0 if unknown. */
    public int layerHeight(int layer) {
        return streams[layer].height;
    }

    public boolean isClosed() {
        return closed;
    }

    public int consumerCount() {
        return consumers.size();
    }

    /** The last layer request sent upstream for this track and when (see MediaPeer.sendLayerRequests). */
    int lastLayerRequest = Integer.MIN_VALUE;
    long lastLayerRequestNs;

    /** The highest layer any consumer may want ({@link Consumer#wantedLayerCap}), -1 if none wants video. */
    int wantedLayerCap(long nowNs) {
        int cap = -1;
        for (int i = 0; i < consumers.size(); i++) {
            cap = Math.max(cap, Math.min(consumers.get(i).wantedLayerCap(nowNs), streamCount() - 1));
        }
        return cap;
    }

    void addConsumer(Consumer consumer) {
        consumers.add(consumer);
        if (params.kind() == TrackKind.AUDIO && (consumer instanceof PipeConsumer
                || consumer instanceof SimpleConsumer sc && sc.resendsOnNack())) {
            // A pipe or relay link (the far node may NACK audio the link lost), or a subscriber that negotiated
            // NACK for audio: recent audio is kept to answer them.
            for (ProducerStream s : streams) {
                s.keepAudio();
            }
        }
    }

    void removeConsumer(Consumer consumer) {
        consumers.remove(consumer);
    }

    /**
     * One decrypted RTP packet of {@code stream}, validated by its transport (payload at {@code payloadOffset}).
     * Borrowed: each consumer copies what it sends.
     */
    void onRtp(ProducerStream stream, ByteBuf packet, int payloadOffset, long nowNs) {
        if (closed) {
            return;
        }
        int seq = RtpPacket.sequenceNumber(packet);
        stream.receiveStats.onPacket(seq, RtpPacket.timestamp(packet), nowNs);
        stream.countBytes(packet.readableBytes(), nowNs);
        int payloadLength = RtpPacket.payloadLength(packet, payloadOffset);
        boolean keyframe = false;
        if (params.kind() == TrackKind.VIDEO) {
            keyframe = Keyframes.isKeyframe(packet, payloadOffset, payloadLength, params.codec());
            if (keyframe) {
                int size = Keyframes.frameSize(packet, payloadOffset, payloadLength, params.codec());
                if (size > 0) {
                    stream.width = size >>> 16;
                    stream.height = size & 0xFFFF;
                }
            }
        }
        if (stream.cache != null) {
            stream.cache.put(packet, publisher.allocRtp(packet.readableBytes()));
        }
        if (params.audioLevelExtensionId() > 0) {
            int at = RtpPacket.findExtension(packet, params.audioLevelExtensionId());
            if (at >= 0) {
                int loudness = 127 - (packet.getUnsignedByte(packet.readerIndex() + at) & 0x7F);
                if (loudness > loudnessPeak) {
                    loudnessPeak = loudness;
                }
            }
        }
        NackGenerator nacks = stream.nacks;
        if (nacks != null) {
            nacks.onPacket(seq, nowNs);
            if (nacks.missing() > 0 && nacks.isDue(nowNs)) {
                askAgain(stream, nowNs);
            }
        }
        int layer = stream.layer;
        List<Consumer> list = consumers;
        for (int i = 0, n = list.size(); i < n; i++) {
            list.get(i).onProducerRtp(packet, payloadOffset, payloadLength, layer, keyframe, nowNs);
        }
    }

    /** NACKs to the publisher for what is missing and due (a gap the publisher's transport lost). */
    private void askAgain(ProducerStream stream, long nowNs) {
        if (!publisher.transport().isConnected()) {
            return;
        }
        ByteBuf out = publisher.allocRtcp();
        int asked = stream.nacks.writeDue(out, publisher.rtcpSsrc(), stream.ssrc, nowNs);
        if (asked == 0) {
            out.release();
            return;
        }
        publisher.metrics().nackSent(asked);
        publisher.transport().sendRtcp(out);
    }

    /**
     * Peak loudness (0 silence .. 127 loudest, from the RFC 6464 level of each packet) since the last call, and a
     * fresh start; -1 if no packet carried a level. Worker loop only.
     */
    public double takeLoudness() {
        int peak = loudnessPeak;
        loudnessPeak = -1;
        return peak;
    }

    /** A cached packet of a layer (publisher's numbering), borrowed; null if absent or not kept (browser audio). */
    ByteBuf cached(int layer, int seq) {
        PacketCache cache = streams[layer].cache;
        return cache == null ? null : cache.get(seq);
    }

    /** Forwarding stopped by the node (an operator's mute): consumers send nothing, pipes carry nothing. */
    boolean paused;

    /** Stops or resumes forwarding to every consumer; on resume a keyframe is asked for. Worker loop. */
    public void setPaused(boolean paused, long nowNs) {
        boolean resumed = this.paused && !paused;
        if (paused && !this.paused) {
            for (int i = 0; i < consumers.size(); i++) {
                consumers.get(i).onProducerPaused();
            }
        }
        this.paused = paused;
        if (resumed) {
            requestKeyframe(nowNs);
        }
    }

    public boolean isPaused() {
        return paused;
    }

    /** Asks the publisher for a keyframe on every stream (see {@link #requestKeyframe(int, long)}). */
    public void requestKeyframe(long nowNs) {
        for (int i = 0; i < streams.length; i++) {
            requestKeyframe(i, nowNs);
        }
    }

    /**
     * Asks the publisher for a keyframe (PLI) on one layer, at most once per keyframe request interval however
     * many subscribers ask: the requests of a whole audience are merged into one.
     */
    public void requestKeyframe(int layer, long nowNs) {
        if (closed || params.kind() != TrackKind.VIDEO || layer < 0 || layer >= streams.length) {
            return;
        }
        ProducerStream s = streams[layer];
        if (s.ssrc < 0 || !publisher.transport().isConnected()
                || nowNs - s.lastKeyframeRequestNs < keyframeRequestIntervalNs) {
            return;
        }
        s.lastKeyframeRequestNs = nowNs;
        ByteBuf out = publisher.allocRtcp();
        RtcpWriter.writePli(out, publisher.rtcpSsrc(), s.ssrc);
        publisher.transport().sendRtcp(out);
        publisher.transport().flush();
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Consumer c : new ArrayList<>(consumers)) {
            c.close();
        }
        consumers.clear();
        for (ProducerStream s : streams) {
            if (s.cache != null) {
                s.cache.clear();
            }
        }
    }

    @Override
    public String toString() {
        return "Producer[" + id + " " + params.kind() + " ssrc=" + ssrc()
                + (streams.length > 1 ? " layers=" + streams.length : "") + "]";
    }
}
