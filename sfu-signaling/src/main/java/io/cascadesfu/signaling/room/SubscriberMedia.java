package io.cascadesfu.signaling.room;

import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.signaling.sdp.CodecDescription;
import io.cascadesfu.signaling.sdp.HeaderExtension;
import io.cascadesfu.signaling.sdp.MediaSection;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;
import io.cascadesfu.signaling.sdp.PublisherAnswer;
import io.cascadesfu.signaling.sdp.SubscriberSlot;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What the node negotiates on subscribe PCs. Payload types and header extension ids are fixed per
 * codec and URI here, not copied from each publisher: with BUNDLE, one subscribe PC carries tracks of
 * publishers that numbered them differently (Chromium and Firefox do), and each consumer rewrites to
 * these values.
 */
final class SubscriberMedia {
    static final String MID_URI = PublisherAnswer.MID_URI;
    static final String RID_URI = PublisherAnswer.RID_URI;
    static final String AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    static final String VIDEO_ORIENTATION_URI = "urn:3gpp:video-orientation";
    static final String ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

    /** Extensions the node accepts from publishers. */
    static final Set<String> PUBLISHER_EXTENSIONS = Set.of(MID_URI, RID_URI, AUDIO_LEVEL_URI,
            VIDEO_ORIENTATION_URI, PublisherAnswer.TRANSPORT_CC_URI);

    static final String TRANSPORT_CC_URI = PublisherAnswer.TRANSPORT_CC_URI;

    /** Subscriber-side ids: the same URI has the same id in every m-section (RFC 8843 bundle rule). */
    private static final Map<String, Integer> SUBSCRIBER_EXTENSION_IDS = Map.of(
            AUDIO_LEVEL_URI, 1,
            VIDEO_ORIENTATION_URI, 2,
            TRANSPORT_CC_URI, 3);
    /**
     * Subscriber-side id of sdes:mid (RFC 8843), offered in every section: the node writes each section's own
     * mid into the packets it sends there. Not in {@link #SUBSCRIBER_EXTENSION_IDS}: the publisher's mid element
     * names the publisher's section, so it is removed, not renumbered.
     */
    static final int SUBSCRIBER_MID_ID = 4;
    /** rtcp-fb offered on subscribe sections. */
    private static final List<String> VIDEO_FEEDBACK = List.of("nack", "nack pli", "ccm fir", "transport-cc");
    /** Audio offers NACK too: a subscriber that takes it (the client library does) gets lost audio resent. */
    private static final List<String> AUDIO_FEEDBACK = List.of("nack", "transport-cc");

    private static final Map<String, Integer> PAYLOAD_TYPES = Map.of(
            "opus", 111,
            "vp8", 96,
            "vp9", 98,
            "h264", 102,
            "av1", 45);

    private SubscriberMedia() {
    }

    static int payloadType(CodecDescription codec) {
        Integer pt = PAYLOAD_TYPES.get(codec.name().toLowerCase(Locale.ROOT));
        return pt == null ? codec.payloadType() : pt;
    }

    static List<HeaderExtension> extensions(TrackKind kind) {
        String uri = kind == TrackKind.AUDIO ? AUDIO_LEVEL_URI : VIDEO_ORIENTATION_URI;
        return List.of(new HeaderExtension(SUBSCRIBER_MID_ID, MID_URI),
                new HeaderExtension(SUBSCRIBER_EXTENSION_IDS.get(uri), uri),
                new HeaderExtension(SUBSCRIBER_EXTENSION_IDS.get(TRANSPORT_CC_URI), TRANSPORT_CC_URI));
    }

    /** The red payload type offered with Opus when the publisher sends red (RFC 2198). */
    static final int RED_PAYLOAD_TYPE = 63;

    /** The rtx payload type offered with a video payload type: the next one (97 for VP8's 96, ...). */
    static int rtxPayloadType(int payloadType) {
        return payloadType + 1;
    }

