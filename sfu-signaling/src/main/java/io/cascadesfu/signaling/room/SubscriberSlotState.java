package io.cascadesfu.signaling.room;

import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.room.Subscription;

/**
 * One m-section of a subscribe PC and what it carries now. Lives as long as the PC: a section is never removed,
 * only made inactive, and {@link SubscribeSections} decides when it carries another track. Control thread only.
 */
final class SubscriberSlotState {
    final String mid;
    final TrackKind kind;
    PublishedTrack source;      // null: inactive
    TrackSource sourceOwner;
    long ssrc;
    /** Video: the SSRC retransmissions (RFC 4588) and probes go on. */
    long rtxSsrc = -1;
    Subscription subscription;  // made once the client answered an offer with this slot active
    /** The client refused the m-section in its answer: nothing is sent on it. */
    boolean rejected;
    /** Inactive in an offer the client has answered: may carry another track now. */
    boolean reusable;
    /** When it went inactive, in {@link SubscribeSections}' order: the lowest is reused first. */
    long inactiveSince;
    /** What the client asked of this video ({@code track_settings}); kept across re-subscriptions. */
    TrackSettings settings = TrackSettings.DEFAULT;
    /** Part of the last offer sent, and whether it was active there. */
    boolean offered;
    boolean offeredActive;

    SubscriberSlotState(String mid, TrackKind kind) {
        this.mid = mid;
        this.kind = kind;
    }

    /** The client has not yet seen what this slot now carries. */
    boolean needsOffer() {
        return !offered || offeredActive != (source != null);
    }
}
