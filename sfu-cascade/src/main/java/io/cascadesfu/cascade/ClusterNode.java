package io.cascadesfu.cascade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control channel between the nodes of a cluster: one TCP connection per node pair (the node whose id sorts
 * lower dials, and redials with backoff), authenticated both ways and encrypted with the cluster secret.
 *
 * <p><b>Handshake</b> (length-prefixed JSON frames): the dialer sends {@code hello {nodeId, region, publicUrl,
 * nonce}}; the acceptor checks that the node is a known peer and answers {@code challenge {nodeId, region, publicUrl,
 * nonce, mac}} with {@code mac = HMAC(secret, "server|" + clientNonce + "|" + serverNonce + "|" + client + "|" +
 * server + "|" + announced)}, where {@code announced} is both sides' region and public URL, length-prefixed
 * ({@link #announced}); the dialer checks it and proves itself with {@code proof {mac}} over the label "client". So
 * what each node announced is authenticated like the rest: a node in the middle that rewrites a region or a URL
 * breaks the proofs. Then every frame is sealed with AES-256-GCM, one key per direction derived from the nonces and
 * ids, a frame counter as nonce ({@link ChannelCrypto}). A process without the secret cannot complete it either way;
 * a node that is not a known peer is refused; anything off before or after closes that connection only, counted in
 * {@code sfu_cascade_auth_failures_total{reason}} or {@code sfu_cascade_bad_messages_total}.
 *
 * <p><b>Peers</b> are known from the static list of the {@link ClusterConfig} and from {@link #addPeer} (a fleet
 * registry grows and shrinks the mesh at run time); only known peers are dialled and accepted. For each peer whose
 * id sorts above this node's, one dial loop runs on the event loop: it dials, redials with backoff when the
 * connection fails or closes, and ends when the peer is removed.
 *
 * <p><b>Liveness</b>: each side pings every {@value #PING_MS} ms; {@value #SILENCE_MS} ms of silence closes the
 * connection (and the dialer redials). The round trip is measured from the pongs.
 *
 * <p>Threading: one event loop ({@code sfu-cluster}) owns every connection and calls the {@link ClusterListener};
 * {@link #send}, {@link #addPeer}, {@link #removePeer} and the getters may be called from any thread.
 */
public final class ClusterNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
    static final int MAX_FRAME = 1 << 20;
    static final long HANDSHAKE_TIMEOUT_MS = 5_000;
    static final long PING_MS = 2_000;
    static final int PATH_SAMPLES = 8;
    static final int PATH_MIN_SAMPLES = 3;
    static final long SILENCE_MS = 8_000;
    static final long BACKOFF_MIN_MS = 500;
    static final long BACKOFF_MAX_MS = 10_000;
    private static final Set<String> RESERVED = Set.of("hello", "challenge", "proof", "ping", "pong");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ClusterConfig config;
    private final ClusterListener listener;
    private final MeterRegistry registry;
    private final ObjectMapper json = new ObjectMapper();
    private final EventLoopGroup group;
    private final Channel server;
    /** Authenticated sessions by peer id (loop only); {@link #up} is their thread-safe view. */
    private final Map<String, Session> sessions = new HashMap<>();
    private final Map<String, Session> up = new ConcurrentHashMap<>();
    private final Map<String, Long> backoffMs = new HashMap<>();
    /** The peers that may be dialled and accepted, static and added (any thread). */
    private final Map<String, ClusterConfig.Peer> known = new ConcurrentHashMap<>();
    /** What each peer announced in its last handshake, kept while it is down (written on the loop). */
    private final Map<String, Announced> announcedBy = new ConcurrentHashMap<>();
    /** Peers with a dial loop running: a dial scheduled, in flight, or its session up (loop only). */
    private final Set<String> dialLoops = new HashSet<>();
    private final Counter badMessages;
    private volatile boolean closed;

    private ClusterNode(ClusterConfig config, ClusterListener listener, MeterRegistry registry) {
        this.config = config;
        this.listener = listener;
        this.registry = registry;
        for (ClusterConfig.Peer p : config.peers()) {
            known.put(p.nodeId(), p);
        }
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sfu-cluster"),
                NioIoHandler.newFactory());
        this.badMessages = Counter.builder("sfu.cascade.bad.messages")
                .description("Control channel frames dropped as malformed (the connection is closed)")
                .register(registry);
        Gauge.builder("sfu.cascade.peers.up", up, Map::size).description("Peer nodes whose control channel is up")
                .register(registry);
        try {
            this.server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(initializer(null))
                    .bind(new InetSocketAddress(config.bindHost(), config.port())).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    /** What a peer, or this node, tells in the handshake. */
    private record Announced(String region, String publicUrl) {
    }

    /**
     * A known peer as this node sees it now.
     *
     * @param region    what the peer announced in its last handshake ("" before the first)
     * @param publicUrl the base URL browsers use for the peer, from its last handshake ("" if unknown)
     * @param up        whether its control channel is up
     * @param rttMs     the smoothed round trip of the channel, -1 while down or not measured yet
     */
    public record PeerInfo(String id, String region, String publicUrl, boolean up, double rttMs) {
    }

    /** Binds the control port and starts dialing the peers whose id sorts above this node's. */
    public static ClusterNode start(ClusterConfig config, ClusterListener listener, MeterRegistry registry) {
        ClusterNode node = new ClusterNode(config, listener, registry);
        for (ClusterConfig.Peer p : config.peers()) {
            node.group.execute(() -> node.startDialLoop(p.nodeId()));
        }
        return node;
    }

    /**
     * Adds a peer, or changes the address of a known one (the next dial uses it; a channel that is up stays up).
     * From now on the peer is accepted, and dialled if its id sorts above this node's. Any thread.
     *
     * @return false if the peer was already known with this address
     * @throws IllegalArgumentException if the id is not a valid node id, is this node's, or the address is invalid
     */
    public boolean addPeer(ClusterConfig.Peer peer) {
        ClusterConfig.checkPeer(config.nodeId(), peer);
        ClusterConfig.Peer before = known.put(peer.nodeId(), peer);
        if (peer.equals(before)) {
            return false;
        }
        try {
            group.execute(() -> {
                if (before != null) {
                    backoffMs.remove(peer.nodeId()); // a new address: the next dial need not wait a long backoff
                }
                startDialLoop(peer.nodeId());
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed
        }
        return true;
    }

    /**
     * Forgets a peer: it is no longer dialled, and a new connection from it is refused. A channel that is up is
     * left up until it closes by itself (a node that left the registry but still talks to this one is not cut
     * off in the middle of calls; a node that is gone falls silent and is closed within {@value #SILENCE_MS} ms);
     * then it is not redialled. Any thread.
     *
     * @return false if the peer was not known
     */
    public boolean removePeer(String id) {
        boolean removed = known.remove(id) != null;
        if (removed && !up.containsKey(id)) {
            announcedBy.remove(id);
        }
        return removed;
    }

    /** Every known peer, and any peer still up after its removal, sorted by id. Any thread. */
    public List<PeerInfo> peers() {
        Set<String> ids = new TreeSet<>(known.keySet());
        ids.addAll(up.keySet());
        List<PeerInfo> list = new ArrayList<>(ids.size());
        for (String id : ids) {
            Session s = up.get(id);
            Announced a = announcedBy.get(id);
            list.add(new PeerInfo(id, a == null ? "" : a.region(), a == null ? "" : a.publicUrl(), s != null,
                    s == null ? -1 : s.rttMs));
        }
        return List.copyOf(list);
    }

    public int boundPort() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    public Set<String> upPeers() {
        return Set.copyOf(up.keySet());
    }

    /** Smoothed round trip to {@code peer} in ms, or -1 if it is not up or not measured yet. */
    public double rttMillis(String peer) {
        Session s = up.get(peer);
        return s == null ? -1 : s.rttMs;
    }

    /**
     * The round trip of the path to {@code peer} in ms: the least of the last {@value #PATH_SAMPLES} pings (one every
     * {@value #PING_MS} ms), so a busy moment on either node does not lengthen it; -1 if not up or not measured yet.
     * What routes are weighed on.
     */
    public double pathRttMillis(String peer) {
        Session s = up.get(peer);
        return s == null ? -1 : s.pathRttMs;
    }

    /** The region {@code peer} announced, or null if it is not up. */
    public String region(String peer) {
        Session s = up.get(peer);
        return s == null ? null : s.peerRegion;
    }

    /** The public URL {@code peer} announced ("" if it has none), or null if it is not up. */
    public String publicUrl(String peer) {
        Session s = up.get(peer);
        return s == null ? null : s.peerPublicUrl;
    }

    /** Sends {@code message} to {@code peer}, sealed; false if the peer is not up. Never blocks. Any thread. */
    public boolean send(String peer, ObjectNode message) {
        Session s = up.get(peer);
        if (s == null || closed) {
            return false;
        }
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(message);
        } catch (Exception e) {
            throw new IllegalArgumentException("message cannot be written", e);
        }
        s.channel.eventLoop().execute(() -> s.sendSealed(bytes));
        return true;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.close();
        group.shutdownGracefully(0, 500, TimeUnit.MILLISECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------------------------ connections

    private ChannelInitializer<SocketChannel> initializer(ClusterConfig.Peer dialing) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline()
                        .addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME + 64, 0, 4, 0, 4))
                        .addLast(new LengthFieldPrepender(4))
                        .addLast(new Session(dialing));
            }
        };
    }

    /** Starts the dial loop of {@code id} if this node dials it and no loop runs yet. Loop only. */
    private void startDialLoop(String id) {
        if (!closed && id.compareTo(config.nodeId()) > 0 && dialLoops.add(id)) {
            dial(id);
        }
    }

    /** One attempt of {@code id}'s dial loop, at its current address; the loop ends if the peer was removed. */
    private void dial(String id) {
        ClusterConfig.Peer peer = known.get(id);
        if (closed || peer == null) {
            dialLoops.remove(id);
            backoffMs.remove(id);
            return;
        }
        if (sessions.containsKey(id)) {
            return; // not reached: a loop dials again only once its connection closed
        }
        ChannelFuture f = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
                .handler(initializer(peer))
                .connect(peer.host(), peer.port());
        f.addListener(done -> {
            if (!done.isSuccess()) {
                redial(id);
            }
        });
    }

    /** Dials {@code id} again after a backoff that doubles up to {@value #BACKOFF_MAX_MS} ms. */
    private void redial(String id) {
        if (closed) {
            return;
        }
        long delay = backoffMs.merge(id, BACKOFF_MIN_MS, (old, min) -> Math.min(BACKOFF_MAX_MS, old * 2));
        group.schedule(() -> dial(id), delay, TimeUnit.MILLISECONDS);
    }

    private void authFailure(String reason, Channel ch, String detail) {
        Counter.builder("sfu.cascade.auth.failures").description("Control channel handshakes refused, by reason")
                .tag("reason", reason).register(registry).increment();
        log.warn("cluster: refused {} ({}): {}", ch.remoteAddress(), reason, detail);
        ch.close();
    }

    /** One connection: its handshake, then its sealed frames. Its channel's loop only. */
    private final class Session extends SimpleChannelInboundHandler<ByteBuf> {
        private final ClusterConfig.Peer dialing; // null on the accepting side
        private Channel channel;
        private String peer;
        private String peerRegion;
        private String peerPublicUrl;
        private final String myNonce = nonce();
        private String theirNonce;
        /** Both sides' announcements as sent, client's first: covered by both proofs. */
        private String transcript;
        private ChannelCrypto crypto;
        private boolean authenticated;
        private long lastHeardNs;
        private volatile double rttMs = -1;
        /** The last {@value #PATH_SAMPLES} round trips (ms), newest at {@code samples % PATH_SAMPLES}. Cluster loop. */
        private final double[] recent = new double[PATH_SAMPLES];
        private int samples;
        /** The least of {@link #recent}: the path's own length, without queueing or a busy peer's scheduling. */
        private volatile double pathRttMs = -1;
        private ScheduledFuture<?> timer;

        Session(ClusterConfig.Peer dialing) {
            this.dialing = dialing;
            this.peer = dialing == null ? null : dialing.nodeId();
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            lastHeardNs = System.nanoTime();
            timer = ctx.executor().schedule(() -> {
                if (!authenticated) {
                    authFailure("timeout", channel, "no handshake within " + HANDSHAKE_TIMEOUT_MS + " ms");
                }
            }, HANDSHAKE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            if (dialing != null) {
                ObjectNode hello = json.createObjectNode().put("type", "hello").put("nodeId", config.nodeId())
                        .put("region", config.region()).put("publicUrl", config.publicUrl()).put("nonce", myNonce);
                sendPlain(hello);
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            lastHeardNs = System.nanoTime();
            byte[] bytes = ByteBufUtil.getBytes(frame);
            if (!authenticated) {
                onHandshake(bytes);
                return;
            }
            byte[] plain = crypto.open(bytes);
            ObjectNode m = plain == null ? null : parse(plain);
            if (m == null) {
                badMessages.increment();
                log.warn("cluster: a frame from {} did not open or parse; closing the connection", peer);
                channel.close();
                return;
            }
            String type = m.path("type").asText("");
            switch (type) {
                case "ping" -> sendSealed(bytes(json.createObjectNode().put("type", "pong")
                        .set("t", m.get("t"))));
                case "pong" -> {
                    long sent = m.path("t").asLong(0);
                    double sample = (System.nanoTime() - sent) / 1e6;
                    if (sent > 0 && sample >= 0 && sample < SILENCE_MS) {
                        rttMs = rttMs < 0 ? sample : rttMs * 0.8 + sample * 0.2;
                        recent[samples++ % PATH_SAMPLES] = sample;
                        double least = Double.MAX_VALUE;
                        for (int i = 0; i < Math.min(samples, PATH_SAMPLES); i++) {
                            least = Math.min(least, recent[i]);
                        }
                        pathRttMs = samples >= PATH_MIN_SAMPLES ? least : -1; // a fresh channel's first
                        // pings are slow (handshakes, a busy peer): routes stay direct until a few came back
                    }
                }
                default -> {
                    if (RESERVED.contains(type)) {
                        badMessages.increment();
                        channel.close();
                    } else {
                        listener.onMessage(peer, m);
                    }
                }
            }
        }

        private void onHandshake(byte[] bytes) {
            ObjectNode m = parse(bytes);
            String type = m == null ? "" : m.path("type").asText("");
            String secret = config.secret();
            if (dialing == null && type.equals("hello") && theirNonce == null) {
                String id = m.path("nodeId").asText("");
                if (!known.containsKey(id)) {
                    authFailure("unknown_node", channel, "node \"" + printable(id) + "\" is not a known peer");
                    return;
                }
                peer = id;
                theirNonce = m.path("nonce").asText("");
                if (theirNonce.length() < 16 || theirNonce.length() > 64) {
                    authFailure("bad_handshake", channel, "nonce");
                    return;
                }
                String region = m.path("region").asText("");
                String url = m.path("publicUrl").asText("");
                heard(region, url);
                transcript = announced(region, url) + "|" + announced(config.region(), config.publicUrl());
                sendPlain(json.createObjectNode().put("type", "challenge").put("nodeId", config.nodeId())
                        .put("region", config.region()).put("publicUrl", config.publicUrl()).put("nonce", myNonce)
                        .put("mac", ChannelCrypto.proof(secret, "server", theirNonce, myNonce, peer, config.nodeId(),
                                transcript)));
            } else if (dialing != null && type.equals("challenge") && theirNonce == null) {
                theirNonce = m.path("nonce").asText("");
                String region = m.path("region").asText("");
                String url = m.path("publicUrl").asText("");
                transcript = announced(config.region(), config.publicUrl()) + "|" + announced(region, url);
                String expected = ChannelCrypto.proof(secret, "server", myNonce, theirNonce, config.nodeId(), peer,
                        transcript);
                if (!m.path("nodeId").asText("").equals(peer)
                        || !ChannelCrypto.sameProof(expected, m.path("mac").asText(null))) {
                    authFailure("bad_proof", channel, "the node at " + channel.remoteAddress()
                            + " is not " + peer + " of this cluster (wrong secret?)");
                    return;
                }
                heard(region, url);
                sendPlain(json.createObjectNode().put("type", "proof")
                        .put("mac", ChannelCrypto.proof(secret, "client", myNonce, theirNonce, config.nodeId(), peer,
                                transcript)));
                crypto = ChannelCrypto.forClient(secret, myNonce, theirNonce, config.nodeId(), peer);
                established();
            } else if (dialing == null && type.equals("proof") && theirNonce != null) {
                String expected = ChannelCrypto.proof(secret, "client", theirNonce, myNonce, peer, config.nodeId(),
                        transcript);
                if (!ChannelCrypto.sameProof(expected, m.path("mac").asText(null))) {
                    authFailure("bad_proof", channel, "node " + peer + " could not prove the cluster secret");
                    return;
                }
                crypto = ChannelCrypto.forServer(secret, theirNonce, myNonce, peer, config.nodeId());
                established();
            } else {
                authFailure("bad_handshake", channel, "unexpected " + (m == null ? "frame" : printable(type)));
            }
        }

        /** What the peer announced, sanitised for logs and {@link #peers()}; a URL that is not valid is dropped. */
        private void heard(String region, String url) {
            peerRegion = printable(region);
            peerPublicUrl = ClusterConfig.isValidPublicUrl(url) ? url : "";
        }

        private void established() {
            if (!known.containsKey(peer)) {
                log.info("cluster: {} was removed during the handshake; closing", peer);
                channel.close();
                return;
            }
            if (sessions.containsKey(peer)) {
                log.info("cluster: a second connection with {}; keeping the first", peer);
                channel.close();
                return;
            }
            authenticated = true;
            timer.cancel(false);
            sessions.put(peer, this);
            announcedBy.put(peer, new Announced(peerRegion, peerPublicUrl));
            up.put(peer, this);
            backoffMs.remove(peer);
            Gauge.builder("sfu.cascade.peer.rtt.ms", up, u -> {
                        Session s = u.get(peer);
                        return s == null ? Double.NaN : s.rttMs;
                    }).tag("peer", peer).description("Smoothed control channel round trip to each peer node")
                    .register(registry);
            timer = channel.eventLoop().scheduleAtFixedRate(this::tick, 0, PING_MS, TimeUnit.MILLISECONDS);
            listener.onPeerUp(peer, peerRegion);
        }

        private void tick() {
            if (System.nanoTime() - lastHeardNs > TimeUnit.MILLISECONDS.toNanos(SILENCE_MS)) {
                log.warn("cluster: nothing from {} for {} ms; closing", peer, SILENCE_MS);
                channel.close();
                return;
            }
            sendSealed(bytes(json.createObjectNode().put("type", "ping").put("t", System.nanoTime())));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timer != null) {
                timer.cancel(false);
            }
            if (authenticated && sessions.get(peer) == this) {
                sessions.remove(peer);
                up.remove(peer);
                if (!known.containsKey(peer)) {
                    announcedBy.remove(peer);
                }
                listener.onPeerDown(peer, "connection closed");
            }
            if (dialing != null) {
                redial(dialing.nodeId());
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("cluster: connection with {} failed: {}", peer, cause.toString());
            if (cause instanceof io.netty.handler.codec.TooLongFrameException) {
                badMessages.increment();
            }
            ctx.close();
        }

        void sendSealed(byte[] plain) {
            if (channel.isActive() && crypto != null) {
                channel.writeAndFlush(Unpooled.wrappedBuffer(crypto.seal(plain)), channel.voidPromise());
            }
        }

        private void sendPlain(ObjectNode m) {
            channel.writeAndFlush(Unpooled.wrappedBuffer(bytes(m)), channel.voidPromise());
        }
    }

    private byte[] bytes(ObjectNode m) {
        try {
            return json.writeValueAsBytes(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private ObjectNode parse(byte[] bytes) {
        try {
            JsonNode n = json.readTree(new String(bytes, StandardCharsets.UTF_8));
            return n instanceof ObjectNode o ? o : null;
        } catch (Exception e) {
            return null;
        }
    }

    /** A node's region and public URL for the handshake proofs, length-prefixed so no two pairs read the same. */
    static String announced(String region, String publicUrl) {
        return region.length() + ":" + region + "|" + publicUrl.length() + ":" + publicUrl;
    }

    private static String nonce() {
        byte[] b = new byte[18];
        RANDOM.nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }

    /** For logs: what a peer sent, control characters replaced, at most 64 characters. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(64).forEach(c -> b.appendCodePoint(c < 0x20 || c == 0x7f ? '?' : c));
        return b.toString();
    }
}
