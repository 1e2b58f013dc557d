package io.cascadesfu.signaling.room;

import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.signaling.sdp.SdpParser;
import io.cascadesfu.signaling.sdp.SubscriberSlot;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.LongStream;

/**
 * The m-sections of one subscribe PC, in m-line order, and the reuse policy: which section a new track goes in.
 *
 * <p>A new track gets a <b>new</b> section (new mid) while the PC has fewer than {@code maxSubscribeSections}.
 * Beyond that it reuses, of the sections of its kind that the client has seen inactive, the one that has been
 * inactive longest. Failing that it gets a new section again (an active track needs one), up to
 * {@link #MAX_SECTIONS}, the most the node accepts in an answer; past that it waits for a section to be freed.
 * A section never changes kind.
 *
 * <p>Why new sections first: a client that routes incoming RTP by SSRC and keeps a section's receiver once it
 * has seen it (aiortc) misses a reused section's new SSRCs; browsers manage either way. The bound keeps the SDP
 * small in rooms with much coming and going.
 *
 * <p>Threading: the engine's control thread only, like its {@link Participant}.
 */
final class SubscribeSections {
    /** Most sections a subscribe PC may have: the node parses the client's answer, with every section. */
    static final int MAX_SECTIONS = SdpParser.MAX_MEDIA_SECTIONS;

    private final int maxSubscribeSections;
    private final List<SubscriberSlotState> slots = new ArrayList<>();
    private final List<SubscriberSlotState> view = Collections.unmodifiableList(slots);
    private long deactivations;

    SubscribeSections(int maxSubscribeSections) {
        if (maxSubscribeSections < 1) {
            throw new IllegalArgumentException("maxSubscribeSections must be at least 1");
        }
        this.maxSubscribeSections = Math.min(maxSubscribeSections, MAX_SECTIONS);
    }

    /** Every section, in m-line order. */
    List<SubscriberSlotState> all() {
        return view;
    }

    /**
     * Puts {@code t} in a section (see the class comment), with new SSRCs. Returns the section, or null if the PC
     * has {@link #MAX_SECTIONS} sections and none of this kind may be reused yet.
     */
    SubscriberSlotState assign(PublishedTrack t, TrackSource owner) {
        TrackKind kind = TrackKind.of(t.kind());
        SubscriberSlotState slot = place(kind);
        if (slot == null) {
            return null;
        }
        slot.source = t;
        slot.sourceOwner = owner;
        long[] taken = slots.stream().flatMapToLong(s -> LongStream.of(s.ssrc, s.rtxSsrc)).toArray();
        slot.ssrc = SubscriberMedia.newSsrc(taken);
        slot.rtxSsrc = kind == TrackKind.VIDEO
                ? SubscriberMedia.newSsrc(LongStream.concat(LongStream.of(taken), LongStream.of(slot.ssrc)).toArray())
                : -1;
        slot.rejected = false;
        slot.reusable = false;
        slot.offered = false;
        slot.settings = TrackSettings.DEFAULT;
        return slot;
    }

    private SubscriberSlotState place(TrackKind kind) {
        if (slots.size() < maxSubscribeSections) {
            return add(kind);
        }
        SubscriberSlotState oldest = null;
        for (SubscriberSlotState s : slots) {
            if (s.source == null && s.kind == kind && s.reusable
                    && (oldest == null || s.inactiveSince < oldest.inactiveSince)) {
                oldest = s;
            }
        }
        if (oldest != null) {
            return oldest;
        }
        return slots.size() < MAX_SECTIONS ? add(kind) : null;
    }

    private SubscriberSlotState add(TrackKind kind) {
        SubscriberSlotState slot = new SubscriberSlotState(String.valueOf(slots.size()), kind);
        slots.add(slot);
        return slot;
    }

    /** The section's track went away: it stops at once and is kept, inactive, for reuse. */
    void deactivate(SubscriberSlotState s) {
        if (s.subscription != null) {
            s.subscription.close();
            s.subscription = null;
        }
        if (s.source != null) {
            s.inactiveSince = ++deactivations;
        }
        s.source = null;
        s.sourceOwner = null;
    }

    /**
     * The m-sections of the next offer, in order; each is marked as offered as it is now. Inactive sections
     * announce no track.
     */
    List<SubscriberSlot> describeForOffer() {
        List<SubscriberSlot> desc = new ArrayList<>(slots.size());
        for (SubscriberSlotState s : slots) {
            boolean active = s.source != null;
            desc.add(SubscriberMedia.slot(s.mid, s.kind, active ? s.source.info : null,
                    active ? s.sourceOwner.id() : null, active ? s.source.trackId : null, s.ssrc, s.rtxSsrc));
            s.offered = true;
            s.offeredActive = active;
        }
        return desc;
    }

    /** The client answered the last offer: the sections it saw inactive, and still are, may carry a new track. */
    void onOfferAnswered() {
        for (SubscriberSlotState s : slots) {
            if (s.offered && !s.offeredActive && s.source == null) {
                s.reusable = true;
            }
        }
    }
}
