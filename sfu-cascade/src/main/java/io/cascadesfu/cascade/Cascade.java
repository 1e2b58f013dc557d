package io.cascadesfu.cascade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.core.MediaEngine;
import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.relay.RelayLink;
import io.cascadesfu.core.worker.MediaWorker;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.room.Member;
import io.cascadesfu.core.room.Room;
import io.cascadesfu.core.room.Subscription;
import io.cascadesfu.core.room.Track;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.signaling.room.RoomManager;
import io.cascadesfu.signaling.sdp.HeaderExtension;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;
import io.cascadesfu.signaling.sdp.PublisherAnswer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rooms that span nodes. Each node tells its peers who is in each of its rooms and what they publish
 * ({@code room_state}); a node with local participants in the same room dials a relay link to that peer for the
 * room ({@code link_offer} / {@code link_answer}: ICE credentials and DTLS fingerprints over the authenticated
 * control channel, then ICE, DTLS and SRTP between the media ports), publishes each remote track on the link's
 * member, and asks for it ({@code relay}): the peer forwards it over the link once, with every layer and the
 * publisher's numbering, whatever the number of subscribers behind it. Keyframe requests and NACKs go back over
 * the same link. The node's browsers see the remote participants and receive their tracks like local ones.
 *
 * <p>A link carries media one way: the dialing node receives. Each node dials for what it needs, so a room with
 * participants on both nodes has a link each way. Tracks cross only to nodes with participants in the room.
 *
 * <p>Threading: the engine's control thread; control-channel callbacks are handed over to it.
 */
public final class Cascade implements RoomManager.CascadeHooks {
    private static final Logger log = LoggerFactory.getLogger(Cascade.class);
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    static final String AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    /** Participants and tracks one room_state may list (a room's own caps are lower). */
    static final int MAX_PARTICIPANTS = 1000;
    static final int MAX_TRACKS = 512;

    private final MediaEngine engine;
    private final RoomManager rooms;
    private final String nodeId;
    private final String relayBindHost;
    /** Told to dialing peers instead of the served endpoint's candidate; null: the candidate. */
    private final InetSocketAddress linkAdvertise;
    private final Map<String, InetSocketAddress> linkAdvertiseFor;
    private ClusterBus bus;
    /** The last room_state each peer sent, per room: peer -> room -> participants. */
    private final Map<String, Map<String, JsonNode>> remoteStates = new HashMap<>();
    /**
     * The participants each peer last said it receives from its own peers, per room (room_state's {@code transit}:
     * each with its {@code origin}): peer -> room -> entries. Taken, from one of them, for an origin this node does
     * not hear from itself.
     */
    private final Map<String, Map<String, JsonNode>> transitStates = new HashMap<>();
    /** The round trips each peer last said it measured to its own peers ({@code rtts}): peer -> its peer -> ms. */
    private final Map<String, Map<String, Double>> peerRtts = new HashMap<>();
    /** The route last chosen for each origin's participants in each room: room -> origin -> the peer they come from. */
    private final Map<String, Map<String, String>> routes = new HashMap<>();
    /**
     * The routes as last applied to every peer's view of each room (room -> origin -> via). {@link #route} remembers
     * each choice wherever it is asked (sending a state asks too), so whether a route moved is judged against this,
     * never against {@link #routes}: a choice made on the way is still applied at the next weighing. Control thread.
     */
    private final Map<String, Map<String, String>> appliedRoutes = new HashMap<>();
    /** The last room_state sent to each peer, per room, as text: one that has not changed is not sent again. */
    private final Map<String, Map<String, String>> lastSent = new HashMap<>();
    /**
     * Rooms held open here while a peer's relay link is served for them ({@code RoomManager.hold}): a room with no
     * local participants stays while media passes through this node, and closes when the last such link goes.
     */
    private final java.util.Set<String> holds = new java.util.HashSet<>();
    /**
     * Peers whose relay links cannot be set up although their control channel is up (UDP blocked between the
     * nodes, say): their participants are reached through another peer while one lists them, and a probe link is
     * dialed every {@value #PROBE_MS} ms until one connects. Control thread.
     */
    private final java.util.Set<String> mediaDown = new java.util.HashSet<>();
    /**
     * Peers with a probe scheduled (not yet dialed). A probe on its way is a dialed link marked {@code probe}; so the
     * two together say whether one is coming, and nothing else must be kept in step (a probe link that takes on
     * tracks, or closes in any way, stops counting by itself). Control thread.
     */
    private final Map<String, java.util.concurrent.ScheduledFuture<?>> probeTimers = new HashMap<>();
    static final long PROBE_MS = 20_000;
    /** Links this node dialed (it receives over them): peer -> room -> link. */
    private final Map<String, Map<String, DialedLink>> dialed = new HashMap<>();
    /** Links peers dialed to this node (it sends over them): peer -> room -> link. */
    private final Map<String, Map<String, ServedLink>> served = new HashMap<>();
    private volatile long badMessages; // written on the control thread only
    /** Tracks this node relays to peers now (one per track per link, whatever the subscribers behind it). */
    private volatile int servedRelays;

    /** A relay link this node receives on, for one room from one peer. */
    private static final class DialedLink {
        final String room;
        final String peer;
        final Member member;
        final Endpoint endpoint;
        final Map<String, Track> tracks = new LinkedHashMap<>(); // by trackId
        /** The room's channel on the pair's wire, numbered by this node; its SSRCs are {@code ssrcBase + i}. */
        final int channel;
        final long ssrcBase;
        long nextSsrc;
        /** The peer took the channel ({@code link_answer}). */
        boolean answered;
        /** Dialed only to learn whether the peer's media port can be reached again; carries nothing yet. */
        boolean probe;

        DialedLink(String room, String peer, Member member, Endpoint endpoint, int channel, long ssrcBase) {
            this.room = room;
            this.peer = peer;
            this.member = member;
            this.endpoint = endpoint;
            this.channel = channel;
            this.ssrcBase = ssrcBase;
        }

        /** Up: the wire is, and the peer serves the channel. */
        boolean isUp() {
            return answered && endpoint.isConnected();
        }
    }

    /** A relay link a peer dialed to this node: what it asked for. */
    private static final class ServedLink {
        final Member member;
        final Endpoint endpoint;
        final Map<String, Subscription> relays = new HashMap<>(); // by trackId
        final Map<String, Long> ssrcs = new HashMap<>(); // by trackId: the link SSRC the peer gave it
        /** The peer's channel number for the room on the pair's wire. */
        final int channel;

        ServedLink(Member member, Endpoint endpoint, int channel) {
            this.member = member;
            this.endpoint = endpoint;
            this.channel = channel;
        }
    }

    /**
     * The one wire between this node and a peer, shared by every room's link both ways ({@link RelayLink}). The
     * node with the lower id dials it ({@code pair_offer}, answered by {@code pair_answer} with the peer's media
     * address); the other accepts it, and asks for one ({@code pair_request}) when it needs the wire and has none
     * up. Each room this node receives over it has a channel numbered here; the peer numbers the rooms it receives.
     */
    private final class PeerWire {
        final String peer;
        final RelayLink link;
        final boolean dials;
        /** Channels this node numbered and has not seen closed. */
        final java.util.BitSet ownChannels = new java.util.BitSet(RelayLink.CHANNELS);
        /** Where the search for a free channel starts: numbers go round, so a closed one is not reused at once. */
        int nextChannel;
        /** Dialing side: the number of the wire last offered, and when. */
        int offered;
        long offeredAtNs;
        /** Accepting side: when a wire was last asked for. */
        long requestedAtNs;

        PeerWire(String peer) {
            this.peer = peer;
            this.dials = nodeId.compareTo(peer) < 0;
            List<MediaWorker> workers = engine.workers();
            this.link = new RelayLink("relay-" + peer, workers.get(Math.floorMod(peer.hashCode(), workers.size())),
                    dials ? 0 : 1);
        }