    /**
     * The m-section description of one slot; {@code source == null} makes it inactive. Video is offered with rtx
     * (RFC 4588) on {@code rtxSsrc}.
     */
    static SubscriberSlot slot(String mid, TrackKind kind, PublishedTrackInfo source, String participantId,
                               String trackId, long ssrc, long rtxSsrc) {
        CodecDescription codec;
        if (source == null) {
            codec = kind == TrackKind.AUDIO
                    ? new CodecDescription(111, "opus", 48000, 2, "minptime=10;useinbandfec=1", AUDIO_FEEDBACK, -1)
                    : new CodecDescription(96, "VP8", 90000, 0, "", VIDEO_FEEDBACK, -1);
            return new SubscriberSlot(mid, kind.sdpName(), false, codec, extensions(kind), ssrc, "sfu", "-", "-");
        }
        CodecDescription c = source.codec();
        boolean video = kind == TrackKind.VIDEO;
        int pt = payloadType(c);
        codec = new CodecDescription(pt, c.name(), c.clockRate(), c.channels(), c.fmtp(),
                video ? VIDEO_FEEDBACK : AUDIO_FEEDBACK, video && rtxSsrc >= 0 ? rtxPayloadType(pt) : -1,
                !video && c.redPayloadType() >= 0 ? RED_PAYLOAD_TYPE : -1);
        return new SubscriberSlot(mid, kind.sdpName(), true, codec, extensions(kind), ssrc, participantId,
                participantId, trackId, video ? rtxSsrc : -1);
    }

    /**
     * How a consumer rewrites the publisher's packets for this subscriber, given the section of its answer:
     * header extensions it did not accept are removed, rtx is used if it accepted it, and the section's mid is
     * written into every packet if it accepted sdes:mid.
     */
    static ConsumerParams consumerParams(TrackKind kind, PublishedTrackInfo source, long ssrc, long rtxSsrc,
                                         MediaSection answered) {
        java.util.Set<String> accepted = new java.util.HashSet<>();
        for (HeaderExtension e : answered.extensions()) {
            accepted.add(e.uri());
        }
        byte[] ids = new byte[256];
        for (HeaderExtension e : source.extensions()) {
            Integer to = SUBSCRIBER_EXTENSION_IDS.get(e.uri());
            if (to != null && e.id() > 0 && e.id() < 256 && accepted.contains(e.uri())) {
                ids[e.id()] = (byte) (int) to;
            }
        }
        int pt = payloadType(source.codec());
        // What the answer took of the codec offered: rtx (video), red and NACK (audio).
        int rtxPt = -1;
        boolean redTaken = false;
        boolean audioNack = false;
        for (CodecDescription c : answered.codecs()) {
            if (c.payloadType() != pt) {
                continue;
            }
            if (kind == TrackKind.VIDEO && rtxSsrc >= 0 && c.rtxPayloadType() == rtxPayloadType(pt)) {
                rtxPt = c.rtxPayloadType();
            }
            redTaken |= c.redPayloadType() == RED_PAYLOAD_TYPE;
            audioNack |= kind == TrackKind.AUDIO && c.rtcpFeedback().contains("nack");
        }
        ConsumerParams.RedMapping red = kind == TrackKind.AUDIO && source.codec().redPayloadType() >= 0
                ? new ConsumerParams.RedMapping(source.codec().redPayloadType(), source.codec().payloadType(),
                        redTaken ? RED_PAYLOAD_TYPE : -1, pt)
                : null;
        boolean mid = accepted.contains(MID_URI);
        return new ConsumerParams(ssrc, pt, ids, rtxPt < 0 ? -1 : rtxSsrc, rtxPt, red,
                mid ? SUBSCRIBER_MID_ID : 0, mid ? answered.mid() : null, audioNack);
    }

    /** A random SSRC not in {@code taken}. */
    static long newSsrc(long[] taken) {
        while (true) {
            long ssrc = ThreadLocalRandom.current().nextLong(1, 0xFFFF_FFFFL);
            boolean clash = false;
            for (long t : taken) {
                clash |= t == ssrc;
            }
            if (!clash) {
                return ssrc;
            }
        }
    }
}
