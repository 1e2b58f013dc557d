package io.cascadesfu.load;

import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.signaling.sdp.CodecDescription;
import io.cascadesfu.signaling.sdp.MediaSection;
import io.cascadesfu.signaling.sdp.SessionDescription;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The SDP a simulated participant writes, as a browser would: its publish offer and its answers to the
 * node's subscribe offers. Also reads the node's host candidates, which {@code SdpParser} skips.
 */
final class ClientSdp {
    private static final String CRLF = "\r\n";

    private ClientSdp() {
    }

    /** What the participant publishes; an SSRC of -1 leaves that kind out. */
    record PublishTracks(long audioSsrc, long videoSsrc, String cname, String streamId) {
    }

    /**
     * A publish offer: sendonly, BUNDLE, rtcp-mux, ICE credentials and fingerprint of the publishing client,
     * setup:actpass; Opus 111 and VP8 96 with a=ssrc cname and msid.
     */
    static String publishOffer(long sessionId, IceCredentials ice, String fingerprintSha256, PublishTracks tracks) {
        List<String> mids = new ArrayList<>();
        if (tracks.audioSsrc() >= 0) {
            mids.add("0");
        }
        if (tracks.videoSsrc() >= 0) {
            mids.add(String.valueOf(mids.size()));
        }
        StringBuilder b = new StringBuilder();
        session(b, sessionId, 2);
        b.append("a=group:BUNDLE ").append(String.join(" ", mids)).append(CRLF);
        b.append("a=msid-semantic: WMS ").append(tracks.streamId()).append(CRLF);
        int mid = 0;
        if (tracks.audioSsrc() >= 0) {
            mediaHeader(b, "audio", MediaSource.AUDIO_PT, ice, fingerprintSha256, "actpass", String.valueOf(mid++),
                    "sendonly");
            b.append("a=rtpmap:111 opus/48000/2").append(CRLF);
            b.append("a=fmtp:111 minptime=10;useinbandfec=1").append(CRLF);
            b.append("a=rtcp-fb:111 nack").append(CRLF); // answered only when asked (--nack)
            ssrc(b, tracks.audioSsrc(), tracks.cname(), tracks.streamId(), "audio-" + tracks.cname());
        }
        if (tracks.videoSsrc() >= 0) {
            mediaHeader(b, "video", MediaSource.VIDEO_PT, ice, fingerprintSha256, "actpass", String.valueOf(mid),
                    "sendonly");
            b.append("a=rtpmap:96 VP8/90000").append(CRLF);
            b.append("a=rtcp-fb:96 nack").append(CRLF);
            b.append("a=rtcp-fb:96 nack pli").append(CRLF);
            b.append("a=rtcp-fb:96 ccm fir").append(CRLF);
            ssrc(b, tracks.videoSsrc(), tracks.cname(), tracks.streamId(), "video-" + tracks.cname());
        }
        return b.toString();
    }

