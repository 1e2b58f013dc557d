package io.cascadesfu.signaling.sdp;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Writes the server's offer for a browser's subscribe PeerConnection, where the server sends one m-section per
 * forwarded track and the browser answers.
 *
 * <p><b>DTLS role.</b> The server must stay DTLS server, but RFC 5763 section 5 requires an offerer to write
 * {@code a=setup:actpass}; {@code passive} in an offer is not allowed. The offer therefore says actpass, and
 * browsers answering actpass choose {@code active} (JSEP, RFC 8829 section 5.3.1), which leaves the server passive.
 * The signaling layer should check that the browser's answer says {@code a=setup:active}.
 *
 * <p><b>Renegotiation.</b> Slots are never removed, only made inactive, so the m-line order stays stable; the caller
 * passes a {@code sessionVersion} that increases with every offer on the same {@code sessionId} (RFC 8866 o=).
 *
 * <p>Stateless and thread-safe.
 */
public final class SubscriberOffer {

    private SubscriberOffer() {
    }

    /**
     * Builds a complete offer: session-level a=ice-lite, a BUNDLE group of all slot mids and msid-semantic; then per
     * slot mid, sendonly or inactive, rtcp-mux, rtcp-rsize, ICE credentials, fingerprint, setup:actpass, extmaps, the
     * codec (and its rtx if {@code rtxPayloadType >= 0}), and for active slots a=msid and a=ssrc cname/msid. The
     * host candidates and a=end-of-candidates go in the first section.
     *
     * @throws IllegalArgumentException if there is no slot, a mid repeats, a kind is not audio/video, or a value
     *                                  would not be one SDP token (whitespace or line breaks)
     */
    public static String build(LocalTransportParams local, long sessionId, long sessionVersion,
            List<SubscriberSlot> slots) {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(slots, "slots");
        if (slots.isEmpty()) {
            throw new IllegalArgumentException("a subscriber offer needs at least one slot");
        }
        if (sessionId < 0 || sessionVersion < 0) {
            throw new IllegalArgumentException("sessionId and sessionVersion must not be negative");
        }
        List<String> mids = new ArrayList<>();
        Set<String> streamIds = new HashSet<>();
        List<String> orderedStreamIds = new ArrayList<>();
        for (SubscriberSlot slot : slots) {
            validate(slot);
            if (mids.contains(slot.mid())) {
                throw new IllegalArgumentException("mid " + slot.mid() + " used by two slots");
            }
            mids.add(slot.mid());
            if (slot.active() && streamIds.add(slot.streamId())) {
                orderedStreamIds.add(slot.streamId());
            }
        }

        SdpWriter sdp = new SdpWriter()
                .sessionHeader(sessionId, sessionVersion)
                .line("a=group:BUNDLE " + String.join(" ", mids))
                .line(("a=msid-semantic: WMS " + String.join(" ", orderedStreamIds)).stripTrailing());
        boolean first = true;
        for (SubscriberSlot slot : slots) {
            CodecDescription codec = slot.codec();
            sdp.line("m=" + slot.kind() + " 9 " + SdpWriter.PROTOCOL + " " + codec.formats())
                    .line("c=IN IP4 0.0.0.0");
            if (first) {
                sdp.candidates(local.candidates(), local.tcpCandidates());
                first = false;
            }
            sdp.transport(local, "actpass")
                    .line("a=mid:" + slot.mid())
                    .line(slot.active() ? "a=sendonly" : "a=inactive")
                    .line("a=rtcp-mux")
                    .line("a=rtcp-rsize")
                    .extensions(slot.extensions())
                    .codec(codec, slot.kind());
            if (slot.active()) {
                String msid = slot.streamId() + " " + slot.trackId();
                sdp.line("a=msid:" + msid);
                if (slot.rtxSsrc() >= 0 && codec.rtxPayloadType() >= 0) {
                    sdp.line("a=ssrc-group:FID " + slot.ssrc() + " " + slot.rtxSsrc());
                }
                sdp.line("a=ssrc:" + slot.ssrc() + " cname:" + slot.cname())
                        .line("a=ssrc:" + slot.ssrc() + " msid:" + msid);
                if (slot.rtxSsrc() >= 0 && codec.rtxPayloadType() >= 0) {
                    sdp.line("a=ssrc:" + slot.rtxSsrc() + " cname:" + slot.cname())
                            .line("a=ssrc:" + slot.rtxSsrc() + " msid:" + msid);
                }
            }
        }
        return sdp.toString();
    }

    private static void validate(SubscriberSlot slot) {
        SdpWriter.requireToken(slot.mid(), "mid");
        if (!slot.kind().equals("audio") && !slot.kind().equals("video")) {
            throw new IllegalArgumentException("slot " + slot.mid() + " has kind " + slot.kind()
                    + "; expected audio or video");
        }
        CodecDescription codec = slot.codec();
        SdpWriter.requireToken(codec.name(), "codec name");
        SdpWriter.requireLineText(codec.fmtp(), "fmtp");
        codec.rtcpFeedback().forEach(feedback -> SdpWriter.requireLineText(feedback, "rtcp-fb"));
        if (codec.payloadType() < 0 || codec.payloadType() > 127 || codec.rtxPayloadType() > 127
                || codec.rtxPayloadType() == codec.payloadType() || codec.redPayloadType() > 127
                || codec.redPayloadType() == codec.payloadType()
                || (codec.redPayloadType() >= 0 && codec.redPayloadType() == codec.rtxPayloadType())
                || codec.clockRate() <= 0) {
            throw new IllegalArgumentException("slot " + slot.mid() + " has an invalid codec " + codec);
        }
        for (HeaderExtension extension : slot.extensions()) {
            SdpWriter.requireToken(extension.uri(), "extension URI");
            if (extension.id() < 1 || extension.id() > 255) {
                throw new IllegalArgumentException("extension id " + extension.id() + " outside 1..255");
            }
        }
        if (slot.active()) {
            if (slot.ssrc() < 0 || slot.ssrc() > 0xFFFF_FFFFL || slot.rtxSsrc() > 0xFFFF_FFFFL
                    || slot.rtxSsrc() == slot.ssrc()) {
                throw new IllegalArgumentException("slot " + slot.mid() + " has SSRC " + slot.ssrc() + " / rtx "
                        + slot.rtxSsrc() + " outside 0..4294967295 or equal");
            }
            SdpWriter.requireToken(slot.cname(), "cname");
            SdpWriter.requireToken(slot.streamId(), "streamId");
            SdpWriter.requireToken(slot.trackId(), "trackId");
        }
    }
}
