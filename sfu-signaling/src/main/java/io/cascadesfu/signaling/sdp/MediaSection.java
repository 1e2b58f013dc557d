package io.cascadesfu.signaling.sdp;

import java.util.List;
import java.util.Objects;

/**
 * One parsed m-section. Absent text fields are {@code ""}, absent SSRCs are -1; never null.
 *
 * @param index     position of the m-section, 0-based
 * @param kind      {@code audio}, {@code video}, {@code application} or {@code other}
 * @param port      m-line port (0 means rejected unless a=bundle-only)
 * @param protocol  m-line proto, e.g. {@code UDP/TLS/RTP/SAVPF}
 * @param mid       a=mid
 * @param direction {@code sendrecv} (default), {@code sendonly}, {@code recvonly} or {@code inactive}
 * @param codecs    media codecs in m-line order; rtx is folded into its apt codec, red/ulpfec/flexfec dropped
 * @param extensions a=extmap in order written (session-level ones appended unless the id is reused)
 * @param ssrc      primary media SSRC (first of SIM group, else first of FID group, else first a=ssrc), -1
 * @param rtxSsrc   retransmission SSRC paired with {@link #ssrc} by a=ssrc-group:FID, -1
 * @param cname     RTCP CNAME of the primary SSRC
 * @param streamId  MediaStream id from a=msid (or a=ssrc msid)
 * @param trackId   track id from a=msid (or a=ssrc msid)
 * @param sendRids  a=rid ... send identifiers, in a=simulcast order if present (paused {@code ~} stripped)
 * @param rejected  port 0 without a=bundle-only
 * @param formats   m-line format tokens as written (payload types, or e.g. {@code webrtc-datachannel}); addition
 * @param rtcpMux   a=rtcp-mux present; addition
 */
public record MediaSection(int index, String kind, int port, String protocol, String mid, String direction,
        List<CodecDescription> codecs, List<HeaderExtension> extensions, long ssrc, long rtxSsrc, String cname,
        String streamId, String trackId, List<String> sendRids, boolean rejected, List<String> formats,
        boolean rtcpMux) {

    public MediaSection {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(mid, "mid");
        Objects.requireNonNull(direction, "direction");
        Objects.requireNonNull(cname, "cname");
        Objects.requireNonNull(streamId, "streamId");
        Objects.requireNonNull(trackId, "trackId");
        codecs = List.copyOf(codecs);
        extensions = List.copyOf(extensions);
        sendRids = List.copyOf(sendRids);
        formats = List.copyOf(formats);
    }

    /** True if the remote side of this description sends media in this section. */
    public boolean sends() {
        return direction.equals("sendonly") || direction.equals("sendrecv");
    }
}
