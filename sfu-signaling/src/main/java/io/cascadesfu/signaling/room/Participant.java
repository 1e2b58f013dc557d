package io.cascadesfu.signaling.room;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.room.Member;
import io.cascadesfu.core.room.Subscription;
import io.cascadesfu.core.room.Track;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.signaling.SignalingConfig;
import io.cascadesfu.signaling.auth.Grants;
import io.cascadesfu.signaling.sdp.CodecDescription;
import io.cascadesfu.signaling.sdp.HeaderExtension;
import io.cascadesfu.signaling.sdp.LocalTransportParams;
import io.cascadesfu.signaling.sdp.MediaSection;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;
import io.cascadesfu.signaling.sdp.PublisherAnswer;
import io.cascadesfu.signaling.sdp.SdpException;
import io.cascadesfu.signaling.sdp.SdpParser;
import io.cascadesfu.signaling.sdp.SessionDescription;
import io.cascadesfu.signaling.sdp.SubscriberOffer;
import io.cascadesfu.signaling.sdp.SubscriberSlot;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One participant's signaling state: its publish PC (it offers, the node answers) and its
 * subscribe PC (the node offers one m-section per remote track, it answers).
 *
 * <p>Its media lives in the core: a {@link Member} of the room placed on one worker, with an {@link Endpoint}
 * per PC, a {@link Track} per published m-section and a {@link Subscription} per active subscribe m-section.
 *
 * <p>Threading: the engine's control thread only (the signaling socket hands every message over to it).
 */
final class Participant implements EndpointListener, TrackSource {
    private static final Logger log = LoggerFactory.getLogger(Participant.class);
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    final String id;
    final String identity;
    final String name;
    final Grants grants;
    final ClientConnection connection;
    final java.time.Instant joinedAt = java.time.Instant.now();
    private final Room room;
    private final RoomManager manager;
    private final Member member;

    // Publish side.
    private Endpoint publishEndpoint;
    private final Map<String, PublishedTrack> published = new LinkedHashMap<>(); // by publisher mid
    private String publishRemoteUfrag;