        /** A free channel number, or -1 when all {@value RelayLink#CHANNELS} are taken. */
        int allocate() {
            int c = ownChannels.nextClearBit(nextChannel);
            if (c >= RelayLink.CHANNELS) {
                c = ownChannels.nextClearBit(0);
            }
            if (c >= RelayLink.CHANNELS) {
                return -1;
            }
            ownChannels.set(c);
            nextChannel = (c + 1) % RelayLink.CHANNELS;
            return c;
        }

        /**
         * Makes sure a wire is up or on its way: the dialing side offers a new one when it has none, or when the
         * last offer is older than a setup could take; the other side asks for one, as often.
         */
        void ensure() {
            if (link.isUp()) {
                return;
            }
            long now = System.nanoTime();
            long patience = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(RelayLink.SETUP_TIMEOUT_MS + 2_000);
            if (dials) {
                if (!link.hasWire() || now - offeredAtNs > patience) {
                    offer(now);
                }
            } else if (requestedAtNs == 0 || now - requestedAtNs > patience) {
                requestedAtNs = now;
                bus.send(peer, pairMessage("pair_request"));
            }
        }

        private void offer(long now) {
            offered++;
            offeredAtNs = now;
            IceCredentials credentials = IceCredentials.random();
            link.dial(new InetSocketAddress(relayBindHost, 0), credentials);
            bus.send(peer, pairMessage("pair_offer").put("wire", offered).put("ufrag", credentials.ufrag())
                    .put("pwd", credentials.pwd()).put("fingerprint", engine.fingerprintSha256()));
            log.info("cascade: dialing the relay wire to {} (worker {})", peer, link.worker().index());
        }
    }

    /** The wire to each peer, made when a room first needs one and closed when the peer goes down. Control thread. */
    private final Map<String, PeerWire> wires = new HashMap<>();

    private PeerWire wire(String peer) {
        return wires.computeIfAbsent(peer, PeerWire::new);
    }

    private static ObjectNode pairMessage(String type) {
        ObjectNode m = JSON.objectNode();
        m.put("type", type);
        return m;
    }

    public Cascade(MediaEngine engine, RoomManager rooms, String nodeId, String relayBindHost) {
        this(engine, rooms, nodeId, relayBindHost, null);
    }

    /**
     * @param linkAdvertise the media address told to peers that dial a relay link to this node, instead of the
     *                      served endpoint's own candidate; null for the candidate. For a NAT's public address or
     *                      a relay in front of the media port (the cascade benchmark emulates a backbone so).
     */
    public Cascade(MediaEngine engine, RoomManager rooms, String nodeId, String relayBindHost,
                   InetSocketAddress linkAdvertise) {
        this(engine, rooms, nodeId, relayBindHost, linkAdvertise, Map.of());
    }

    /** @param linkAdvertiseFor per peer id, what that peer is told instead of {@code linkAdvertise} */
    public Cascade(MediaEngine engine, RoomManager rooms, String nodeId, String relayBindHost,
                   InetSocketAddress linkAdvertise, Map<String, InetSocketAddress> linkAdvertiseFor) {
        this.engine = engine;
        this.rooms = rooms;
        this.nodeId = nodeId;
        this.relayBindHost = relayBindHost;
        this.linkAdvertise = linkAdvertise;
        this.linkAdvertiseFor = Map.copyOf(linkAdvertiseFor);
    }

