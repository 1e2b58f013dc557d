package io.cascadesfu.signaling.sdp;

import java.util.Objects;

/**
 * An RTP header extension negotiated with a=extmap (RFC 8285).
 *
 * @param id  local identifier, 1..255 (1..14 fit the one-byte header form)
 * @param uri extension URI, e.g. {@code urn:ietf:params:rtp-hdrext:sdes:mid}
 */
public record HeaderExtension(int id, String uri) {
    public HeaderExtension {
        Objects.requireNonNull(uri, "uri");
    }
}
