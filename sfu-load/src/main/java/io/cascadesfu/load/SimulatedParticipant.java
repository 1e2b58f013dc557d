package io.cascadesfu.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.rtcp.RtcpPacket;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.signaling.sdp.SdpException;
import io.cascadesfu.signaling.sdp.SdpParser;
import io.cascadesfu.signaling.sdp.SessionDescription;
import io.cascadesfu.core.srtp.SrtpSession;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One headless participant speaking the real protocol: gets a token, joins over a WebSocket, publishes its
 * synthetic tracks on a publish transport (its own SDP offer; ICE, DTLS, SRTP through {@link RtcClient}),
 * answers every subscribe offer on one subscribe transport, measures what it receives, and pings every 10 s.
 *
 * <p>Lifecycle: {@link #start()} once, {@link #stopMedia()} at the end of the run, then {@link #close()}.
 * A failure (signaling error, transport failure, connect timeout) is recorded once and the participant
 * stops sending; its sockets are released by {@link #close()}.
 *
 * <p>Threading: signaling messages arrive on the HTTP client's threads, one at a time per socket. Media
 * runs on the event loops of the two clients: {@link MediaSource} pacing and PLI handling on the publisher's,
 * receive accounting on the subscriber's ({@link #streamsBySsrc} is touched there only). {@link #close()} blocks
 * and must not run on an event loop.
 */
final class SimulatedParticipant {
    private static final Logger log = LoggerFactory.getLogger(SimulatedParticipant.class);
    static final long PING_INTERVAL_S = 10;

    enum State { STARTING, JOINED, CONNECTED, FAILED, CLOSED }

    final int index;
    final int indexInRoom;
    final String room;
    final String identity;
    final URI node;
    final boolean sendsAudio;
    final boolean sendsVideo;
    /** Streams this participant should end up receiving (set by the run from the room's shape). */
    int expectedStreams;

    private final LoadContext ctx;
    private final LoadStats stats;
    private final long sessionId = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    private final long audioSsrc;
    private final long videoSsrc;
    /** Sender SSRC of this participant's feedback (NACKs). */
    private final long receiverSsrc;
    private final CompletableFuture<SimulatedParticipant> connected = new CompletableFuture<>();
    private final LongObjectHashMap<ReceiveStream> streamsBySsrc = new LongObjectHashMap<>();
    /** Every stream received, for the reporter. */
    final List<ReceiveStream> streams = new CopyOnWriteArrayList<>();

    private volatile State state = State.STARTING;
    private volatile String failure;
    private volatile long startNs;
    private volatile long connectNs = -1;
    private volatile WebSocket ws;
    private CompletableFuture<?> sendChain = CompletableFuture.completedFuture(null); // guarded by this
    private volatile RtcClient publisher;
    private volatile RtcClient subscriber;
    private volatile MediaSource audio;
    private volatile MediaSource video;
    private volatile ScheduledFuture<?> pingTimer;
    private volatile ScheduledFuture<?> connectTimer;
    private String subscribeRemoteUfrag;     // signaling thread only
    private long subscribeAnswers;           // signaling thread only
    private boolean publishConnecting;       // signaling thread only

    SimulatedParticipant(LoadContext ctx, int index, int indexInRoom, String room, URI node) {
        this.ctx = ctx;
        this.stats = ctx.stats;
        this.index = index;
        this.indexInRoom = indexInRoom;
        this.room = room;
        this.identity = "load-" + index;
        this.node = node;
        this.sendsAudio = ctx.options.shape.sendsAudio(indexInRoom);
        this.sendsVideo = ctx.options.shape.sendsVideo(indexInRoom);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        this.audioSsrc = sendsAudio ? r.nextLong(1, 1L << 32) : -1;
        this.videoSsrc = sendsVideo ? r.nextLong(1, 1L << 32) : -1;
        this.receiverSsrc = r.nextLong(1, 1L << 32);
    }

    State state() {
        return state;
    }

    String failure() {
        return failure;
    }

    /** Milliseconds from start to media flowing (publish transport up, or subscribe transport for a receiver). */
    double connectMs() {
        long c = connectNs;
        return c < 0 ? -1 : (c - startNs) / 1e6;
    }

    CompletableFuture<SimulatedParticipant> connected() {
        return connected;
    }

    int receivingStreams() {
        int n = 0;
        for (ReceiveStream s : streams) {
            if (s.received() > 0) {
                n++;
            }
        }
        return n;
    }

    /** Starts joining; returns at once. Any thread. */
    void start() {
        startNs = System.nanoTime();
        connectTimer = ctx.group.next().schedule(
                () -> fail("not connected within " + ctx.options.connectTimeout.toSeconds() + " s"),
                ctx.options.connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
        URI wsUri = URI.create((node.getScheme().equals("https") ? "wss" : "ws") + "://" + node.getRawAuthority() + "/ws");
        ctx.tokens.token(node, room, identity)
                .thenCompose(token -> ctx.http.newWebSocketBuilder()
                        .connectTimeout(LoadContext.HTTP_TIMEOUT)
                        .buildAsync(wsUri, new Signaling())
                        .thenAccept(socket -> {
                            ws = socket;
                            ObjectNode join = ctx.json.createObjectNode();
                            join.put("type", "join").put("token", token).put("protocol", 1);
                            send(join);
                        }))
                .whenComplete((v, error) -> {
                    if (error != null) {
                        fail("signaling: " + rootMessage(error));
                    }
                });
    }

    // ------------------------------------------------------------------ signaling

    private final class Signaling implements WebSocket.Listener {
        private final StringBuilder text = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                String frame = text.toString();
                text.setLength(0);
                try {
                    onMessage(ctx.json.readTree(frame));
                } catch (Exception e) {
                    fail("handling a signaling message: " + rootMessage(e));
                }
            }
            socket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket socket, ByteBuffer data, boolean last) {
            socket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket socket, int statusCode, String reason) {
            if (state != State.CLOSED) {
                fail("signaling closed by the node: " + statusCode + " " + reason);
            }
            return null;
        }

        @Override
        public void onError(WebSocket socket, Throwable error) {
            if (state != State.CLOSED) {
                fail("signaling error: " + rootMessage(error));
            }
        }
    }

    private void onMessage(JsonNode msg) throws SdpException {
        if (log.isDebugEnabled()) {
            log.debug("{} <- {}", identity, msg);
        }
        if (state == State.CLOSED || state == State.FAILED) {
            return;
        }
        switch (msg.path("type").asText()) {
            case "joined" -> onJoined();
            case "publish_answer" -> onPublishAnswer(msg.path("sdp").asText());
            case "subscribe_offer" -> onSubscribeOffer(msg.path("sdp").asText(), msg.path("version").asLong());
            case "error" -> fail("node error " + msg.path("code").asText() + ": " + msg.path("message").asText());
            default -> {
                // pong, participant_joined/left, track_published/unpublished/muted: nothing to do
            }
        }
    }

    private void onJoined() {
        if (state == State.STARTING) {
            state = State.JOINED;
        }
        pingTimer = ctx.group.next().scheduleAtFixedRate(() -> {
            ObjectNode ping = ctx.json.createObjectNode();
            ping.put("type", "ping");
            send(ping);
        }, PING_INTERVAL_S, PING_INTERVAL_S, TimeUnit.SECONDS);
        if (!sendsAudio && !sendsVideo) {
            return;
        }
        RtcClient client = newClient(new PublisherEvents());
        publisher = client;
        if (sendsAudio) {
            audio = MediaSource.audio(client, audioSsrc, index, stats, ctx.options.nack);
        }
        if (sendsVideo) {
            video = MediaSource.video(client, videoSsrc, index, stats, ctx.options.videoKbps, ctx.options.fps,
                    ctx.options.nack);
        }
        String sdp = ClientSdp.publishOffer(sessionId, client.localCredentials(), client.localFingerprint(),
                new ClientSdp.PublishTracks(audioSsrc, videoSsrc, identity, "stream-" + identity));
        ObjectNode offer = ctx.json.createObjectNode();
        offer.put("type", "publish_offer").put("sdp", sdp);
        send(offer);
    }

    private void onPublishAnswer(String sdp) throws SdpException {
        RtcClient client = publisher;
        if (client == null || publishConnecting) {
            return; // we offer once; a second answer would change nothing
        }
        publishConnecting = true;
        client.connect(remote(sdp));
        client.connected().whenComplete((c, error) -> {
            if (error != null) {
                fail("publish transport: " + rootMessage(error));
                return;
            }
            MediaSource a = audio;
            MediaSource v = video;
            if (a != null) {
                a.start();
            }
            if (v != null) {
                v.start();
            }
            markConnected();
        });
    }

    private void onSubscribeOffer(String sdp, long version) throws SdpException {
        SessionDescription offer = SdpParser.parse(sdp);
        RtcClient client = subscriber;
        if (client == null) {
            client = newClient(new SubscriberEvents());
            subscriber = client;
            client.connect(remote(sdp));
            subscribeRemoteUfrag = offer.iceUfrag();
            client.connected().whenComplete((c, error) -> {
                if (error != null) {
                    fail("subscribe transport: " + rootMessage(error));
                } else if (!sendsAudio && !sendsVideo) {
                    markConnected();
                }
            });
        } else if (!offer.iceUfrag().equals(subscribeRemoteUfrag)) {
            subscribeRemoteUfrag = offer.iceUfrag();
            client.restartIce(offer.iceUfrag(), offer.icePwd());
        }
        String answer = ClientSdp.subscribeAnswer(offer, sessionId, ++subscribeAnswers,
                client.localCredentials(), client.localFingerprint());
        ObjectNode msg = ctx.json.createObjectNode();
        msg.put("type", "subscribe_answer").put("sdp", answer).put("version", version);
        send(msg);
    }

    private RtcClient.Remote remote(String sdp) throws SdpException {
        SessionDescription d = SdpParser.parse(sdp);
        InetSocketAddress candidate = ClientSdp.firstCandidate(sdp);
        if (candidate == null) {
            throw new SdpException("the node's SDP has no usable a=candidate");
        }
        return new RtcClient.Remote(ctx.mediaAddress(candidate, index), d.iceUfrag(), d.icePwd(), d.fingerprintAlgorithm(),
                d.fingerprint());
    }

    private RtcClient newClient(RtcClient.Listener listener) {
        boolean loopback = "127.0.0.1".equals(node.getHost()) || "localhost".equals(node.getHost());
        InetSocketAddress bind = new InetSocketAddress(loopback ? "127.0.0.1" : "0.0.0.0", 0);
        return new RtcClient(ctx.group, ctx.channelType(), bind, ctx.certificate, ctx.dtlsExecutor, listener);
    }

    /** Sends one JSON message; sends are chained because the JDK WebSocket allows one outstanding send. */
    private void send(ObjectNode message) {
        WebSocket socket = ws;
        if (socket == null || socket.isOutputClosed()) {
            return;
        }
        String text = message.toString();
        synchronized (this) {
            sendChain = sendChain.handle((v, e) -> null)
                    .thenCompose(v -> socket.sendText(text, true))
                    .whenComplete((v, e) -> {
                        if (e != null && state != State.CLOSED) {
                            fail("signaling send: " + rootMessage(e));
                        }
                    });
        }
    }

    private void markConnected() {
        if (connectNs < 0) {
            connectNs = System.nanoTime();
        }
        if (state == State.JOINED || state == State.STARTING) {
            state = State.CONNECTED;
        }
        ScheduledFuture<?> t = connectTimer;
        if (t != null) {
            t.cancel(false);
        }
        connected.complete(this);
    }

    /** Records the first failure and stops sending. Any thread, never blocks. */
    void fail(String reason) {
        synchronized (this) {
            if (state == State.FAILED || state == State.CLOSED) {
                return;
            }
            state = State.FAILED;
            failure = reason;
        }
        log.debug("participant {} failed: {}", identity, reason);
        stopMedia();
        connected.completeExceptionally(new IllegalStateException(reason));
    }

    // ------------------------------------------------------------------ media

    /** Publishing client: answers PLI and FIR for its video with a keyframe, and NACKs (with --nack) with resends. */
    private final class PublisherEvents implements RtcClient.Listener {
        @Override
        public void onRtcp(RtcClient client, ByteBuf packet, long nowNs) {
            MediaSource v = video;
            MediaSource a = audio;
            int count = RtcpPacket.validateCompound(packet);
            if (count <= 0) {
                return;
            }
            int off = 0;
            for (int i = 0; i < count; i++) {
                if (v != null && ((RtcpPacket.isPli(packet, off) && RtcpPacket.mediaSsrc(packet, off) == videoSsrc)
                        || (RtcpPacket.isFir(packet, off) && RtcpPacket.firSsrc(packet, off) == videoSsrc))) {
                    v.requestKeyframe();
                } else if (RtcpPacket.isNack(packet, off)) {
                    long media = RtcpPacket.mediaSsrc(packet, off);
                    MediaSource s = v != null && media == videoSsrc ? v : a != null && media == audioSsrc ? a : null;
                    if (s != null) {
                        s.onNack(packet, off);
                    }
                }
                off += RtcpPacket.lengthBytes(packet, off);
            }
        }

        @Override
        public void onFailed(RtcClient client, String reason) {
            if (state != State.CLOSED) {
                fail("publish transport: " + reason);
            }
        }
    }

    /**
     * Subscribing client: accounts every packet that carries our probe header; with {@code --nack}, asks for
     * what a stream is missing (audio or video).
     */
    private final class SubscriberEvents implements RtcClient.Listener {
        @Override
        public void onRtp(RtcClient client, ByteBuf p, long nowNs) {
            int payloadOffset = RtpPacket.validate(p);
            if (payloadOffset < 0) {
                stats.foreignPackets.increment();
                return;
            }
            int length = p.readableBytes();
            int start = p.readerIndex() + payloadOffset;
            int end = start + RtpPacket.payloadLength(p, payloadOffset);
            int at;
            if (ProbeHeader.present(p, start, end)) {
                at = start;                                  // audio: probe header first
            } else if (ProbeHeader.present(p, start + MediaSource.VP8_PREFIX, end)) {
                at = start + MediaSource.VP8_PREFIX;         // video: after descriptor and frame tag
            } else {
                stats.foreignPackets.increment();
                return;
            }
            stats.packetsReceived.increment();
            stats.bytesReceived.add(length);
            long ssrc = RtpPacket.ssrc(p);
            ReceiveStream s = streamsBySsrc.get(ssrc);
            if (s == null) {
                boolean isVideo = at != start;
                s = new ReceiveStream(ssrc, ProbeHeader.sender(p, at), isVideo,
                        isVideo ? MediaSource.VIDEO_CLOCK : MediaSource.AUDIO_CLOCK, ctx.options.deadline.toNanos(),
                        ctx.options.nack ? new NackRequester() : null);
                streamsBySsrc.put(ssrc, s);
                streams.add(s);
            }
            long sendNs = ProbeHeader.sendTimeNs(p, at);
            long jitterUs = s.onPacket(RtpPacket.sequenceNumber(p), RtpPacket.timestamp(p), nowNs, length, sendNs);
            stats.recordLatencyUs((nowNs - sendNs) / 1000, s.video);
            stats.recordJitterUs(jitterUs, s.video);
            NackRequester nacks = s.nacks;
            if (nacks != null && nacks.missing() > 0 && nacks.isDue(nowNs)) {
                sendNacks(client, s, nowNs);
            }
        }

        private void sendNacks(RtcClient client, ReceiveStream s, long nowNs) {
            ByteBuf out = ByteBufAllocator.DEFAULT.directBuffer(NackRequester.MAX_BYTES + 64
                    + SrtpSession.MAX_RTCP_OVERHEAD);
            int asked = s.nacks.writeDue(out, receiverSsrc, s.ssrc, nowNs);
            if (asked == 0) {
                out.release();
                return;
            }
            stats.nacksSent.add(asked);
            client.sendRtcp(out); // takes ownership
        }

        @Override
        public void onFailed(RtcClient client, String reason) {
            if (state != State.CLOSED) {
                fail("subscribe transport: " + reason);
            }
        }
    }

    /** Stops the media sources (receiving goes on until {@link #close()}). Any thread. */
    void stopMedia() {
        MediaSource a = audio;
        MediaSource v = video;
        if (a != null) {
            a.stop();
        }
        if (v != null) {
            v.stop();
        }
    }

    /** Leaves, closes both transports and the socket. Blocks briefly; not on an event loop. */
    void close() {
        synchronized (this) {
            state = State.CLOSED;
        }
        stopMedia();
        ScheduledFuture<?> t = pingTimer;
        if (t != null) {
            t.cancel(false);
        }
        t = connectTimer;
        if (t != null) {
            t.cancel(false);
        }
        WebSocket socket = ws;
        if (socket != null && !socket.isOutputClosed()) {
            CompletableFuture<?> leave;
            synchronized (this) {
                leave = sendChain.handle((v, e) -> null)
                        .thenCompose(v -> socket.sendText("{\"type\":\"leave\"}", true))
                        .thenCompose(v -> socket.sendClose(WebSocket.NORMAL_CLOSURE, "done"));
            }
            leave.orTimeout(1, TimeUnit.SECONDS).whenComplete((v, e) -> socket.abort());
        }
        RtcClient c = publisher;
        if (c != null) {
            c.close();
        }
        c = subscriber;
        if (c != null) {
            c.close();
        }
        if (!connected.isDone()) {
            connected.completeExceptionally(new IllegalStateException("closed"));
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