    /** Connects the cascade to its control channel; call before the first peer comes up. */
    public void attach(ClusterBus bus) {
        this.bus = bus;
        rooms.setCascadeHooks(this);
        engine.control().scheduleAtFixedRate(this::shareRtts, RTT_SHARE_MS, RTT_SHARE_MS,
                java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** How often each node tells its peers the round trips it measures, and routes are weighed again. */
    static final long RTT_SHARE_MS = 2_000;

    /**
     * Tells every up peer the round trips this node measures to its peers ({@code rtts}), so that each can weigh a
     * path through this node; then weighs this node's own routes again, and moves participants to a better one.
     * Control thread.
     */
    private void shareRtts() {
        try {
            java.util.Set<String> up = bus.upPeers();
            ObjectNode m = JSON.objectNode();
            m.put("type", "rtts");
            ObjectNode rtts = m.putObject("rtts");
            for (String p : new java.util.TreeSet<>(up)) {
                double rtt = bus.rttMillis(p);
                if (rtt >= 0) {
                    rtts.put(p, Math.round(rtt * 10) / 10.0);
                }
            }
            for (String p : up) {
                bus.send(p, m);
            }
            rerouteAll(false);
        } catch (RuntimeException e) {
            log.warn("cascade: sharing round trips failed: {}", e.toString());
        }
    }

    /** Weighs the route of every origin of {@code room} again; true if one changed. */
    private boolean reroute(String room) {
        Map<String, String> before = appliedRoutes.getOrDefault(room, Map.of());
        for (String origin : origins(room)) {
            route(origin, room);
        }
        Map<String, String> now = routes.getOrDefault(room, Map.of());
        boolean changed = false;
        java.util.Set<String> origins = new java.util.TreeSet<>(before.keySet());
        origins.addAll(now.keySet());
        for (String origin : origins) {
            String via = now.get(origin);
            if (!java.util.Objects.equals(via, before.get(origin))) {
                log.info("cascade: room {}: {}'s participants now come {}", room, origin,
                        via == null ? "from nowhere (unreachable)" : via.equals(origin) ? "directly" : "through " + via);
                changed = true;
            }
        }
        return changed;
    }

    /** The nodes with participants in {@code room} that this node hears of, directly or as transit. */
    private java.util.Set<String> origins(String room) {
        java.util.Set<String> origins = new java.util.TreeSet<>();
        remoteStates.forEach((peer, byRoom) -> {
            if (byRoom.containsKey(room)) {
                origins.add(peer);
            }
        });
        transitStates.forEach((peer, byRoom) -> {
            for (JsonNode e : byRoom.getOrDefault(room, JSON.arrayNode())) {
                String origin = e.path("origin").asText(null);
                if (origin != null && !origin.equals(nodeId)) {
                    origins.add(origin);
                }
            }
        });
        return origins;
    }

    /**
     * The routes of this node's rooms that go through another node than the participants' own, and the round trips
     * each peer said it measures, for the admin view. Control thread.
     */
    public ObjectNode describeRoutes() {
        ObjectNode body = JSON.objectNode();
        ArrayNode detours = body.putArray("detours");
        new java.util.TreeMap<>(routes).forEach((room, byOrigin) -> new java.util.TreeMap<>(byOrigin).forEach(
                (origin, via) -> {
                    if (!origin.equals(via)) {
                        detours.addObject().put("room", room).put("origin", origin).put("via", via);
                    }
                }));
        ArrayNode down = body.putArray("mediaUnreachable"); // control channel up, relay links failing
        new java.util.TreeSet<>(mediaDown).forEach(down::add);
        ObjectNode graph = body.putObject("peerRttsMs");
        new java.util.TreeMap<>(peerRtts).forEach((peer, rtts) -> {
            ObjectNode n = graph.putObject(peer);
            new java.util.TreeMap<>(rtts).forEach(n::put);
        });
        return body;
    }

    public long badMessages() {
        return badMessages;
    }

    /** Tracks relayed to peer nodes now, one per track per link. Any thread (for the metric). */
    public int servedRelays() {
        return servedRelays;
    }

    /**
     * How many participants of {@code room} each peer last said it holds (peers with none are left out), whether or
     * not this node has participants in the room. Control thread.
     */
    public Map<String, Integer> remoteCounts(String room) {
        Map<String, Integer> counts = new java.util.TreeMap<>();
        remoteStates.forEach((peer, byRoom) -> {
            JsonNode participants = byRoom.get(room);
            if (participants != null && participants.size() > 0) {
                counts.put(peer, participants.size());
            }
        });
        return counts;
    }

    /** The last counters read of each link (peer/room/direction), for rates between two reads. Control thread. */
    private final Map<String, long[]> lastLinkRead = new HashMap<>();

    /**
     * Every relay link with its measurements, for the admin view: peer, room, direction ({@code in}: this node
     * receives, {@code out}: it sends), whether it is up, tracks carried, and for {@code in} the packets received
     * and lost (loss %), jitter and bitrate; for {@code out} the packets and bitrate sent (since the previous
     * read) and the link's bandwidth estimate (hop-by-hop transport-cc). Control thread; completes after each
     * link's worker was read.
     */
    public java.util.concurrent.CompletableFuture<ArrayNode> describeLinks() {
        List<java.util.concurrent.CompletableFuture<ObjectNode>> parts = new ArrayList<>();
        for (Map.Entry<String, Map<String, DialedLink>> e : dialed.entrySet()) {
            for (DialedLink l : e.getValue().values()) {
                parts.add(describeLink(e.getKey(), l.room, "in", l.channel, l.endpoint, l.tracks.size()));
            }
        }
        for (Map.Entry<String, Map<String, ServedLink>> e : served.entrySet()) {
            for (Map.Entry<String, ServedLink> r : e.getValue().entrySet()) {
                parts.add(describeLink(e.getKey(), r.getKey(), "out", r.getValue().channel, r.getValue().endpoint,
                        r.getValue().relays.size()));
            }
        }
        java.util.Set<String> present = new java.util.HashSet<>();
        dialed.forEach((peer, byRoom) -> byRoom.keySet().forEach(room -> present.add(peer + "/" + room + "/in")));
        served.forEach((peer, byRoom) -> byRoom.keySet().forEach(room -> present.add(peer + "/" + room + "/out")));
        lastLinkRead.keySet().retainAll(present); // links gone
        return collect(parts);
    }

    /**
     * The wire to each peer, for the admin view: one row per node pair, whichever rooms and directions it carries
     * ({@code roomsIn}: rooms this node receives over it; {@code roomsOut}: rooms it serves), whether it is up, who
     * dials it, and the one bandwidth estimate all those rooms share. Control thread.
     */
    public java.util.concurrent.CompletableFuture<ArrayNode> describeWires() {
        List<java.util.concurrent.CompletableFuture<ObjectNode>> parts = new ArrayList<>();
        for (PeerWire w : new java.util.TreeMap<>(wires).values()) {
            int in = dialed.getOrDefault(w.peer, Map.of()).size();
            int out = served.getOrDefault(w.peer, Map.of()).size();
            parts.add(w.link.stats().thenApply(s -> {
                ObjectNode n = JSON.objectNode();
                n.put("peer", w.peer);
                n.put("up", s.up());
                n.put("dialedHere", w.dials);
                n.put("worker", w.link.worker().index());
                n.put("roomsIn", in);
                n.put("roomsOut", out);
                n.put("channels", s.channels());
                if (s.estimateBps() >= 0) {
                    n.put("estimateKbps", s.estimateBps() / 1000);
                    n.put("ackedKbps", s.ackedBps() / 1000);
                }
                return n;
            }));
        }
        return collect(parts);
    }

    /** The rows, each read on its own worker, as one array, completed on the control thread. */
    private java.util.concurrent.CompletableFuture<ArrayNode> collect(
            List<java.util.concurrent.CompletableFuture<ObjectNode>> parts) {
        return java.util.concurrent.CompletableFuture.allOf(parts.toArray(java.util.concurrent.CompletableFuture[]::new))
                .thenApplyAsync(v -> {
                    ArrayNode list = JSON.arrayNode();
                    parts.forEach(p -> list.add(p.join()));
                    return list;
                }, engine.control());
    }

    private java.util.concurrent.CompletableFuture<ObjectNode> describeLink(String peer, String room, String direction,
                                                                            int channel, Endpoint endpoint,
                                                                            int tracks) {
        String key = peer + "/" + room + "/" + direction;
        return endpoint.stats().thenApplyAsync(s -> {
            ObjectNode n = JSON.objectNode();
            n.put("peer", peer);
            n.put("room", room);
            n.put("direction", direction);
            n.put("channel", channel); // on the wire to the peer; numbered by the receiving node
            n.put("connected", s.connected());
            n.put("tracks", tracks);
            long now = System.nanoTime();
            long[] last = lastLinkRead.put(key, new long[] {now, s.bytesOut()});
            if (direction.equals("in")) {
                n.put("packets", s.packetsIn());
                n.put("packetsLost", s.packetsLost());
                long expected = s.packetsIn() + s.packetsLost();
                n.put("lossPercent", expected == 0 ? 0.0 : Math.round(s.packetsLost() * 10000.0 / expected) / 100.0);
                n.put("jitterMs", Math.round(s.jitterMs() * 100) / 100.0);
                n.put("bitrateKbps", s.bitrateInBps() / 1000);
            } else {
                n.put("packets", s.packetsOut());
                if (last != null && now > last[0]) {
                    n.put("bitrateKbps", (s.bytesOut() - last[1]) * 8_000_000L / (now - last[0]));
                }
                if (s.estimateBps() >= 0) {
                    n.put("estimateKbps", s.estimateBps() / 1000); // from the far node's transport-cc feedback
                    n.put("ackedKbps", s.ackedBps() / 1000);
                    n.put("tracksCapped", s.tracksCapped()); // sent with fewer layers than asked: the link is full
                }
            }
            return n;
        }, engine.control());
    }

    private void countRelays() {
        int n = 0;
        for (Map<String, ServedLink> byRoom : served.values()) {
            for (ServedLink l : byRoom.values()) {
                n += l.relays.size();
            }
        }
        servedRelays = n;
    }

    // ------------------------------------------------------------------------------------ control channel

    /** A peer's channel came up: it hears the state of every room here. Any thread. */
    public void onPeerUp(String peer) {
        engine.control().execute(() -> {
            lastSent.remove(peer); // a new channel: it hears everything again
            mediaDown.remove(peer); // and its relay links are tried afresh
            for (String room : rooms.roomNames()) {
                sendState(peer, room);
            }
        });
    }

    /**
     * A peer's channel went down: its participants leave here, unless another peer still receives them and passes
     * them on (transit: they move to that peer's link, their subscriptions with them); its links close; the other
     * peers hear what changed. Any thread.
     */
    public void onPeerDown(String peer) {
        engine.control().execute(() -> {
            Map<String, JsonNode> states = remoteStates.remove(peer);
            Map<String, JsonNode> transits = transitStates.remove(peer);
            lastSent.remove(peer);
            peerRtts.remove(peer);
            mediaDown.remove(peer);
            java.util.Set<String> affected = new java.util.HashSet<>();
            if (states != null) {
                affected.addAll(states.keySet());
            }
            if (transits != null) {
                affected.addAll(transits.keySet());
            }
            for (String room : affected) {
                applyOthers(room, peer); // who can be reached another way is, before the direct copies go
                for (String id : rooms.remotesOn(room, peer)) {
                    rooms.removeRemote(room, id);
                }
            }
            Map<String, DialedLink> mine = dialed.remove(peer);
            if (mine != null) {
                mine.values().forEach(l -> l.member.close("peer node " + peer + " down"));
            }
            PeerWire w = wires.remove(peer);
            if (w != null) {
                w.link.close("peer node " + peer + " down");
            }
            Map<String, ServedLink> theirs = served.remove(peer);
            if (theirs != null) {
                theirs.values().forEach(l -> l.member.close("peer node " + peer + " down"));
                for (String room : theirs.keySet()) {
                    releaseIfUnserved(room);
                    if (rooms.coreRoom(room) != null) {
                        applyOthers(room, peer);
                    }
                }
            }
            countRelays();
            for (String room : affected) {
                broadcastState(room, peer);
            }
            log.info("cascade: peer {} down; its participants and links are gone", peer);
        });
    }

    /** A message from an authenticated peer. Any thread. */
    public void onMessage(String peer, ObjectNode message) {
        engine.control().execute(() -> {
            try {
                handle(peer, message);
            } catch (RuntimeException e) {
                badMessages = badMessages + 1;
                log.warn("cascade: message {} from {} failed: {}", message.path("type").asText(), peer, e.toString());
            }
        });
    }

    private void handle(String peer, ObjectNode m) {
        String type = m.path("type").asText("");
        switch (type) {
            case "rtts" -> {
                onRtts(peer, m.get("rtts"));
                return;
            }
            case "pair_offer" -> {
                onPairOffer(peer, m);
                return;
            }
            case "pair_answer" -> {
                onPairAnswer(peer, m);
                return;
            }
            case "pair_request" -> {
                onPairRequest(peer);
                return;
            }
            default -> {
            }
        }
        String room = TrackJson.text(m, "room");
        if (room == null) {
            bad(peer, type, "no room");
            return;
        }
        switch (type) {
            case "room_state" -> onRoomState(peer, room, m.get("participants"), m.get("transit"));
            case "link_offer" -> onLinkOffer(peer, room, m);
            case "link_answer" -> onLinkAnswer(peer, room, m);
            case "relay" -> onRelay(peer, room, m);
            case "unrelay" -> onUnrelay(peer, room, TrackJson.text(m, "trackId"));
            case "link_close" -> closeServed(peer, room, "closed by " + peer);
            case "link_lost" -> onLinkLost(peer, room, m);
            default -> bad(peer, type, "unknown type");
        }
    }

    private void bad(String peer, String type, String why) {
        long n = ++badMessages;
        if (n <= 20 || n % 1000 == 0) { // an operator hears of it without a flood filling the log
            log.warn("cascade: ignored {} from {}: {} ({} ignored so far)", type, peer, why, n);
        }
    }

    // ------------------------------------------------------------------------------------ local rooms

    @Override
    public void roomOpened(String room) {
        applyOthers(room, null);
    }

    @Override
    public void roomChanged(String room) {
        if (holds.contains(room)) {
            applyOthers(room, null); // the first local participant came, or the last left: what to receive changed
        }
        broadcastState(room, null);
    }

    /** Sends {@code room}'s state to every up peer but {@code except} (null: none), where it changed. */
    private void broadcastState(String room, String except) {
        if (bus != null) {
            for (String peer : bus.upPeers()) {
                if (!peer.equals(except)) {
                    sendState(peer, room);
                }
            }
        }
    }

    @Override
    public void roomClosed(String room) {
        // The core room closed every member: the links of this room are gone on this side.
        for (Map<String, DialedLink> byRoom : dialed.values()) {
            DialedLink l = byRoom.remove(room);
            if (l != null && bus != null) {
                bus.send(l.peer, message("link_close", room));
            }
        }
        for (Map<String, ServedLink> byRoom : served.values()) {
            byRoom.remove(room);
        }
        countRelays();
        routes.remove(room);
        appliedRoutes.remove(room);
        holds.remove(room);
        roomChanged(room); // an empty state: the peers stop serving this node
    }

    /**
     * Tells {@code peer} who is in {@code room} here ({@code participants}) and whom this node receives from its other
     * peers there ({@code transit}, each with its {@code origin}), so that a peer cut off from an origin can reach
     * its participants through this node. Only what this node hears directly is passed on, never a transit entry:
     * routes are at most one node long, and have no loops. Not sent if it is what {@code peer} heard last.
     */
    private void sendState(String peer, String room) {
        ObjectNode m = message("room_state", room);
        ArrayNode list = m.putArray("participants");
        for (RoomManager.ParticipantView p : rooms.localParticipants(room)) {
            ObjectNode n = list.addObject();
            n.put("participantId", p.participantId());
            n.put("identity", p.identity());
            n.put("name", p.name());
            ArrayNode tracks = n.putArray("tracks");
            for (RoomManager.TrackView t : p.tracks()) {
                ObjectNode tn = tracks.addObject();
                tn.put("trackId", t.trackId());
                tn.put("muted", t.muted());
                tn.put("paused", t.track() != null && t.track().isPaused()); // an operator's mute stops the media
                tn.set("info", TrackJson.write(t.info()));
            }
        }
        ArrayNode transit = m.putArray("transit");
        boolean here = rooms.coreRoom(room) != null;
        for (Map.Entry<String, Map<String, JsonNode>> e : new java.util.TreeMap<>(remoteStates).entrySet()) {
            JsonNode theirs = e.getValue().get(room);
            // Only what comes here directly is passed on; without the room here, what would (a link asked for
            // it opens the room here and dials the origin).
            if (e.getKey().equals(peer) || theirs == null || mediaDown.contains(e.getKey())
                    || here && !e.getKey().equals(route(e.getKey(), room))) {
                continue;
            }
            for (JsonNode p : theirs) {
                if (transit.size() < MAX_PARTICIPANTS && p.isObject()) {
                    transit.add(((ObjectNode) p.deepCopy()).put("origin", e.getKey()));
                }
            }
        }
        String text = m.toString();
        Map<String, String> sent = lastSent.computeIfAbsent(peer, k -> new HashMap<>());
        if (text.equals(sent.get(room))) {
            return;
        }
        sent.put(room, text);
        bus.send(peer, m);
    }

    private static ObjectNode message(String type, String room) {
        ObjectNode m = JSON.objectNode();
        m.put("type", type);
        m.put("room", room);
        return m;
    }

    // ------------------------------------------------------------------------------------ receiving side

    /** A peer's round trips to its peers: kept for routing (at most {@value #MAX_PEERS}, each within 0..60 s). */
    private void onRtts(String peer, JsonNode rtts) {
        if (rtts == null || !rtts.isObject() || rtts.size() > MAX_PEERS) {
            bad(peer, "rtts", "not an object or too many peers");
            return;
        }
        Map<String, Double> kept = new HashMap<>();
        for (java.util.Iterator<Map.Entry<String, JsonNode>> it = rtts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            double v = e.getValue().isNumber() ? e.getValue().asDouble() : -1;
            if (e.getKey().isEmpty() || e.getKey().length() > 128 || !(v >= 0 && v <= 60_000)) {
                bad(peer, "rtts", "a bad entry");
                return;
            }
            kept.put(e.getKey(), v);
        }
        peerRtts.put(peer, kept);
    }

    /** Peers one rtts message may list. */
    static final int MAX_PEERS = 256;

    private void onRoomState(String peer, String room, JsonNode participants, JsonNode transit) {
        if (participants == null || !participants.isArray() || participants.size() > MAX_PARTICIPANTS
                || transit != null && (!transit.isArray() || transit.size() > MAX_PARTICIPANTS)) {
            bad(peer, "room_state", "participants missing or too many");
            return;
        }
        Map<String, JsonNode> states = remoteStates.computeIfAbsent(peer, k -> new HashMap<>());
        if (participants.isEmpty()) {
            states.remove(room);
        } else {
            states.put(room, participants);
        }
        Map<String, JsonNode> transits = transitStates.computeIfAbsent(peer, k -> new HashMap<>());
        if (transit == null || transit.isEmpty()) {
            transits.remove(room);
        } else {
            transits.put(room, transit);
        }
        if (rooms.coreRoom(room) != null) {
            applyOthers(room, null); // this peer's, and what came through others may now come directly, or here
        }
        broadcastState(room, peer); // what this node passes on changed
    }

    /** {@link #apply} for every peer but {@code except} (null: none) that said something of {@code room}. */
    private void applyOthers(String room, String except) {
        Map<String, String> routesBefore = new HashMap<>(routes.getOrDefault(room, Map.of()));
        applyAllBut(room, except);
        // A route weighed anew on the way (route() remembers its choice) may lead over a link applied before it, or
        // over the excepted peer's: all are applied again. Asked again with nothing changed, route() answers the
        // same, so a second pass settles it; a third is only a guard.
        for (int pass = 0; pass < 2 && !routesBefore.equals(routes.getOrDefault(room, Map.of())); pass++) {
            routesBefore = new HashMap<>(routes.getOrDefault(room, Map.of()));
            applyAllBut(room, null);
        }
        appliedRoutes.put(room, new HashMap<>(routes.getOrDefault(room, Map.of())));
    }

    private void applyAllBut(String room, String except) {
        java.util.Set<String> peers = new java.util.TreeSet<>(remoteStates.keySet());
        peers.addAll(transitStates.keySet());
        // Every peer's view first, then who is listed by none: a participant moving from one route to another is
        // put on its new one before the old one's state could take it away.
        Map<String, java.util.Set<String>> listed = new LinkedHashMap<>();
        for (String p : peers) {
            if (!p.equals(except) && (remoteStates.getOrDefault(p, Map.of()).containsKey(room)
                    || transitStates.getOrDefault(p, Map.of()).containsKey(room)
                    || !rooms.remotesOn(room, p).isEmpty())) {
                java.util.Set<String> ids = applyViews(p, room);
                if (ids != null) {
                    listed.put(p, ids);
                }
            }
        }
        listed.forEach((p, ids) -> removeUnlisted(p, room, ids));
    }

    /** {@link #applyViews}, then the participants on {@code peer}'s link that it no longer lists leave. */
    private void apply(String peer, String room) {
        java.util.Set<String> ids = applyViews(peer, room);
        if (ids != null) {
            removeUnlisted(peer, room, ids);
        }
    }

    private void removeUnlisted(String peer, String room, java.util.Set<String> listedIds) {
        for (String id : rooms.remotesOn(room, peer)) {
            if (!listedIds.contains(id)) {
                rooms.removeRemote(room, id);
            }
        }
    }

    /**
     * The peer whose link brings the participants of {@code origin} in {@code room} here: {@code origin} itself, or
     * a peer that receives them directly and passes them on, when {@code origin} is cut off from this node or that
     * path is clearly shorter (see {@link Routes}); null if none. The choice is remembered, for hysteresis;
     * asking again with nothing changed gives the same answer.
     */
    private String route(String origin, String room) {
        if (origin.equals(nodeId)) {
            return null;
        }
        Map<String, Routes.Candidate> candidates = new HashMap<>();
        for (Map.Entry<String, Map<String, JsonNode>> t : transitStates.entrySet()) {
            String p = t.getKey();
            JsonNode entries = t.getValue().get(room);
            if (entries == null || p.equals(origin) || !remoteStates.containsKey(p)) {
                continue;
            }
            for (JsonNode e : entries) {
                if (origin.equals(e.path("origin").asText(null))) {
                    candidates.put(p, new Routes.Candidate(bus.rttMillis(p),
                            peerRtts.getOrDefault(p, Map.of()).getOrDefault(origin, -1.0)));
                    break;
                }
            }
        }
        // Control channel up but its relay links fail: go around it if a peer can pass its participants on.
        boolean reachable = remoteStates.containsKey(origin) && !(mediaDown.contains(origin) && !candidates.isEmpty());
        Map<String, String> byOrigin = routes.computeIfAbsent(room, k -> new HashMap<>());
        String via = Routes.choose(origin, reachable, reachable ? bus.rttMillis(origin) : -1, candidates,
                byOrigin.get(origin));
        if (via == null) {
            byOrigin.remove(origin);
        } else {
            byOrigin.put(origin, via);
        }
        return via;
    }

    /**
     * Brings this node's view of the participants reached over {@code peer}'s link in {@code room} in line with its
     * last state: its own participants, and those it passes on from origins this node does not hear from.
     * Returns the ids it lists (null if the room is not here); who is no longer listed is the caller's to remove.
     */
    private java.util.Set<String> applyViews(String peer, String room) {
        Room core = rooms.coreRoom(room);
        if (core == null) {
            return null;
        }
        List<JsonNode> entries = new ArrayList<>();
        List<String> origins = new ArrayList<>();
        // Without local participants the room is here only to pass media on: receive a peer's own participants only
        // while another peer's link takes them on, and nothing that comes through a third node.
        boolean passOnOnly = rooms.localParticipants(room).isEmpty();
        JsonNode own = remoteStates.getOrDefault(peer, Map.of()).get(room);
        if (own != null && peer.equals(route(peer, room)) && (!passOnOnly || servesOtherThan(room, peer))) {
            for (JsonNode p : own) {
                entries.add(p);
                origins.add(peer);
            }
        }
        for (JsonNode p : passOnOnly ? JSON.arrayNode()
                : transitStates.getOrDefault(peer, Map.of()).getOrDefault(room, JSON.arrayNode())) {
            String origin = TrackJson.text(p, "origin");
            if (origin != null && peer.equals(route(origin, room))) {
                entries.add(p);
                origins.add(origin);
            }
        }
        List<RoomManager.ParticipantView> views = new ArrayList<>();
        List<String> viewOrigins = new ArrayList<>();
        int trackCount = 0;
        DialedLink link = dialed.computeIfAbsent(peer, k -> new HashMap<>()).get(room);
        Map<String, Boolean> listedTracks = new HashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            JsonNode p = entries.get(i);
            String id = TrackJson.text(p, "participantId");
            String identity = TrackJson.printable(p, "identity", 128);
            String name = TrackJson.printable(p, "name", 128);
            if (id == null || identity == null) {
                bad(peer, "room_state", "participant without id or identity");
                continue;
            }
            List<RoomManager.TrackView> tracks = new ArrayList<>();
            for (JsonNode t : TrackJson.iterable(p.get("tracks"), 32)) {
                String trackId = TrackJson.text(t, "trackId");
                PublishedTrackInfo info = trackId == null ? null : TrackJson.read(t.get("info"), trackId);
                if (info == null || ++trackCount > MAX_TRACKS) {
                    bad(peer, "room_state", "bad track");
                    continue;
                }
                if (link == null) {
                    link = dial(peer, room, core);
                }
                Track track = link.tracks.get(trackId);
                if (track == null) {
                    releaseElsewhere(room, trackId, peer); // the route moved to this link: one copy per room
                    track = publishRemote(link, trackId, info);
                }
                listedTracks.put(trackId, true);
                boolean paused = t.path("paused").asBoolean(false);
                if (track.isPaused() != paused) {
                    track.setPaused(paused); // paused at its origin: its copy here too (no gap, a keyframe on resume)
                }
                tracks.add(new RoomManager.TrackView(trackId, info, t.path("muted").asBoolean(false), track));
            }
            views.add(new RoomManager.ParticipantView(id, identity, name == null ? identity : name, tracks));
            viewOrigins.add(origins.get(i));
        }
        // Put before taking away: a participant moving to this link keeps its subscriptions (they move with it).
        for (int i = 0; i < views.size(); i++) {
            rooms.putRemote(room, viewOrigins.get(i), peer, views.get(i));
        }
        java.util.Set<String> listedIds = new java.util.HashSet<>();
        views.forEach(v -> listedIds.add(v.participantId()));
        // Tracks gone: stop asking, close them here.
        if (link != null) {
            for (String trackId : new ArrayList<>(link.tracks.keySet())) {
                if (!listedTracks.containsKey(trackId)) {
                    link.member.unpublish(link.tracks.remove(trackId));
                    bus.send(peer, message("unrelay", room).put("trackId", trackId));
                }
            }
        }
        if (link != null && views.isEmpty() && !link.probe) {
            dialed.get(peer).remove(room);
            link.member.close("no one on " + peer + " any more");
            bus.send(peer, message("link_close", room));
        }
        return listedIds;
    }

    /** Closes the copy of {@code trackId} that a link from another peer than {@code peer} brings, if one does. */
    private void releaseElsewhere(String room, String trackId, String peer) {
        for (Map.Entry<String, Map<String, DialedLink>> e : dialed.entrySet()) {
            DialedLink other = e.getKey().equals(peer) ? null : e.getValue().get(room);
            Track old = other == null ? null : other.tracks.remove(trackId);
            if (old != null) {
                other.member.unpublish(old);
                bus.send(e.getKey(), message("unrelay", room).put("trackId", trackId));
            }
        }
    }

    /** Whether a peer other than {@code peer} has a relay link from this node for {@code room}. */
    private boolean servesOtherThan(String room, String peer) {
        for (Map.Entry<String, Map<String, ServedLink>> e : served.entrySet()) {
            if (!e.getKey().equals(peer) && e.getValue().containsKey(room)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a peer other than {@code peer} lists participants of {@code room} on its own node. */
    private boolean othersHave(String room, String peer) {
        for (Map.Entry<String, Map<String, JsonNode>> e : remoteStates.entrySet()) {
            if (!e.getKey().equals(peer) && e.getValue().containsKey(room)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a peer other than {@code peer} lists {@code trackId} among its own participants' tracks in {@code room}. */
    private boolean announcedElsewhere(String room, String trackId, String peer) {
        for (Map.Entry<String, Map<String, JsonNode>> e : remoteStates.entrySet()) {
            JsonNode participants = e.getKey().equals(peer) ? null : e.getValue().get(room);
            for (JsonNode p : participants == null ? JSON.arrayNode() : participants) {
                for (JsonNode t : TrackJson.iterable(p.get("tracks"), 32)) {
                    if (trackId.equals(t.path("trackId").asText(null))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** The last served link of a held room went: the hold ends (the room closes here if no one is in it). */
    private void releaseIfUnserved(String room) {
        if (holds.contains(room) && !servesOtherThan(room, null)) {
            holds.remove(room);
            rooms.release(room);
        }
    }

    /** Opens this node's end of a relay link from {@code peer} for {@code room} and offers it. */
    private DialedLink dial(String peer, String room, Room core) {
        PeerWire w = wire(peer);
        // The wire first: a new one replaces the old and closes the channels on it, so a channel made for it must
        // come after, here (its worker runs the tasks in order) and at the peer (the control channel is ordered).
        w.ensure();
        int channel = w.allocate();
        if (channel < 0) {
            log.warn("cascade: room {}: every one of the {} relay channels from {} is taken; its tracks stay away",
                    room, RelayLink.CHANNELS, peer);
            return null;
        }
        // On the wire's worker: a room on another worker reaches it by a pipe, like any member there.
        Member member = core.addMember("from:" + peer, w.link.worker());
        DialedLink[] self = new DialedLink[1];
        Endpoint endpoint = member.createEndpoint("relay-" + peer + "-" + room, w.link.channel(channel, true),
                new EndpointListener() {
                    @Override
                    public void onEndpointConnected(Endpoint e) {
                        DialedLink l = self[0];
                        if (l != null && l.answered) {
                            log.info("cascade: relay link from {} for room {} connected", peer, room);
                            onLinkConnected(l);
                        }
                    }

                    @Override
                    public void onEndpointClosed(Endpoint e, String reason) {
                        log.info("cascade: relay link from {} for room {} closed: {}", peer, room, reason);
                        if (wires.get(peer) == w) {
                            w.ownChannels.clear(channel);
                        }
                        DialedLink l = self[0];
                        if (l != null && dialed.getOrDefault(peer, Map.of()).get(room) == l) {
                            // Not closed by this node: its path broke (consent lost) or the far node closed it.
                            // Dialed again at once; if the path is blocked that setup fails, and only then does the
                            // peer's media count as unreachable (a busy moment must not send media around).
                            linkFailed(l, "closed: " + reason, false);
                        }
                    }
                });
        DialedLink link = new DialedLink(room, peer, member, endpoint, channel,
                RelayLink.ssrcBase(w.link.side(), channel));
        self[0] = link;
        dialed.computeIfAbsent(peer, k -> new HashMap<>()).put(room, link);
        bus.send(peer, message("link_offer", room).put("channel", channel));
        log.info("cascade: room {}: dialing a relay link from {} (channel {})", room, peer, channel);
        engine.control().schedule(() -> retryIfNotConnected(link), LINK_SETUP_TIMEOUT_MS,
                java.util.concurrent.TimeUnit.MILLISECONDS);
        return link;
    }

    /** A relay link that is not up this long after its offer is dialed again, with its tracks. */
    static final long LINK_SETUP_TIMEOUT_MS = 8_000;

    /**
     * A relay link not up {@value #LINK_SETUP_TIMEOUT_MS} ms after its offer: its peer's media cannot be reached
     * now. Its participants are taken through another peer that lists them, if one does (else the link is dialed
     * again, as the only way there is), and a probe link tries the direct path again later. Control thread.
     */
    private void retryIfNotConnected(DialedLink link) {
        Map<String, DialedLink> byRoom = dialed.get(link.peer);
        if (byRoom == null || byRoom.get(link.room) != link || link.isUp()) {
            return;
        }
        PeerWire w = wires.get(link.peer);
        if (w != null) {
            boolean answered = link.answered;
            w.link.progress().thenAccept(p -> log.warn(
                    "cascade: relay link from {} for room {} not up after {} ms (wire: {}; channel {})", link.peer,
                    link.room, LINK_SETUP_TIMEOUT_MS, p, answered ? "answered" : "not answered"));
        }
        linkFailed(link, "not up after " + LINK_SETUP_TIMEOUT_MS + " ms", true);
    }

    /**
     * A dialed link failed: it closes and the room's participants are applied again (dialed anew, or reached
     * another way). When {@code pathBroken} (not set up in time, consent lost) the peer's media counts as
     * unreachable until a probe link connects again.
     */
    private void linkFailed(DialedLink link, String why, boolean pathBroken) {
        Map<String, DialedLink> byRoom = dialed.get(link.peer);
        if (byRoom == null || byRoom.get(link.room) != link) {
            return;
        }
        log.warn("cascade: relay link from {} for room {} failed ({}); {}", link.peer, link.room, why,
                link.probe ? "probing again later" : "going around it where a peer can, else dialing again");
        byRoom.remove(link.room);
        bus.send(link.peer, message("link_close", link.room));
        link.member.close("relay link failed: " + why);
        boolean firstFailure = pathBroken && mediaDown.add(link.peer);
        if (link.probe) {
            if (!pathBroken) {
                scheduleProbe(link.peer, link.room); // closed under it (its wire replaced, say): probe again
            }
        } else {
            applyOthers(link.room, null); // through another peer now, or dialed again when there is none
        }
        if (firstFailure) {
            for (String room : rooms.roomNames()) {
                broadcastState(room, null); // this node no longer passes that peer's participants on
            }
        }
        if (pathBroken) {
            scheduleProbe(link.peer, link.room);
        }
    }

    /** In {@value #PROBE_MS} ms, a probe link to {@code peer} for {@code room} unless one is on its way. */
    private void scheduleProbe(String peer, String room) {
        java.util.concurrent.ScheduledFuture<?> pending = probeTimers.get(peer);
        if ((pending != null && !pending.isDone()) || probeDialed(peer)) {
            return;
        }
        probeTimers.put(peer, engine.control().schedule(() -> probe(peer, room), PROBE_MS,
                java.util.concurrent.TimeUnit.MILLISECONDS));
    }

    /** Whether a probe link to {@code peer} is on its way (dialed, not up, carrying nothing). */
    private boolean probeDialed(String peer) {
        for (DialedLink l : dialed.getOrDefault(peer, Map.of()).values()) {
            if (l.probe) {
                return true;
            }
        }
        return false;
    }

    /**
     * Dials a relay link to a peer whose media could not be reached, for a room whose participants there come
     * another way, carrying nothing: if it connects, the direct path works again and the room's routes are weighed
     * anew (the link then carries the tracks); if not, another probe follows.
     */
    private void probe(String peer, String room) {
        probeTimers.remove(peer);
        if (!mediaDown.contains(peer) || !remoteStates.containsKey(peer)) {
            return;
        }
        String target = room;
        if (rooms.coreRoom(target) == null || dialed.getOrDefault(peer, Map.of()).containsKey(target)) {
            target = null; // that room is gone here, or it dials the peer already: another room detouring, if any
            for (Map.Entry<String, Map<String, String>> e : new java.util.TreeMap<>(routes).entrySet()) {
                String via = e.getValue().get(peer);
                if (via != null && !via.equals(peer) && rooms.coreRoom(e.getKey()) != null
                        && !dialed.getOrDefault(peer, Map.of()).containsKey(e.getKey())) {
                    target = e.getKey();
                    break;
                }
            }
        }
        if (target == null) {
            mediaDown.remove(peer); // nothing goes around it any more: the next link to it will tell
            return;
        }
        DialedLink link = dial(peer, target, rooms.coreRoom(target));
        if (link == null) {
            scheduleProbe(peer, room); // no channel free now: later
            return;
        }
        link.probe = true;
        log.info("cascade: room {}: probing the relay path from {}", target, peer);
    }

    /** A dialed link is up: if it was a probe, the peer's media can be reached again and routes go direct. */
    private void onLinkConnected(DialedLink link) {
        if (link == null || !link.isUp() || !link.probe
                || dialed.getOrDefault(link.peer, Map.of()).get(link.room) != link) {
            return;
        }
        link.probe = false;
        pathWorks(link.peer);
        apply(link.peer, link.room); // the probe carries the room's tracks now, or closes if none come this way
    }

    /**
     * The relay path to {@code peer} carries media again (a channel on its wire is up, dialed here or by the peer):
     * it is no longer unreachable, and the routes go direct where that is shorter.
     */
    private void pathWorks(String peer) {
        boolean wasDown = mediaDown.remove(peer);
        if (wasDown) {
            log.info("cascade: the relay path from {} works again; its participants come directly", peer);
        }
        rerouteAll(wasDown); // and this node passes that peer's participants on again
    }

    /**
     * Weighs the routes of every room here again; a room whose routes moved is applied and its state sent to the
     * peers, as is every room when {@code broadcastAll} (what this node passes on changed). Control thread.
     */
    private void rerouteAll(boolean broadcastAll) {
        java.util.Set<String> roomNames = new java.util.TreeSet<>(routes.keySet());
        roomNames.addAll(rooms.roomNames());
        remoteStates.values().forEach(byRoom -> roomNames.addAll(byRoom.keySet()));
        for (String room : roomNames) {
            if (rooms.coreRoom(room) == null) {
                continue;
            }
            boolean moved = reroute(room);
            if (moved) {
                applyOthers(room, null);
            }
            if (moved || broadcastAll) {
                broadcastState(room, null);
            }
        }
    }

    private Track publishRemote(DialedLink link, String trackId, PublishedTrackInfo info) {
        int streams = Math.max(1, info.rids().size());
        if (link.nextSsrc + streams > RelayLink.STREAMS_PER_CHANNEL) {
            throw new IllegalStateException("relay channel " + link.channel + " from " + link.peer
                    + " has numbered all its streams"); // a million publications in one room's link: dial anew
        }
        long ssrc = link.ssrcBase + link.nextSsrc;
        link.nextSsrc += streams;
        int audioLevel = 0;
        int transportCc = 0;
        for (HeaderExtension e : info.extensions()) {
            if (AUDIO_LEVEL_URI.equals(e.uri()) && info.kind().equals("audio")) {
                audioLevel = e.id();
            } else if (PublisherAnswer.TRANSPORT_CC_URI.equals(e.uri())) {
                transportCc = e.id();
            }
        }
        // The relay keeps the publisher's numbering and extension ids: this node's consumers rewrite from them.
        ProducerParams params = new ProducerParams(info.mid(), TrackKind.of(info.kind()),
                Codec.fromName(info.codec().name()), info.codec().payloadType(), info.codec().clockRate(), ssrc, 0,
                true, audioLevel, info.rids(), 0, transportCc);
        Track track = link.member.publish(link.endpoint, trackId, params);
        link.tracks.put(trackId, track);
        link.probe = false; // it carries media now
        relayAgain(link.room, trackId, track);
        bus.send(link.peer, message("relay", link.room).put("trackId", trackId).put("ssrc", ssrc));
        return track;
    }

    /** The peer serves the room's channel: once the wire is up too, the link is. */
    private void onLinkAnswer(String peer, String room, ObjectNode m) {
        DialedLink link = dialed.getOrDefault(peer, Map.of()).get(room);
        int channel = TrackJson.number(m, "channel", 0, RelayLink.CHANNELS - 1);
        if (channel < 0) {
            bad(peer, "link_answer", "no channel");
            return;
        }
        if (link == null || channel != link.channel) {
            return; // answers a channel this node closed while the answer was on its way (a route moved, say)
        }
        if (link.answered) {
            return;
        }
        link.answered = true;
        boolean up = link.endpoint.isConnected();
        log.info("cascade: room {}: relay link from {} answered (channel {}){}", room, peer, channel,
                up ? "; connected (the wire is up)" : "");
        if (up) {
            onLinkConnected(link);
        }
    }

    /** The peer lost its end of a link this node receives on (its wire went or was replaced): dial it again. */
    private void onLinkLost(String peer, String room, ObjectNode m) {
        DialedLink link = dialed.getOrDefault(peer, Map.of()).get(room);
        int channel = TrackJson.number(m, "channel", 0, RelayLink.CHANNELS - 1);
        if (link == null || channel != link.channel) {
            return; // a link this node closed or replaced already
        }
        linkFailed(link, "lost at " + peer, false);
    }

    // ------------------------------------------------------------------------------------ the pair's wire

    /** The dialing peer offers the pair's wire: accept it on the link's worker, answer with where to reach it. */
    private void onPairOffer(String peer, ObjectNode m) {
        int number = TrackJson.number(m, "wire", 1, Integer.MAX_VALUE);
        String ufrag = TrackJson.ice(m, "ufrag");
        String pwd = TrackJson.ice(m, "pwd");
        String fingerprint = TrackJson.printable(m, "fingerprint", 128);
        if (number < 1 || ufrag == null || pwd == null || fingerprint == null) {
            bad(peer, "pair_offer", "fields missing");
            return;
        }
        if (nodeId.compareTo(peer) < 0) {
            bad(peer, "pair_offer", "this node dials the wire to " + peer); // both dialing would race forever
            return;
        }
        PeerWire w = wire(peer);
        IceCredentials local = IceCredentials.random();
        w.link.accept(local, ufrag, pwd, fingerprint);
        w.requestedAtNs = 0;
        InetSocketAddress media = linkAdvertiseFor.getOrDefault(peer,
                linkAdvertise != null ? linkAdvertise : w.link.worker().candidates().get(0));
        bus.send(peer, pairMessage("pair_answer").put("wire", number).put("ufrag", local.ufrag())
                .put("pwd", local.pwd()).put("fingerprint", engine.fingerprintSha256())
                .put("host", media.getHostString()).put("port", media.getPort()));
        log.info("cascade: accepting the relay wire from {} (worker {})", peer, w.link.worker().index());
    }

    /** The peer accepted the wire this node offered: connect to it (an answer to an older offer is stale). */
    private void onPairAnswer(String peer, ObjectNode m) {
        PeerWire w = wires.get(peer);
        int number = TrackJson.number(m, "wire", 1, Integer.MAX_VALUE);
        String ufrag = TrackJson.ice(m, "ufrag");
        String pwd = TrackJson.ice(m, "pwd");
        String fingerprint = TrackJson.printable(m, "fingerprint", 128);
        String host = TrackJson.printable(m, "host", 255);
        int port = TrackJson.number(m, "port", 1, 65535);
        if (w == null || !w.dials || ufrag == null || pwd == null || fingerprint == null || host == null
                || port < 1) {
            bad(peer, "pair_answer", "no wire offered or fields missing");
            return;
        }
        if (number != w.offered) {
            return; // a newer offer is out
        }
        log.info("cascade: relay wire to {} answered ({}:{}); connecting", peer, host, port);
        w.link.connect(new RtcClient.Remote(new InetSocketAddress(host, port), ufrag, pwd, "sha-256", fingerprint));
    }

    /** The accepting peer needs the wire and has none up: offer one unless one is up or on its way. */
    private void onPairRequest(String peer) {
        if (nodeId.compareTo(peer) > 0) {
            bad(peer, "pair_request", peer + " dials the wire to this node");
            return;
        }
        wire(peer).ensure();
    }

    // ------------------------------------------------------------------------------------ serving side

    /**
     * The peer receives {@code room} from this node on its channel {@code channel} of the pair's wire: a member
     * {@code to:<peer>} on the wire's worker serves it (what it asks for, with {@code relay}).
     */
    private void onLinkOffer(String peer, String room, ObjectNode m) {
        int channel = TrackJson.number(m, "channel", 0, RelayLink.CHANNELS - 1);
        Room core = rooms.coreRoom(room);
        if (channel < 0 || core == null && !othersHave(room, peer)) {
            bad(peer, "link_offer", channel < 0 ? "no channel" : "no such room here or on another peer");
            return;
        }
        // Held while a link is served: its media may pass through this node (even with no one in the room here).
        core = rooms.hold(room);
        boolean opened = holds.add(room) && rooms.localParticipants(room).isEmpty();
        closeServedLink(peer, room, "replaced by a new link");
        Map<String, ServedLink> byRoom = served.computeIfAbsent(peer, k -> new HashMap<>());
        for (Map.Entry<String, ServedLink> e : new ArrayList<>(byRoom.entrySet())) {
            if (e.getValue().channel == channel) { // the peer numbered another room so: that one is gone there
                closeServed(peer, e.getKey(), "channel " + channel + " taken by room " + room);
            }
        }
        PeerWire w = wire(peer);
        Member member = core.addMember("to:" + peer, w.link.worker());
        ServedLink[] self = new ServedLink[1];
        Endpoint endpoint = member.createEndpoint("relay-to-" + peer + "-" + room, w.link.channel(channel, false),
                new EndpointListener() {
                    @Override
                    public void onEndpointConnected(Endpoint e) {
                        if (self[0] != null && served.getOrDefault(peer, Map.of()).get(room) == self[0]
                                && mediaDown.contains(peer)) {
                            pathWorks(peer); // the peer's probe got through: the path works both ways
                        }
                    }

                    @Override
                    public void onEndpointClosed(Endpoint e, String reason) {
                        ServedLink l = self[0];
                        if (l != null && served.getOrDefault(peer, Map.of()).get(room) == l) {
                            // Not closed by this node: the wire under it closed or was replaced. The peer dials the
                            // room's link again when told (it may not see the wire go: a replacement is its own).
                            log.info("cascade: relay link to {} for room {} lost: {}", peer, room, reason);
                            bus.send(peer, message("link_lost", room).put("channel", l.channel));
                            closeServed(peer, room, reason);
                        }
                    }
                });
        self[0] = new ServedLink(member, endpoint, channel);
        byRoom.put(room, self[0]);
        bus.send(peer, message("link_answer", room).put("channel", channel));
        log.info("cascade: room {}: serving a relay link to {} (channel {}, worker {}){}", room, peer, channel,
                member.worker().index(), opened ? "; the room is open here to pass its other nodes' media on" : "");
        applyOthers(room, peer); // a room here only to pass media on now receives what this link may ask for
    }

    private void onRelay(String peer, String room, ObjectNode m) {
        ServedLink link = served.getOrDefault(peer, Map.of()).get(room);
        String trackId = TrackJson.text(m, "trackId");
        JsonNode ssrcNode = m.get("ssrc");
        PeerWire w = wires.get(peer);
        if (link == null || w == null || trackId == null || ssrcNode == null || !ssrcNode.canConvertToLong()) {
            bad(peer, "relay", "no such link or fields missing");
            return;
        }
        long base = RelayLink.ssrcBase(1 - w.link.side(), link.channel);
        long index = ssrcNode.asLong() - base;
        if (index < 0 || index + 4 > RelayLink.STREAMS_PER_CHANNEL) { // room for the layers of a simulcast track
            bad(peer, "relay", "SSRC " + ssrcNode.asLong() + " is not on channel " + link.channel);
            return;
        }
        if (link.relays.containsKey(trackId)) {
            return;
        }
        Track track = null;
        for (RoomManager.ParticipantView p : rooms.localParticipants(room)) {
            for (RoomManager.TrackView t : p.tracks()) {
                if (t.trackId().equals(trackId) && !t.track().isClosed()) {
                    track = t.track();
                }
            }
        }
        if (track == null) {
            track = transitTrack(room, trackId, peer);
        }
        if (track == null && announcedElsewhere(room, trackId, peer)) {
            link.ssrcs.put(trackId, ssrcNode.asLong()); // on its way here from its origin: relayed once it arrives
            return;
        }
        if (track == null) {
            bad(peer, "relay", "no such track");
            return;
        }
        link.ssrcs.put(trackId, ssrcNode.asLong());
        link.relays.put(trackId, rooms.coreRoom(room).relay(link.endpoint, track, ssrcNode.asLong()));
        countRelays();
    }

    /**
     * A track of {@code room} this node receives from a peer other than {@code requester} (which it passes on to a
     * peer cut off from that origin), null if none.
     */
    private Track transitTrack(String room, String trackId, String requester) {
        for (Map.Entry<String, Map<String, DialedLink>> e : dialed.entrySet()) {
            DialedLink from = e.getKey().equals(requester) ? null : e.getValue().get(room);
            Track t = from == null ? null : from.tracks.get(trackId);
            if (t != null && !t.isClosed()) {
                return t;
            }
        }
        return null;
    }

    /**
     * A remote track was published here again (a new relay link from its origin): the peers this node passes it on
     * to get the new copy, on the same link SSRC.
     */
    private void relayAgain(String room, String trackId, Track track) {
        for (Map<String, ServedLink> byRoom : served.values()) {
            ServedLink l = byRoom.get(room);
            Long ssrc = l == null ? null : l.ssrcs.get(trackId);
            if (ssrc == null) {
                continue;
            }
            Subscription old = l.relays.remove(trackId); // null: asked for before it arrived here
            if (old != null) {
                old.close();
            }
            l.relays.put(trackId, rooms.coreRoom(room).relay(l.endpoint, track, ssrc));
        }
        countRelays();
    }

    private void onUnrelay(String peer, String room, String trackId) {
        ServedLink link = served.getOrDefault(peer, Map.of()).get(room);
        Subscription s = link == null || trackId == null ? null : link.relays.remove(trackId); // a mutable map
        if (link != null && trackId != null) {
            link.ssrcs.remove(trackId);
        }
        if (s != null) {
            s.close();
        }
        countRelays();
    }

    private void closeServed(String peer, String room, String reason) {
        closeServedLink(peer, room, reason);
        releaseIfUnserved(room);
        if (rooms.coreRoom(room) != null) {
            applyOthers(room, peer); // a room here only to pass media on may need less now
        }
    }

    private void closeServedLink(String peer, String room, String reason) {
        Map<String, ServedLink> byRoom = served.get(peer);
        ServedLink link = byRoom == null ? null : byRoom.remove(room);
        if (link != null) {
            link.member.close(reason);
        }
        countRelays();
    }
}
