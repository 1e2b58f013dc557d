package io.cascadesfu.signaling.sdp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Parses the SDP a browser sends (RFC 8866 syntax, with the JSEP attributes of RFC 8829, 8843, 8839, 5763, 8285,
 * 8853) into a {@link SessionDescription}.
 *
 * <p>Lenient where browsers differ or extend (unknown line types and attributes are skipped, blank lines and both
 * {@code \r\n} and {@code \n} endings are accepted), strict where a mistake would hurt later: a body without
 * {@code v=} or {@code m=}, missing ICE credentials or fingerprint, malformed payload types, rtpmap, extmap ids
 * or SSRCs, and bodies larger than {@value #MAX_SDP_CHARS} characters or {@value #MAX_MEDIA_SECTIONS} m-sections.
 * Every problem is reported as {@link SdpException}; no other exception escapes, whatever the input.
 *
 * <p>Stateless and thread-safe.
 */
public final class SdpParser {
    /** Largest body accepted, in characters. Browser offers are 5-20 KB; more than this is a broken or hostile client. */
    public static final int MAX_SDP_CHARS = 256 * 1024; // the signaling message limit
    /** Most m-sections accepted in one body. */
    public static final int MAX_MEDIA_SECTIONS = 512; // a subscriber in a large audio room has one per speaker

    private static final int MAX_QUOTED_CHARS = 60;

    private SdpParser() {
    }

    /**
     * Parses one SDP body.
     *
     * @throws SdpException with a message naming the problem (and the line, where there is one)
     */
    public static SessionDescription parse(String sdp) throws SdpException {
        if (sdp == null) {
            throw new SdpException("SDP is null");
        }
        if (sdp.length() > MAX_SDP_CHARS) {
            throw new SdpException("SDP too large: " + sdp.length() + " characters, limit is " + MAX_SDP_CHARS);
        }
        SessionBuilder session = new SessionBuilder();
        MediaBuilder current = null;
        boolean sawVersion = false;
        int lineNumber = 0;
        int start = 0;
        while (start <= sdp.length()) {
            int end = sdp.indexOf('\n', start);
            if (end < 0) {
                end = sdp.length();
            }
            String line = sdp.substring(start, end);
            start = end + 1;
            lineNumber++;
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isBlank()) {
                continue;
            }
            if (!sawVersion) {
                if (!line.startsWith("v=")) {
                    throw SdpException.atLine(lineNumber, "not an SDP body: expected v=0 first, got " + quote(line));
                }
                if (!line.substring(2).trim().equals("0")) {
                    throw SdpException.atLine(lineNumber, "unsupported SDP version " + quote(line));
                }
                sawVersion = true;
                continue;
            }
            if (line.length() < 2 || line.charAt(1) != '=') {
                throw SdpException.atLine(lineNumber, "expected <type>=<value>, got " + quote(line));
            }
            String value = line.substring(2);
            switch (line.charAt(0)) {
                case 'm' -> {
                    if (session.media.size() == MAX_MEDIA_SECTIONS) {
                        throw SdpException.atLine(lineNumber, "too many m-sections, limit is " + MAX_MEDIA_SECTIONS);
                    }
                    current = parseMediaLine(value, lineNumber, session.media.size());
                    session.media.add(current);
                }
                case 'a' -> parseAttribute(value, lineNumber, session, current);
                default -> {
                    // v (repeated), o, s, i, u, e, p, c, b, t, r, z, k and unknown types carry nothing we use.
                }
            }
        }
        if (!sawVersion) {
            throw new SdpException("empty SDP: no v= line");
        }
        if (session.media.isEmpty()) {
            throw new SdpException("no m= line: SDP describes no media");
        }
        return session.build();
    }

    private static MediaBuilder parseMediaLine(String value, int lineNumber, int index) throws SdpException {
        String[] tokens = value.trim().split("\\s+");
        if (tokens.length < 3) {
            throw SdpException.atLine(lineNumber, "malformed m= line, expected <media> <port> <proto> <fmt>...: "
                    + quote(value));
        }
        MediaBuilder media = new MediaBuilder(index);
        media.kind = switch (tokens[0]) {
            case "audio", "video", "application" -> tokens[0];
            default -> "other";
        };
        String port = tokens[1];
        int slash = port.indexOf('/');
        media.port = parseInt(slash < 0 ? port : port.substring(0, slash), 0, 65535, "m= port", lineNumber);
        media.protocol = tokens[2];
        media.rtp = tokens[2].toUpperCase(Locale.ROOT).contains("RTP/");
        for (int i = 3; i < tokens.length; i++) {
            if (media.rtp) {
                parseInt(tokens[i], 0, 127, "payload type in m= line", lineNumber);
            }
            media.formats.add(tokens[i]);
        }
        return media;
    }

    private static void parseAttribute(String attribute, int lineNumber, SessionBuilder session, MediaBuilder media)
            throws SdpException {
        int colon = attribute.indexOf(':');
        String name = colon < 0 ? attribute.trim() : attribute.substring(0, colon).trim();
        String value = colon < 0 ? "" : attribute.substring(colon + 1).trim();
        TransportBuilder transport = media != null ? media.transport : session.transport;
        switch (name) {
            case "ice-ufrag" -> {
                if (transport.iceUfrag == null) {
                    transport.iceUfrag = iceToken(value, 4, "ice-ufrag", lineNumber);
                }
            }
            case "ice-pwd" -> {
                if (transport.icePwd == null) {
                    transport.icePwd = iceToken(value, 22, "ice-pwd", lineNumber);
                }
            }
            case "fingerprint" -> {
                if (transport.fingerprint == null) {
                    parseFingerprint(value, lineNumber, transport);
                }
            }
            case "setup" -> {
                if (transport.setup == null) {
                    transport.setup = value.toLowerCase(Locale.ROOT);
                }
            }
            case "extmap" -> addExtension(media != null ? media.extensions : session.extensions,
                    parseExtmap(value, lineNumber), lineNumber);
            case "ice-lite" -> session.iceLite |= media == null;
            case "group" -> {
                String[] tokens = value.split("\\s+");
                if (media == null && session.bundleMids == null && tokens[0].equals("BUNDLE")) {
                    session.bundleMids = List.of(tokens).subList(1, tokens.length);
                }
            }
            default -> {
                if (media != null) {
                    parseMediaAttribute(name, value, lineNumber, media);
                }
            }
        }
    }

    private static void parseMediaAttribute(String name, String value, int lineNumber, MediaBuilder media)
            throws SdpException {
        switch (name) {
            case "mid" -> {
                if (media.mid.isEmpty()) {
                    media.mid = value;
                }
            }
            case "sendrecv", "sendonly", "recvonly", "inactive" -> media.direction = name;
            case "rtcp-mux" -> media.rtcpMux = true;
            case "bundle-only" -> media.bundleOnly = true;
            case "rtpmap" -> {
                if (media.rtp) {
                    parseRtpmap(value, lineNumber, media);
                }
            }
            case "fmtp" -> {
                if (media.rtp) {
                    String[] parts = splitFirst(value);
                    int pt = parseInt(parts[0], 0, 127, "a=fmtp payload type", lineNumber);
                    media.fmtps.putIfAbsent(pt, parts[1]);
                }
            }
            case "rtcp-fb" -> {
                if (media.rtp) {
                    String[] parts = splitFirst(value);
                    String feedback = String.join(" ", parts[1].split("\\s+"));
                    if (feedback.isEmpty()) {
                        throw SdpException.atLine(lineNumber, "a=rtcp-fb without a feedback type");
                    }
                    if (parts[0].equals("*")) {
                        media.wildcardFeedback.add(feedback);
                    } else {
                        int pt = parseInt(parts[0], 0, 127, "a=rtcp-fb payload type", lineNumber);
                        media.feedback.computeIfAbsent(pt, k -> new ArrayList<>()).add(feedback);
                    }
                }
            }
            case "ssrc" -> parseSsrc(value, lineNumber, media);
            case "ssrc-group" -> {
                String[] tokens = value.split("\\s+");
                List<Long> ssrcs = new ArrayList<>();
                for (int i = 1; i < tokens.length; i++) {
                    ssrcs.add(parseSsrcValue(tokens[i], lineNumber));
                }
                if (tokens[0].equals("FID") && ssrcs.size() == 2) {
                    media.fidGroups.add(ssrcs);
                } else if (tokens[0].equals("SIM") && !ssrcs.isEmpty() && media.simFirst < 0) {
                    media.simFirst = ssrcs.get(0);
                } else if (tokens[0].startsWith("FEC") && ssrcs.size() == 2) {
                    media.repairSsrcs.add(ssrcs.get(1));
                }
            }
            case "msid" -> {
                if (media.msidStream == null) {
                    String[] tokens = value.split("\\s+");
                    media.msidStream = tokens[0];
                    media.msidTrack = tokens.length > 1 ? tokens[1] : "";
                }
            }
            case "rid" -> {
                String[] tokens = value.split("\\s+");
                if (tokens.length >= 2 && tokens[1].equals("send") && !tokens[0].isEmpty()) {
                    media.sendRids.add(tokens[0]);
                }
            }
            case "simulcast" -> parseSimulcast(value, media);
            default -> {
                // Unknown or unused media attribute (rtcp, rtcp-rsize, ice-options, candidate, ...): skip.
            }
        }
    }

    private static void parseRtpmap(String value, int lineNumber, MediaBuilder media) throws SdpException {
        String[] parts = splitFirst(value);
        int pt = parseInt(parts[0], 0, 127, "a=rtpmap payload type", lineNumber);
        String[] encoding = parts[1].split("/", -1);
        if (encoding.length < 2 || encoding[0].isEmpty()) {
            throw SdpException.atLine(lineNumber, "malformed a=rtpmap, expected <pt> <name>/<clock rate>: "
                    + quote(value));
        }
        int clockRate = parseInt(encoding[1], 1, Integer.MAX_VALUE, "a=rtpmap clock rate", lineNumber);
        int channels = encoding.length > 2
                ? parseInt(encoding[2], 1, 255, "a=rtpmap channel count", lineNumber)
                : media.kind.equals("audio") ? 1 : 0;
        media.rtpmaps.putIfAbsent(pt, new Rtpmap(encoding[0], clockRate, channels));
    }

    private static void parseSsrc(String value, int lineNumber, MediaBuilder media) throws SdpException {
        String[] parts = splitFirst(value);
        long ssrc = parseSsrcValue(parts[0], lineNumber);
        SsrcBuilder info = media.ssrcs.computeIfAbsent(ssrc, k -> new SsrcBuilder());
        String attribute = parts[1];
        int colon = attribute.indexOf(':');
        if (colon < 0) {
            return;
        }
        String name = attribute.substring(0, colon);
        String attributeValue = attribute.substring(colon + 1).trim();
        if (name.equals("cname") && info.cname == null) {
            info.cname = attributeValue;
        } else if (name.equals("msid") && info.msidStream == null) {
            String[] tokens = attributeValue.split("\\s+");
            info.msidStream = tokens[0];
            info.msidTrack = tokens.length > 1 ? tokens[1] : "";
        }
    }

    /** RFC 8853: {@code a=simulcast:send q;h;f recv x}; each stream may list alternatives (,) and be paused (~). */
    private static void parseSimulcast(String value, MediaBuilder media) {
        String[] tokens = value.split("\\s+");
        for (int i = 0; i + 1 < tokens.length; i += 2) {
            if (!tokens[i].equals("send") || media.simulcastSend != null) {
                continue;
            }
            String list = tokens[i + 1].startsWith("rid=") ? tokens[i + 1].substring(4) : tokens[i + 1];
            List<String> rids = new ArrayList<>();
            for (String stream : list.split(";")) {
                String first = stream.split(",")[0];
                if (first.startsWith("~")) {
                    first = first.substring(1);
                }
                if (!first.isEmpty()) {
                    rids.add(first);
                }
            }
            media.simulcastSend = rids;
        }
    }

    private static HeaderExtension parseExtmap(String value, int lineNumber) throws SdpException {
        String[] parts = splitFirst(value);
        String id = parts[0];
        int slash = id.indexOf('/');
        if (slash >= 0) {
            id = id.substring(0, slash);
        }
        int number = parseInt(id, Integer.MIN_VALUE, Integer.MAX_VALUE, "a=extmap id", lineNumber);
        if (number < 1 || number > 255) {
            throw SdpException.atLine(lineNumber, "a=extmap id " + number + " outside 1..255");
        }
        String uri = parts[1].split("\\s+")[0];
        if (uri.isEmpty()) {
            throw SdpException.atLine(lineNumber, "a=extmap " + number + " without a URI");
        }
        return new HeaderExtension(number, uri);
    }

    private static void addExtension(List<HeaderExtension> extensions, HeaderExtension added, int lineNumber)
            throws SdpException {
        for (HeaderExtension existing : extensions) {
            if (existing.id() == added.id()) {
                if (existing.uri().equals(added.uri())) {
                    return;
                }
                throw SdpException.atLine(lineNumber, "a=extmap id " + added.id() + " used for both "
                        + existing.uri() + " and " + added.uri());
            }
        }
        extensions.add(added);
    }

    private static void parseFingerprint(String value, int lineNumber, TransportBuilder transport)
            throws SdpException {
        String[] parts = splitFirst(value);
        String algorithm = parts[0].toLowerCase(Locale.ROOT);
        String fingerprint = parts[1];
        if (algorithm.isEmpty() || !isHexPairs(fingerprint)) {
            throw SdpException.atLine(lineNumber, "malformed a=fingerprint, expected <hash> XX:XX:...: "
                    + quote(value));
        }
        int expectedBytes = digestBytes(algorithm);
        int bytes = (fingerprint.length() + 1) / 3;
        if (expectedBytes > 0 && bytes != expectedBytes) {
            throw SdpException.atLine(lineNumber, "a=fingerprint " + algorithm + " has " + bytes + " bytes, expected "
                    + expectedBytes);
        }
        transport.fingerprintAlgorithm = algorithm;
        transport.fingerprint = fingerprint;
    }

    /** Digest length of the RFC 8122 hash functions, 0 if unknown (then the DTLS layer decides). */
    private static int digestBytes(String algorithm) {
        return switch (algorithm) {
            case "md2", "md5" -> 16;
            case "sha-1" -> 20;
            case "sha-224" -> 28;
            case "sha-256" -> 32;
            case "sha-384" -> 48;
            case "sha-512" -> 64;
            default -> 0;
        };
    }

    private static boolean isHexPairs(String text) {
        if (text.length() < 5 || text.length() % 3 != 2) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean ok = i % 3 == 2 ? c == ':' : Character.digit(c, 16) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** RFC 8839: ice-char = ALPHA / DIGIT / "+" / "/", ufrag 4..256 and pwd 22..256 characters. */
    private static String iceToken(String value, int minLength, String what, int lineNumber) throws SdpException {
        if (value.length() < minLength || value.length() > 256) {
            throw SdpException.atLine(lineNumber, "a=" + what + " must be " + minLength + "..256 characters, got "
                    + value.length());
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean iceChar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '+' || c == '/';
            if (!iceChar) {
                throw SdpException.atLine(lineNumber, "a=" + what + " has a character outside ALPHA/DIGIT/+/: "
                        + quote(value));
            }
        }
        return value;
    }

    private static long parseSsrcValue(String text, int lineNumber) throws SdpException {
        if (text.isEmpty() || text.length() > 10 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw SdpException.atLine(lineNumber, "SSRC is not a number in 0..4294967295: " + quote(text));
        }
        long ssrc = Long.parseLong(text);
        if (ssrc > 0xFFFF_FFFFL) {
            throw SdpException.atLine(lineNumber, "SSRC is not a number in 0..4294967295: " + quote(text));
        }
        return ssrc;
    }

    private static int parseInt(String text, int min, int max, String what, int lineNumber) throws SdpException {
        int value;
        try {
            value = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw SdpException.atLine(lineNumber, what + " is not a number: " + quote(text));
        }
        if (value < min || value > max) {
            throw SdpException.atLine(lineNumber, what + " " + value + " outside " + min + ".." + max);
        }
        return value;
    }

    /** Splits at the first run of whitespace: {@code ["96", "VP8/90000"]}; the second part may be "". */
    private static String[] splitFirst(String value) {
        String trimmed = value.trim();
        int space = 0;
        while (space < trimmed.length() && !Character.isWhitespace(trimmed.charAt(space))) {
            space++;
        }
        return new String[] {trimmed.substring(0, space), trimmed.substring(space).trim()};
    }

    /** Quotes untrusted text for an error message: shortened, control characters replaced. */
    private static String quote(String text) {
        StringBuilder quoted = new StringBuilder("'");
        for (int i = 0; i < text.length() && i < MAX_QUOTED_CHARS; i++) {
            char c = text.charAt(i);
            quoted.append(c < ' ' || c == 0x7f ? '?' : c);
        }
        if (text.length() > MAX_QUOTED_CHARS) {
            quoted.append("...");
        }
        return quoted.append('\'').toString();
    }

    private record Rtpmap(String name, int clockRate, int channels) {
    }

    private static final class TransportBuilder {
        String iceUfrag;
        String icePwd;
        String fingerprintAlgorithm;
        String fingerprint;
        String setup;
    }

    private static final class SsrcBuilder {
        String cname;
        String msidStream;
        String msidTrack;
    }

    private static final class SessionBuilder {
        final TransportBuilder transport = new TransportBuilder();
        final List<HeaderExtension> extensions = new ArrayList<>();
        final List<MediaBuilder> media = new ArrayList<>();
        boolean iceLite;
        List<String> bundleMids;

        SessionDescription build() throws SdpException {
            List<MediaSection> sections = new ArrayList<>(media.size());
            TransportBuilder first = null;
            for (MediaBuilder builder : media) {
                MediaSection section = builder.build(extensions);
                sections.add(section);
                if (first == null && !section.rejected()) {
                    first = builder.transport;
                }
            }
            String ufrag = pick(first, t -> t.iceUfrag, "a=ice-ufrag");
            String pwd = pick(first, t -> t.icePwd, "a=ice-pwd");
            String fingerprint = pick(first, t -> t.fingerprint, "a=fingerprint");
            String algorithm = pick(first, t -> t.fingerprint == null ? null : t.fingerprintAlgorithm,
                    "a=fingerprint");
            String setup = first != null && first.setup != null ? first.setup
                    : transport.setup != null ? transport.setup : "";
            return new SessionDescription(ufrag, pwd, algorithm, fingerprint, setup, iceLite,
                    bundleMids == null ? List.of() : bundleMids, sections);
        }

        /** Media level of the first non-rejected section, then session level, then any section that has it. */
        private String pick(TransportBuilder first, java.util.function.Function<TransportBuilder, String> field,
                String attribute) throws SdpException {
            if (first != null && field.apply(first) != null) {
                return field.apply(first);
            }
            if (field.apply(transport) != null) {
                return field.apply(transport);
            }
            for (MediaBuilder builder : media) {
                if (field.apply(builder.transport) != null) {
                    return field.apply(builder.transport);
                }
            }
            throw new SdpException("missing " + attribute + " (neither at session level nor in any m-section)");
        }
    }

    private static final class MediaBuilder {
        final int index;
        final TransportBuilder transport = new TransportBuilder();
        final List<String> formats = new ArrayList<>();
        final List<HeaderExtension> extensions = new ArrayList<>();
        final Map<Integer, Rtpmap> rtpmaps = new HashMap<>();
        final Map<Integer, String> fmtps = new HashMap<>();
        final Map<Integer, List<String>> feedback = new HashMap<>();
        final List<String> wildcardFeedback = new ArrayList<>();
        final Map<Long, SsrcBuilder> ssrcs = new LinkedHashMap<>();
        final List<List<Long>> fidGroups = new ArrayList<>();
        final List<Long> repairSsrcs = new ArrayList<>();
        final List<String> sendRids = new ArrayList<>();
        String kind;
        int port;
        String protocol;
        boolean rtp;
        String mid = "";
        String direction = "sendrecv";
        boolean rtcpMux;
        boolean bundleOnly;
        long simFirst = -1;
        String msidStream;
        String msidTrack;
        List<String> simulcastSend;

        MediaBuilder(int index) {
            this.index = index;
        }

        MediaSection build(List<HeaderExtension> sessionExtensions) throws SdpException {
            List<HeaderExtension> allExtensions = new ArrayList<>(extensions);
            for (HeaderExtension extension : sessionExtensions) {
                if (allExtensions.stream().noneMatch(e -> e.id() == extension.id())) {
                    allExtensions.add(extension);
                }
            }
            long ssrc = primarySsrc();
            long rtxSsrc = -1;
            for (List<Long> group : fidGroups) {
                if (group.get(0) == ssrc) {
                    rtxSsrc = group.get(1);
                    break;
                }
            }
            SsrcBuilder primary = ssrcs.get(ssrc);
            String cname = primary != null && primary.cname != null ? primary.cname : firstCname();
            String streamId = msidStream;
            String trackId = msidTrack;
            if (streamId == null && primary != null && primary.msidStream != null) {
                streamId = primary.msidStream;
                trackId = primary.msidTrack;
            }
            return new MediaSection(index, kind, port, protocol, mid, direction, codecs(), allExtensions, ssrc,
                    rtxSsrc, cname, streamId == null ? "" : streamId, trackId == null ? "" : trackId, rids(),
                    port == 0 && !bundleOnly, formats, rtcpMux);
        }

        private long primarySsrc() {
            if (simFirst >= 0) {
                return simFirst;
            }
            if (!fidGroups.isEmpty()) {
                return fidGroups.get(0).get(0);
            }
            for (Long candidate : ssrcs.keySet()) {
                if (fidGroups.stream().noneMatch(g -> g.get(1).equals(candidate))
                        && !repairSsrcs.contains(candidate)) {
                    return candidate;
                }
            }
            return -1;
        }

        private String firstCname() {
            for (SsrcBuilder info : ssrcs.values()) {
                if (info.cname != null) {
                    return info.cname;
                }
            }
            return "";
        }

        private List<String> rids() {
            if (simulcastSend == null) {
                return sendRids;
            }
            List<String> ordered = new ArrayList<>();
            for (String rid : simulcastSend) {
                if (sendRids.contains(rid) && !ordered.contains(rid)) {
                    ordered.add(rid);
                }
            }
            return ordered;
        }

        private List<CodecDescription> codecs() throws SdpException {
            if (!rtp) {
                return List.of();
            }
            Map<Integer, Integer> rtxByApt = new HashMap<>();
            Map<Integer, Integer> redByPrimary = new HashMap<>();
            for (String format : formats) {
                int pt = Integer.parseInt(format); // validated in parseMediaLine
                Rtpmap map = rtpmaps.get(pt);
                if (map != null && map.name().equalsIgnoreCase("rtx")) {
                    Integer apt = aptOf(fmtps.getOrDefault(pt, ""));
                    if (apt != null) {
                        rtxByApt.putIfAbsent(apt, pt);
                    }
                } else if (map != null && map.name().equalsIgnoreCase("red") && kind.equals("audio")) {
                    Integer primary = redPrimaryOf(fmtps.getOrDefault(pt, ""));
                    if (primary != null) {
                        redByPrimary.putIfAbsent(primary, pt);
                    }
                }
            }
            List<CodecDescription> codecs = new ArrayList<>();
            List<Integer> seen = new ArrayList<>();
            for (String format : formats) {
                int pt = Integer.parseInt(format);
                Rtpmap map = rtpmaps.containsKey(pt) ? rtpmaps.get(pt) : staticPayloadType(pt);
                if (map == null || seen.contains(pt) || isRepairFormat(map.name())) {
                    continue;
                }
                seen.add(pt);
                List<String> fb = new ArrayList<>(feedback.getOrDefault(pt, List.of()));
                for (String wildcard : wildcardFeedback) {
                    if (!fb.contains(wildcard)) {
                        fb.add(wildcard);
                    }
                }
                codecs.add(new CodecDescription(pt, map.name(), map.clockRate(), map.channels(),
                        fmtps.getOrDefault(pt, ""), fb, rtxByApt.getOrDefault(pt, -1),
                        redByPrimary.getOrDefault(pt, -1)));
            }
            return codecs;
        }

        private static boolean isRepairFormat(String name) {
            String lower = name.toLowerCase(Locale.ROOT);
            return lower.equals("rtx") || lower.equals("red") || lower.equals("ulpfec") || lower.startsWith("flexfec");
        }

        /**
         * The one codec a red fmtp carries ({@code 111/111}: redundant blocks of payload type 111 only), or null if
         * it names none, several, or something that is not a payload type.
         */
        private static Integer redPrimaryOf(String fmtp) {
            String[] parts = fmtp.trim().split("/", -1);
            Integer first = null;
            for (String part : parts) {
                String number = part.trim();
                if (number.isEmpty() || number.length() > 3 || !number.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    return null;
                }
                int pt = Integer.parseInt(number);
                if (pt > 127 || (first != null && first != pt)) {
                    return null;
                }
                first = pt;
            }
            return first;
        }

        /** The apt=N parameter of an rtx fmtp, or null if absent or not a payload type. */
        private static Integer aptOf(String fmtp) {
            for (String parameter : fmtp.split(";")) {
                String trimmed = parameter.trim();
                if (trimmed.startsWith("apt=")) {
                    String number = trimmed.substring(4).trim();
                    if (!number.isEmpty() && number.length() <= 3 && number.chars().allMatch(c -> c >= '0' && c <= '9')) {
                        int apt = Integer.parseInt(number);
                        return apt <= 127 ? apt : null;
                    }
                }
            }
            return null;
        }

        /** RFC 3551 static payload types a browser may list without a=rtpmap. */
        private Rtpmap staticPayloadType(int pt) {
            return switch (pt) {
                case 0 -> new Rtpmap("PCMU", 8000, 1);
                case 8 -> new Rtpmap("PCMA", 8000, 1);
                case 9 -> new Rtpmap("G722", 8000, 1);
                case 13 -> new Rtpmap("CN", 8000, 1);
                default -> null;
            };
        }
    }
}