    // Subscribe side.
    private Endpoint subscribeEndpoint;
    private final SubscribeSections sections;
    /** The subscribe PC's m-sections, in order (a view of {@link #sections}). */
    private final List<SubscriberSlotState> slots;
    private final long subscribeSessionId = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 2);
    private long subscribeVersion;
    private boolean awaitingAnswer;
    private boolean subscriptionsDirty;
    /** A track found no section (the PC is full): try again once the client answered. */
    private boolean waitingForSection;
    private boolean left;

    Participant(String id, String identity, String name, Grants grants, ClientConnection connection, Room room,
                RoomManager manager) {
        this.id = id;
        this.identity = identity;
        this.name = name;
        this.grants = grants;
        this.connection = connection;
        this.room = room;
        this.manager = manager;
        this.member = room.core.addMember(id);
        this.sections = new SubscribeSections(manager.config().maxSubscribeSections());
        this.slots = sections.all();
    }

    // ---------------------------------------------------------------- JSON views

    @Override
    public String id() {
        return id;
    }

    @Override
    public Collection<PublishedTrack> publishedTracks() {
        return published.values();
    }

    @Override
    public ObjectNode describe() {
        ObjectNode p = JSON.objectNode();
        p.put("participantId", id);
        p.put("identity", identity);
        p.put("name", name);
        if (manager.nodeId() != null) {
            p.put("node", manager.nodeId());
        }
        ArrayNode tracks = p.putArray("tracks");
        for (PublishedTrack t : published.values()) {
            tracks.add(describe(t));
        }
        return p;
    }

    static ObjectNode describe(PublishedTrack t) {
        ObjectNode n = JSON.objectNode();
        n.put("trackId", t.trackId);
        n.put("kind", t.kind());
        n.put("mid", t.info.mid());
        n.put("muted", t.muted);
        n.put("codec", t.info.codec().name());
        if (!t.info.rids().isEmpty()) {
            n.put("layers", t.info.rids().size());
        }
        return n;
    }


    // ---------------------------------------------------------------- publish

    /** Handles {@code publish_offer}: answers it and reconciles the published tracks. */
    ObjectNode onPublishOffer(String sdp) throws SignalingException {
        if (!grants.publish()) {
            throw new SignalingException("forbidden", "this token may not publish");
        }
        SessionDescription offer = parse(sdp);
        if (publishEndpoint == null) {
            publishEndpoint = member.createWebRtcEndpoint(id + "-pub", this);
        } else if (!offer.iceUfrag().equals(publishRemoteUfrag)) {
            publishEndpoint.restartIce(); // the client restarted ICE: so do we (RFC 8839 4.4.1.1.1)
        }
        publishRemoteUfrag = offer.iceUfrag();
        PublisherAnswer.Result answer;
        try {
            answer = PublisherAnswer.build(offer, localParams(publishEndpoint), manager.config().videoCodecs(),
                    SubscriberMedia.PUBLISHER_EXTENSIONS);
        } catch (SdpException e) {
            throw new SignalingException("bad_sdp", e.getMessage());
        }
        checkTrackLimits(answer.tracks());
        publishEndpoint.setRemoteParameters(offer.iceUfrag(), offer.icePwd(), offer.fingerprintAlgorithm(),
                offer.fingerprint());

        Map<String, PublishedTrackInfo> accepted = new HashMap<>();
        for (PublishedTrackInfo info : answer.tracks()) {
            accepted.put(info.mid(), info);
        }
        boolean changed = false;
        for (PublishedTrack t : new ArrayList<>(published.values())) {
            PublishedTrackInfo now = accepted.get(t.info.mid());
            if (now == null || !sameStream(now, t.info)) {
                unpublish(t);
                changed = true;
            }
        }
        ArrayNode tracks = JSON.arrayNode();
        for (PublishedTrackInfo info : answer.tracks()) {
            PublishedTrack t = published.get(info.mid());
            if (t == null) {
                t = publish(info);
                changed = true;
            }
            tracks.add(describe(t));
        }
        ObjectNode reply = JSON.objectNode();
        reply.put("type", "publish_answer");
        reply.put("sdp", answer.sdp());
        reply.set("tracks", tracks);
        if (changed) {
            room.refreshSubscriptions(this);
            manager.localStateChanged(room);
        }
        return reply;
    }

    /**
     * Refuses an offer with more tracks than a participant may publish, or that would take the room past its
     * track limit: every track is an m-section in every other member's subscribe offer, and those must stay within
     * what a browser's answer can carry back under the message limit.
     */
    private void checkTrackLimits(List<PublishedTrackInfo> offered) throws SignalingException {
        SignalingConfig config = manager.config();
        if (offered.size() > config.maxTracksPerParticipant()) {
            throw new SignalingException("too_many_tracks", "at most " + config.maxTracksPerParticipant()
                    + " tracks per participant, the offer has " + offered.size());
        }
        int others = 0;
        for (Participant p : room.others(this)) {
            others += p.published.size();
        }
        if (others + offered.size() > config.maxTracksPerRoom()) {
            throw new SignalingException("too_many_tracks", "the room holds at most " + config.maxTracksPerRoom()
                    + " tracks; it has " + others + " from others and the offer adds " + offered.size());
        }
    }

    private static boolean sameStream(PublishedTrackInfo a, PublishedTrackInfo b) {
        return a.kind().equals(b.kind()) && a.ssrc() == b.ssrc() && a.rids().equals(b.rids())
                && a.codec().payloadType() == b.codec().payloadType()
                && a.codec().name().equalsIgnoreCase(b.codec().name());
    }

    private PublishedTrack publish(PublishedTrackInfo info) {
        TrackKind kind = TrackKind.of(info.kind());
        CodecDescription c = info.codec();
        int midExt = 0;
        int levelExt = 0;
        int ridExt = 0;
        int twccExt = 0;
        boolean twccFeedback = c.rtcpFeedback().contains("transport-cc");
        for (HeaderExtension e : info.extensions()) {
            if (SubscriberMedia.MID_URI.equals(e.uri())) {
                midExt = e.id();
            } else if (SubscriberMedia.RID_URI.equals(e.uri())) {
                ridExt = e.id();
            } else if (PublisherAnswer.TRANSPORT_CC_URI.equals(e.uri()) && twccFeedback) {
                twccExt = e.id();
            } else if (SubscriberMedia.AUDIO_LEVEL_URI.equals(e.uri()) && kind == TrackKind.AUDIO) {
                levelExt = e.id();
            }
        }
        String trackId = RoomManager.newId("TR_");
        ProducerParams params = new ProducerParams(info.mid(), kind, Codec.fromName(c.name()), c.payloadType(),
                c.clockRate(), info.ssrc(), midExt, true, levelExt, info.rids(), ridExt, twccExt,
                kind == TrackKind.AUDIO && c.rtcpFeedback().contains("nack"));
        Track track = member.publish(publishEndpoint, trackId, params);
        PublishedTrack t = new PublishedTrack(trackId, info, track);
        published.put(info.mid(), t);
        log.info("room={} participant={} published {} track {} ({}, {})", room.name, id, info.kind(), trackId,
                c.name(), info.rids().isEmpty() ? "ssrc " + info.ssrc() : "simulcast " + info.rids());
        ObjectNode event = JSON.objectNode();
        event.put("type", "track_published");
        event.put("participantId", id);
        event.set("track", describe(t));
        room.broadcast(this, event);
        return t;
    }

    private void unpublish(PublishedTrack t) {
        published.remove(t.info.mid(), t);
        member.unpublish(t.track);
        log.info("room={} participant={} unpublished track {}", room.name, id, t.trackId);
        ObjectNode event = JSON.objectNode();
        event.put("type", "track_unpublished");
        event.put("participantId", id);
        event.put("trackId", t.trackId);
        room.broadcast(this, event);
    }

    /** Handles {@code mute}. */
    void onMute(String trackId, boolean muted) throws SignalingException {
        for (PublishedTrack t : published.values()) {
            if (t.trackId.equals(trackId)) {
                setMuted(t, muted, false);
                return;
            }
        }
        throw new SignalingException("unknown_track", "no published track " + trackId);
    }

    /**
     * The operator mutes or unmutes one of this participant's tracks (admin API): the others are told as for
     * {@code mute}, and so is this participant, which did not ask. Returns whether the state changed.
     */
    boolean muteByOperator(PublishedTrack t, boolean muted) {
        if (t.track != null) {
            t.track.setPaused(muted); // the media stops too, not only the signalled state
        }
        return setMuted(t, muted, true);
    }

    private boolean setMuted(PublishedTrack t, boolean muted, boolean tellSelf) {
        if (t.muted == muted) {
            return false;
        }
        t.muted = muted;
        if (!muted && t.track != null) {
            t.track.setPaused(false); // unmuted by its publisher: what an operator paused flows again
        }
        ObjectNode event = JSON.objectNode();
        event.put("type", "track_muted");
        event.put("participantId", id);
        event.put("trackId", t.trackId);
        event.put("muted", muted);
        room.broadcast(this, event);
        if (tellSelf) {
            connection.send(event);
        }
        manager.localStateChanged(room);
        return true;
    }

    // ---------------------------------------------------------------- subscribe

    /**
     * Brings the subscribe PC in line with the room: one active m-section per track of every other
     * participant. Sends a new offer, or notes that one is due once the pending one is answered.
     */
    void updateSubscriptions() {
        if (left || !grants.subscribe()) {
            return;
        }
        boolean changed = false;
        // Tracks that went away: stop at once, keep the m-section for reuse.
        for (SubscriberSlotState s : slots) {
            if (s.source != null && (s.sourceOwner.hasLeft() || s.source.track.isClosed())) {
                deactivate(s);
                changed = true;
            }
        }
        // Tracks not received yet.
        boolean wasWaiting = waitingForSection;
        waitingForSection = false;
        for (TrackSource other : room.sourcesOtherThan(this)) {
            for (PublishedTrack t : other.publishedTracks()) {
                if (findSlot(t) != null) {
                    continue;
                }
                if (sections.assign(t, other) != null) {
                    changed = true;
                } else {
                    if (!wasWaiting && !waitingForSection) {
                        log.warn("room={} participant={} subscribe PC has {} m-sections, none free for {} track {}:"
                                + " it waits for one", room.name, id, slots.size(), t.kind(), t.trackId);
                    }
                    waitingForSection = true;
                }
            }
        }
        if (!changed && slots.stream().noneMatch(SubscriberSlotState::needsOffer)) {
            return;
        }
        if (awaitingAnswer) {
            subscriptionsDirty = true; // folded into the next offer, once this one is answered
            return;
        }
        sendSubscribeOffer();
    }

    private SubscriberSlotState findSlot(PublishedTrack t) {
        for (SubscriberSlotState s : slots) {
            if (s.source == t) {
                return s;
            }
        }
        return null;
    }

    private void deactivate(SubscriberSlotState s) {
        sections.deactivate(s);
    }

    private void sendSubscribeOffer() {
        if (subscribeEndpoint == null) {
            subscribeEndpoint = member.createWebRtcEndpoint(id + "-sub", this);
        }
        List<SubscriberSlot> desc = sections.describeForOffer();
        ArrayNode tracks = JSON.arrayNode();
        for (SubscriberSlotState s : slots) {
            if (s.source != null) {
                ObjectNode n = tracks.addObject();
                n.put("mid", s.mid);
                n.put("participantId", s.sourceOwner.id());
                n.put("trackId", s.source.trackId);
                n.put("kind", s.kind.sdpName());
            }
        }
        subscribeVersion++;
        String sdp = SubscriberOffer.build(localParams(subscribeEndpoint), subscribeSessionId, subscribeVersion, desc);
        awaitingAnswer = true;
        ObjectNode offer = JSON.objectNode();
        offer.put("type", "subscribe_offer");
        offer.put("sdp", sdp);
        offer.put("version", subscribeVersion);
        offer.set("tracks", tracks);
        connection.send(offer);
    }

    /** Handles {@code subscribe_answer}. */
    void onSubscribeAnswer(String sdp, long version) throws SignalingException {
        if (!awaitingAnswer || version != subscribeVersion) {
            throw new SignalingException("bad_request", "no subscribe offer with version " + version + " is pending");
        }
        SessionDescription answer = parse(sdp);
        if (!"active".equals(answer.setup())) {
            // The node is always the DTLS server; an answer of passive would make both sides wait.
            throw new SignalingException("bad_sdp", "the subscribe answer must say a=setup:active");
        }
        subscribeEndpoint.setRemoteParameters(answer.iceUfrag(), answer.icePwd(), answer.fingerprintAlgorithm(),
                answer.fingerprint());
        Map<String, MediaSection> byMid = new HashMap<>();
        for (MediaSection m : answer.media()) {
            byMid.put(m.mid(), m);
        }
        awaitingAnswer = false;
        sections.onOfferAnswered();
        for (SubscriberSlotState s : slots) {
            if (!s.offered || !s.offeredActive) {
                continue; // assigned after the offer went out (it goes in the next one), or inactive
            }
            if (s.source == null) {
                continue; // the track went away after the offer: the next offer makes it inactive
            }
            if (s.subscription != null) {
                continue;
            }
            MediaSection m = byMid.get(s.mid);
            if (m == null || m.rejected() || m.direction().equals("inactive") || m.direction().equals("sendonly")) {
                s.rejected = true;
                continue;
            }
            if (s.source.track.isClosed()) {
                continue; // went away meanwhile; the next update deactivates it
            }
            ConsumerParams params = SubscriberMedia.consumerParams(s.kind, s.source.info, s.ssrc, s.rtxSsrc, m);
            s.subscription = room.core.subscribe(subscribeEndpoint, s.source.track, params);
            if (!s.settings.equals(TrackSettings.DEFAULT)) {
                s.subscription.setPreference(s.settings.coreMaxLayer(), s.settings.height());
            }
        }
        if (subscriptionsDirty || waitingForSection) {
            subscriptionsDirty = false;
            updateSubscriptions();
        }
    }

    /**
     * Handles {@code track_settings}: what this subscriber wants of a video it receives. Settings for a track it
     * does not receive (any more: the publisher may just have left) are ignored.
     */
    void onTrackSettings(String trackId, TrackSettings settings) {
        for (SubscriberSlotState s : slots) {
            if (s.source != null && s.source.trackId.equals(trackId)) {
                s.settings = settings;
                if (s.subscription != null) {
                    s.subscription.setPreference(settings.coreMaxLayer(), settings.height());
                }
                return;
            }
        }
    }

    // ---------------------------------------------------------------- transports

    @Override
    public void onEndpointConnected(Endpoint endpoint) {
        log.info("room={} participant={} {} transport connected (worker {})", room.name, id,
                endpoint == publishEndpoint ? "publish" : "subscribe", endpoint.worker().index());
    }

    @Override
    public void onEndpointClosed(Endpoint endpoint, String reason) {
        if (left) {
            return;
        }
        log.info("room={} participant={} transport {} closed: {}", room.name, id, endpoint.id(), reason);
        connection.closeWithError("transport_closed", "media transport closed: " + reason);
        manager.leave(this, "transport closed: " + reason);
    }

    /** Tears down everything of this participant. Called once by {@link RoomManager#leave}. */
    void close() {
        if (left) {
            return;
        }
        left = true;
        published.clear();
        for (SubscriberSlotState s : slots) {
            deactivate(s);
        }
        member.close("participant left");
    }

    /** Tracks of others this participant receives now (answered, active m-sections of its subscribe PC). */
    int subscriptionCount() {
        int n = 0;
        for (SubscriberSlotState s : slots) {
            if (s.subscription != null) {
                n++;
            }
        }
        return n;
    }

    /** The worker this participant's media is on. */
    int workerIndex() {
        return member.worker().index();
    }

    Room room() {
        return room;
    }

    @Override
    public boolean hasLeft() {
        return left;
    }

    private LocalTransportParams localParams(Endpoint e) {
        IceCredentials c = e.localCredentials();
        return new LocalTransportParams(c.ufrag(), c.pwd(), manager.engine().fingerprintSha256(), e.candidates(),
                e.tcpCandidates());
    }

    private static SessionDescription parse(String sdp) throws SignalingException {
        if (sdp == null) {
            throw new SignalingException("bad_request", "sdp missing");
        }
        try {
            return SdpParser.parse(sdp);
        } catch (SdpException e) {
            throw new SignalingException("bad_sdp", e.getMessage());
        }
    }
}