    /**
     * The answer to a subscribe offer: every section the node sends in is received (recvonly), others stay
     * inactive; the same ICE credentials and fingerprint every time, setup:active (the node is DTLS server).
     */
    static String subscribeAnswer(SessionDescription offer, long sessionId, long version, IceCredentials ice,
                                  String fingerprintSha256) {
        StringBuilder b = new StringBuilder();
        session(b, sessionId, version);
        List<String> mids = new ArrayList<>();
        for (MediaSection m : offer.media()) {
            if (!m.rejected()) {
                mids.add(m.mid());
            }
        }
        b.append("a=group:BUNDLE ").append(String.join(" ", mids)).append(CRLF);
        b.append("a=msid-semantic: WMS").append(CRLF);
        for (MediaSection m : offer.media()) {
            if (m.rejected() || m.codecs().isEmpty()) {
                b.append("m=").append(m.kind().equals("other") ? "application" : m.kind()).append(" 0 ")
                        .append(m.protocol()).append(' ').append(m.formats().isEmpty() ? "0" : m.formats().get(0))
                        .append(CRLF).append("c=IN IP4 0.0.0.0").append(CRLF);
                if (!m.mid().isEmpty()) {
                    b.append("a=mid:").append(m.mid()).append(CRLF);
                }
                b.append("a=inactive").append(CRLF);
                continue;
            }
            CodecDescription codec = m.codecs().get(0);
            mediaHeader(b, m.kind(), codec.payloadType(), ice, fingerprintSha256, "active", m.mid(),
                    m.sends() ? "recvonly" : "inactive");
            b.append("a=rtpmap:").append(codec.payloadType()).append(' ').append(codec.name()).append('/')
                    .append(codec.clockRate());
            if (m.kind().equals("audio") && codec.channels() > 1) {
                b.append('/').append(codec.channels());
            }
            b.append(CRLF);
            if (!codec.fmtp().isEmpty()) {
                b.append("a=fmtp:").append(codec.payloadType()).append(' ').append(codec.fmtp()).append(CRLF);
            }
            for (String feedback : codec.rtcpFeedback()) {
                b.append("a=rtcp-fb:").append(codec.payloadType()).append(' ').append(feedback).append(CRLF);
            }
        }
        return b.toString();
    }

    /**
     * The first UDP host candidate ({@code a=candidate:F 1 udp PRIO IP PORT typ host}) of an SDP body,
     * IPv4 preferred; null if there is none.
     */
    static InetSocketAddress firstCandidate(String sdp) {
        InetSocketAddress v6 = null;
        for (String line : sdp.split("\r?\n")) {
            if (!line.startsWith("a=candidate:")) {
                continue;
            }
            String[] t = line.substring("a=candidate:".length()).trim().split("\\s+");
            if (t.length < 6 || !t[2].equalsIgnoreCase("udp") || !t[1].equals("1")) {
                continue;
            }
            int port;
            try {
                port = Integer.parseInt(t[5]);
            } catch (NumberFormatException e) {
                continue;
            }
            if (port < 1 || port > 65535) {
                continue;
            }
            InetSocketAddress address = new InetSocketAddress(t[4], port);
            if (address.isUnresolved()) {
                continue;
            }
            if (address.getAddress() instanceof java.net.Inet4Address) {
                return address;
            }
            if (v6 == null) {
                v6 = address;
            }
        }
        return v6;
    }

    private static void session(StringBuilder b, long sessionId, long version) {
        b.append("v=0").append(CRLF)
                .append("o=- ").append(sessionId).append(' ').append(version).append(" IN IP4 127.0.0.1").append(CRLF)
                .append("s=-").append(CRLF)
                .append("t=0 0").append(CRLF);
    }

    private static void mediaHeader(StringBuilder b, String kind, int payloadType, IceCredentials ice,
                                    String fingerprint, String setup, String mid, String direction) {
        b.append("m=").append(kind).append(" 9 UDP/TLS/RTP/SAVPF ").append(payloadType).append(CRLF)
                .append("c=IN IP4 0.0.0.0").append(CRLF)
                .append("a=rtcp:9 IN IP4 0.0.0.0").append(CRLF)
                .append("a=ice-ufrag:").append(ice.ufrag()).append(CRLF)
                .append("a=ice-pwd:").append(ice.pwd()).append(CRLF)
                .append("a=fingerprint:sha-256 ").append(fingerprint).append(CRLF)
                .append("a=setup:").append(setup).append(CRLF)
                .append("a=mid:").append(mid).append(CRLF)
                .append("a=").append(direction).append(CRLF)
                .append("a=rtcp-mux").append(CRLF)
                .append("a=rtcp-rsize").append(CRLF);
    }

    private static void ssrc(StringBuilder b, long ssrc, String cname, String streamId, String trackId) {
        b.append("a=msid:").append(streamId).append(' ').append(trackId).append(CRLF)
                .append("a=ssrc:").append(ssrc).append(" cname:").append(cname).append(CRLF)
                .append("a=ssrc:").append(ssrc).append(" msid:").append(streamId).append(' ').append(trackId)
                .append(CRLF);
    }
}
