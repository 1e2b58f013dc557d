package io.cascadesfu.cascade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.signaling.sdp.CodecDescription;
import io.cascadesfu.signaling.sdp.HeaderExtension;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A published track's negotiated parameters as the cascade's control messages carry them between nodes: the
 * receiving node publishes the track on its relay link's member with them, and its subscribers' consumers rewrite
 * from the publisher's payload types and header extension ids, which the relay keeps. Parsing validates every field
 * (a peer is authenticated, but its messages are still input): anything off gives {@code null}.
 */
final class TrackJson {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    /** Ids, rids, mids and codec names: short tokens. */
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_.~+-]{1,64}");
    /** ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 section 5.4): a ufrag or password. */
    private static final Pattern ICE = Pattern.compile("[A-Za-z0-9+/]{4,256}");
    private static final int MAX_EXTENSIONS = 16;

    private TrackJson() {
    }

    static ObjectNode write(PublishedTrackInfo info) {
        ObjectNode n = JSON.objectNode();
        n.put("mid", info.mid());
        n.put("kind", info.kind());
        CodecDescription c = info.codec();
        ObjectNode codec = n.putObject("codec");
        codec.put("pt", c.payloadType());
        codec.put("name", c.name());
        codec.put("clockRate", c.clockRate());
        codec.put("channels", c.channels());
        codec.put("fmtp", c.fmtp());
        codec.put("red", c.redPayloadType());
        ArrayNode fb = codec.putArray("feedback");
        c.rtcpFeedback().forEach(fb::add);
        ArrayNode ext = n.putArray("extensions");
        for (HeaderExtension e : info.extensions()) {
            ext.addObject().put("id", e.id()).put("uri", e.uri());
        }
        ArrayNode rids = n.putArray("rids");
        info.rids().forEach(rids::add);
        return n;
    }

    /** The track parameters in {@code n}, or null if anything is missing or out of range. */
    static PublishedTrackInfo read(JsonNode n, String trackId) {
        if (n == null || !n.isObject()) {
            return null;
        }
        String mid = text(n, "mid");
        String kind = text(n, "kind");
        JsonNode codec = n.get("codec");
        if (mid == null || !(("audio".equals(kind)) || "video".equals(kind)) || codec == null || !codec.isObject()) {
            return null;
        }
        int pt = number(codec, "pt", 0, 127);
        int clockRate = number(codec, "clockRate", 1, 1_000_000);
        int channels = number(codec, "channels", 0, 8);
        int red = codec.has("red") ? number(codec, "red", -1, 127) : -1;
        String name = text(codec, "name");
        JsonNode fmtpNode = codec.get("fmtp");
        String fmtp = fmtpNode != null && fmtpNode.isTextual() && fmtpNode.asText().length() <= 512
                && fmtpNode.asText().chars().noneMatch(ch -> ch < 0x20) ? fmtpNode.asText() : null;
        if (pt < 0 || clockRate < 0 || channels < 0 || red < -1 || name == null || fmtp == null) {
            return null;
        }
        List<String> feedback = new ArrayList<>();
        for (JsonNode f : iterable(codec.get("feedback"), 8)) {
            if (!f.isTextual() || f.asText().length() > 32 || !f.asText().matches("[a-z0-9 -]+")) {
                return null;
            }
            feedback.add(f.asText());
        }
        List<HeaderExtension> extensions = new ArrayList<>();
        for (JsonNode e : iterable(n.get("extensions"), MAX_EXTENSIONS)) {
            int id = e.isObject() ? number(e, "id", 1, 255) : -1;
            JsonNode uri = e.get("uri");
            if (id < 0 || uri == null || !uri.isTextual() || uri.asText().length() > 200
                    || !uri.asText().matches("[\\x21-\\x7e]+")) {
                return null;
            }
            extensions.add(new HeaderExtension(id, uri.asText()));
        }
        List<String> rids = new ArrayList<>();
        for (JsonNode r : iterable(n.get("rids"), 4)) {
            if (!r.isTextual() || !TOKEN.matcher(r.asText()).matches()) {
                return null;
            }
            rids.add(r.asText());
        }
        if (rids.size() == 1 || iterableSize(n.get("rids")) > 4 || iterableSize(n.get("extensions")) > MAX_EXTENSIONS) {
            return null;
        }
        CodecDescription c = new CodecDescription(pt, name, clockRate, channels, fmtp, feedback, -1, red);
        return new PublishedTrackInfo(mid, kind, c, extensions, -1, -1, rids, "", trackId);
    }

    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isTextual() && TOKEN.matcher(v.asText()).matches() ? v.asText() : null;
    }

    /** An ICE ufrag or password (which may hold '/', unlike {@link #text}), or null. */
    static String ice(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isTextual() && ICE.matcher(v.asText()).matches() ? v.asText() : null;
    }

    /** A printable string of at most {@code max} characters, or null. */
    static String printable(JsonNode n, String field, int max) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty() || v.asText().length() > max) {
            return null;
        }
        return v.asText().codePoints().allMatch(ch -> ch >= 0x20 && ch != 0x7f) ? v.asText() : null;
    }

    /** An integer in {@code min..max}, or {@code min - 1}. */
    static int number(JsonNode n, String field, int min, int max) {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < min || v.asInt() > max) {
            return min - 1;
        }
        return v.asInt();
    }

    static List<JsonNode> iterable(JsonNode array, int max) {
        List<JsonNode> list = new ArrayList<>();
        if (array != null && array.isArray()) {
            for (int i = 0; i < array.size() && i < max; i++) {
                list.add(array.get(i));
            }
        }
        return list;
    }

    private static int iterableSize(JsonNode array) {
        return array != null && array.isArray() ? array.size() : 0;
    }
}
