package io.cascadesfu.signaling.sdp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Answers the offer of a browser's publish PeerConnection, where the browser sends and the server receives.
 *
 * <p>The answer is ICE-lite, DTLS {@code passive} (the server is always the DTLS server), BUNDLE with rtcp-mux.
 * Each acceptable section gets exactly one codec and no rtx, so the browser retransmits on the media SSRC.
 * A video section that offers rid simulcast (RFC 8853) with the MID and RID header extensions gets it: the answer
 * receives each rid, in the offer's order, which the node takes as lowest quality first. Without the extensions,
 * or with more streams than {@link #MAX_SIMULCAST_STREAMS}, simulcast is left out of the answer, which makes the
 * browser send a single encoding (RFC 8853 section 5.3).
 *
 * <p>Stateless and thread-safe.
 */
public final class PublisherAnswer {
    /** The rtcp-fb values the server handles on a published stream. */
    private static final List<String> SUPPORTED_FEEDBACK = List.of("nack", "nack pli", "ccm fir", "transport-cc");
    public static final String MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid";
    public static final String RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    public static final String TRANSPORT_CC_URI =
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /** Simulcast streams accepted per track. */
    public static final int MAX_SIMULCAST_STREAMS = 4;
    /** RFC 8851 rid-id: alphanumerics, '-' and '_' (length bounded here: it goes into logs and answers). */
    private static final Pattern RID = Pattern.compile("[A-Za-z0-9_-]{1,16}");

    /**
     * @param sdp    the answer, CRLF line endings
     * @param tracks one entry per accepted m-section, in m-line order
     */
    public record Result(String sdp, List<PublishedTrackInfo> tracks) {
        public Result {
            Objects.requireNonNull(sdp, "sdp");
            tracks = List.copyOf(tracks);
        }
    }

    private PublisherAnswer() {
    }

    /**
     * Answers a browser's publish offer. Accepts each sendonly/sendrecv audio section with Opus (48000/2) and each
     * video section with the first codec of {@code videoCodecPreference} the offer has (names compared
     * case-insensitively; for H264 packetization-mode=1 with profile-level-id 42e01f first, then any
     * packetization-mode=1; packetization-mode=0 is not accepted). Accepted sections are answered recvonly with
     * the chosen codec, its rtcp-fb limited to nack, nack pli, ccm fir and transport-cc, and the offer's extmaps whose URI is in
     * {@code supportedExtensionUris} (same ids). Everything else is rejected with port 0 and its mid kept.
     *
     * @throws SdpException if nothing can be accepted, the offer has no BUNDLE group, an accepted section lacks
     *                      rtcp-mux, or the offer's setup is neither actpass nor active
     */
    public static Result build(SessionDescription offer, LocalTransportParams local, List<String> videoCodecPreference,
            Set<String> supportedExtensionUris) throws SdpException {
        return build(offer, local, videoCodecPreference, supportedExtensionUris,
                ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE), 1);
    }

    /**
     * As {@link #build(SessionDescription, LocalTransportParams, List, Set)} with a chosen o= line: when the browser
     * renegotiates the publish PC, answer with the same {@code sessionId} and a higher {@code sessionVersion}
     * (RFC 3264 section 8).
     */
    public static Result build(SessionDescription offer, LocalTransportParams local, List<String> videoCodecPreference,
            Set<String> supportedExtensionUris, long sessionId, long sessionVersion) throws SdpException {
        Objects.requireNonNull(offer, "offer");
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(videoCodecPreference, "videoCodecPreference");
        Objects.requireNonNull(supportedExtensionUris, "supportedExtensionUris");
        if (offer.bundleMids().isEmpty()) {
            throw new SdpException("offer has no a=group:BUNDLE: this node carries all of a PeerConnection's media on one "
                    + "transport; set bundlePolicy: \"max-bundle\" (or \"balanced\") on RTCPeerConnection, "
                    + "bundle-policy=max-bundle on GStreamer's webrtcbin (its default, none, sends no group)");
        }
        if (!offer.setup().equals("actpass") && !offer.setup().equals("active")) {
            throw new SdpException("offer has a=setup:" + (offer.setup().isEmpty() ? "<none>" : offer.setup())
                    + "; expected actpass or active because the server is always the DTLS server");
        }

        List<CodecDescription> chosen = new ArrayList<>();
        List<String> acceptedMids = new ArrayList<>();
        for (MediaSection section : offer.media()) {
            CodecDescription codec = chooseCodec(section, offer.bundleMids(), videoCodecPreference);
            if (codec != null && !section.rtcpMux()) {
                throw new SdpException("offer m-section " + section.index() + " (mid " + section.mid()
                        + ") has no a=rtcp-mux; the server requires rtcp-mux");
            }
            chosen.add(codec);
            if (codec != null) {
                acceptedMids.add(section.mid());
            }
        }
        if (acceptedMids.isEmpty()) {
            throw new SdpException("offer has no m-section the server can receive: it needs a sendonly or sendrecv"
                    + " audio section with opus/48000/2 or video section with one of " + videoCodecPreference);
        }
        // Keep the offer's BUNDLE order; the first accepted mid tags the transport and carries the candidates.
        List<String> answerBundle = new ArrayList<>();
        for (String mid : offer.bundleMids()) {
            if (acceptedMids.contains(mid) && !answerBundle.contains(mid)) {
                answerBundle.add(mid);
            }
        }

        SdpWriter sdp = new SdpWriter()
                .sessionHeader(sessionId, sessionVersion)
                .line("a=group:BUNDLE " + String.join(" ", answerBundle))
                .line("a=msid-semantic: WMS");
        List<PublishedTrackInfo> tracks = new ArrayList<>();
        for (int i = 0; i < offer.media().size(); i++) {
            MediaSection section = offer.media().get(i);
            CodecDescription codec = chosen.get(i);
            if (codec == null) {
                writeRejected(sdp, section);
                continue;
            }
            List<HeaderExtension> extensions = new ArrayList<>();
            for (HeaderExtension extension : section.extensions()) {
                if (supportedExtensionUris.contains(extension.uri())) {
                    extensions.add(extension);
                }
            }
            sdp.line("m=" + section.kind() + " 9 " + SdpWriter.PROTOCOL + " " + codec.formats())
                    .line("c=IN IP4 0.0.0.0");
            if (section.mid().equals(answerBundle.get(0))) {
                sdp.candidates(local.candidates(), local.tcpCandidates());
            }
            sdp.transport(local, "passive")
                    .line("a=mid:" + section.mid())
                    .line("a=recvonly")
                    .line("a=rtcp-mux")
                    .line("a=rtcp-rsize")
                    .extensions(extensions)
                    .codec(codec, section.kind());
            List<String> rids = simulcastRids(section, extensions);
            for (String rid : rids) {
                sdp.line("a=rid:" + rid + " recv");
            }
            if (!rids.isEmpty()) {
                sdp.line("a=simulcast:recv " + String.join(";", rids));
            }
            tracks.add(new PublishedTrackInfo(section.mid(), section.kind(), codec, extensions,
                    rids.isEmpty() ? section.ssrc() : -1, -1, rids, section.streamId(), section.trackId()));
        }
        return new Result(sdp.toString(), tracks);
    }

    /** The rids the answer receives: the offer's, if simulcast can be accepted for this section; else none. */
    private static List<String> simulcastRids(MediaSection section, List<HeaderExtension> accepted) {
        List<String> rids = section.sendRids();
        if (!section.kind().equals("video") || rids.size() < 2 || rids.size() > MAX_SIMULCAST_STREAMS) {
            return List.of();
        }
        boolean mid = false;
        boolean rid = false;
        for (HeaderExtension e : accepted) {
            mid |= e.uri().equals(MID_URI);
            rid |= e.uri().equals(RID_URI);
        }
        if (!mid || !rid) {
            return List.of();
        }
        for (String r : rids) {
            if (!RID.matcher(r).matches()) {
                return List.of();
            }
        }
        return rids;
    }

    /**
     * Port 0 keeps the m-line (m-lines are never removed) and tells the browser not to use it. The media token of
     * an {@code other} section is not kept by the parser, so such a section is answered as application.
     */
    private static void writeRejected(SdpWriter sdp, MediaSection section) {
        String formats = section.formats().isEmpty() ? "0" : section.formats().get(0);
        sdp.line("m=" + section.kind().replace("other", "application") + " 0 " + section.protocol() + " " + formats)
                .line("c=IN IP4 0.0.0.0");
        if (!section.mid().isEmpty()) {
            sdp.line("a=mid:" + section.mid());
        }
        sdp.line("a=inactive");
    }

    /** The codec the server accepts in this section, already reduced to what the answer lists, or null. */
    private static CodecDescription chooseCodec(MediaSection section, List<String> bundleMids,
            List<String> videoCodecPreference) {
        if (section.rejected() || !section.sends() || section.mid().isEmpty() || !bundleMids.contains(section.mid())
                || !section.protocol().equalsIgnoreCase(SdpWriter.PROTOCOL)) {
            return null;
        }
        CodecDescription codec = switch (section.kind()) {
            case "audio" -> section.codecs().stream()
                    .filter(c -> c.name().equalsIgnoreCase("opus") && c.clockRate() == 48000 && c.channels() == 2)
                    .findFirst().orElse(null);
            case "video" -> chooseVideoCodec(section.codecs(), videoCodecPreference);
            default -> null;
        };
        if (codec == null) {
            return null;
        }
        List<String> feedback = new ArrayList<>();
        for (String offered : codec.rtcpFeedback()) {
            String normalized = offered.toLowerCase(Locale.ROOT);
            if (SUPPORTED_FEEDBACK.contains(normalized) && !feedback.contains(normalized)) {
                feedback.add(normalized);
            }
        }
        // Audio keeps its red (RFC 2198 redundancy for Opus: passed through to subscribers that take it).
        return codec.withFeedbackAndRtx(feedback, -1).withRed(section.kind().equals("audio") ? codec.redPayloadType() : -1);
    }

    private static CodecDescription chooseVideoCodec(List<CodecDescription> offered, List<String> preference) {
        for (String name : preference) {
            if (name.equalsIgnoreCase("H264")) {
                CodecDescription anyMode1 = null;
                for (CodecDescription codec : offered) {
                    if (!codec.name().equalsIgnoreCase("H264")) {
                        continue;
                    }
                    Map<String, String> fmtp = fmtpParameters(codec.fmtp());
                    if (!"1".equals(fmtp.get("packetization-mode"))) {
                        continue;
                    }
                    if ("42e01f".equalsIgnoreCase(fmtp.get("profile-level-id"))) {
                        return codec;
                    }
                    if (anyMode1 == null) {
                        anyMode1 = codec;
                    }
                }
                if (anyMode1 != null) {
                    return anyMode1;
                }
            } else {
                for (CodecDescription codec : offered) {
                    if (codec.name().equalsIgnoreCase(name)) {
                        return codec;
                    }
                }
            }
        }
        return null;
    }

    /** {@code "a=1;b=2"} to a map with lower-case keys. */
    static Map<String, String> fmtpParameters(String fmtp) {
        Map<String, String> parameters = new HashMap<>();
        for (String parameter : fmtp.split(";")) {
            int equals = parameter.indexOf('=');
            if (equals > 0) {
                parameters.put(parameter.substring(0, equals).trim().toLowerCase(Locale.ROOT),
                        parameter.substring(equals + 1).trim());
            }
        }
        return parameters;
    }
}
