package io.cascadesfu.signaling.sdp;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Builds SDP text with CRLF line endings; shared by {@link PublisherAnswer} and {@link SubscriberOffer}. */
final class SdpWriter {
    static final String PROTOCOL = "UDP/TLS/RTP/SAVPF";
    /** Priority of every host candidate: type preference 126, local preference 65535, component 1. */
    static final long HOST_CANDIDATE_PRIORITY = 2130706431L;
    /**
     * Priority of a passive TCP host candidate (RFC 6544 section 4.2): type preference 126, local preference
     * 2^13 * direction-pref 4 (passive) + other-pref 8191 = 40959, component 1. Below {@link #HOST_CANDIDATE_PRIORITY}.
     */
    static final long TCP_PASSIVE_CANDIDATE_PRIORITY = (126L << 24) | (40959L << 8) | 255;

    private final StringBuilder sdp = new StringBuilder(4096);

    SdpWriter line(String text) {
        sdp.append(text).append("\r\n");
        return this;
    }

    /** v=, o=, s=, t= and a=ice-lite: the session header every server-written SDP starts with. */
    SdpWriter sessionHeader(long sessionId, long sessionVersion) {
        return line("v=0")
                .line("o=- " + sessionId + " " + sessionVersion + " IN IP4 0.0.0.0")
                .line("s=-")
                .line("t=0 0")
                .line("a=ice-lite");
    }

    /** ICE credentials, fingerprint and DTLS role; written in every m-section, as browsers do. */
    SdpWriter transport(LocalTransportParams local, String setup) {
        return line("a=ice-ufrag:" + local.iceUfrag())
                .line("a=ice-pwd:" + local.icePwd())
                .line("a=fingerprint:sha-256 " + local.fingerprintSha256())
                .line("a=setup:" + setup);
    }

    /**
     * Host UDP candidates and a=end-of-candidates (ICE-lite gathers nothing later). The foundation is the same
     * for candidates sharing a base IP address and different otherwise (RFC 8445 section 5.1.1.3).
     */
    SdpWriter candidates(List<InetSocketAddress> addresses) {
        return candidates(addresses, List.of());
    }

    /**
     * Host UDP candidates, then passive TCP host candidates (RFC 6544 section 4.5: {@code tcptype passive}, port the
     * listening one) at {@link #TCP_PASSIVE_CANDIDATE_PRIORITY}, below every UDP candidate so a client uses TCP only
     * when UDP fails; then a=end-of-candidates. A TCP candidate's foundation differs from every UDP one (RFC 8445
     * 5.1.1.3: the transport protocol is part of it).
     */
    SdpWriter candidates(List<InetSocketAddress> udp, List<InetSocketAddress> tcp) {
        Map<String, Integer> foundations = new HashMap<>();
        for (InetSocketAddress address : udp) {
            String ip = ipOf(address);
            int foundation = foundations.computeIfAbsent("udp " + ip, k -> foundations.size() + 1);
            line("a=candidate:" + foundation + " 1 udp " + HOST_CANDIDATE_PRIORITY + " " + ip + " "
                    + address.getPort() + " typ host");
        }
        for (InetSocketAddress address : tcp) {
            String ip = ipOf(address);
            int foundation = foundations.computeIfAbsent("tcp " + ip, k -> foundations.size() + 1);
            line("a=candidate:" + foundation + " 1 tcp " + TCP_PASSIVE_CANDIDATE_PRIORITY + " " + ip + " "
                    + address.getPort() + " typ host tcptype passive");
        }
        return line("a=end-of-candidates");
    }

    private static String ipOf(InetSocketAddress address) {
        return address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
    }

    /** a=rtpmap, a=rtcp-fb, a=fmtp of one codec, then its red and rtx formats if it has them. */
    SdpWriter codec(CodecDescription codec, String kind) {
        String channels = kind.equals("audio") && codec.channels() > 1 ? "/" + codec.channels() : "";
        if (codec.redPayloadType() >= 0) {
            line("a=rtpmap:" + codec.redPayloadType() + " red/" + codec.clockRate() + channels);
            line("a=fmtp:" + codec.redPayloadType() + " " + codec.payloadType() + "/" + codec.payloadType());
        }
        line("a=rtpmap:" + codec.payloadType() + " " + codec.name() + "/" + codec.clockRate() + channels);
        for (String feedback : codec.rtcpFeedback()) {
            line("a=rtcp-fb:" + codec.payloadType() + " " + feedback);
        }
        if (!codec.fmtp().isEmpty()) {
            line("a=fmtp:" + codec.payloadType() + " " + codec.fmtp());
        }
        if (codec.rtxPayloadType() >= 0) {
            line("a=rtpmap:" + codec.rtxPayloadType() + " rtx/" + codec.clockRate());
            line("a=fmtp:" + codec.rtxPayloadType() + " apt=" + codec.payloadType());
        }
        return this;
    }

    SdpWriter extensions(List<HeaderExtension> extensions) {
        for (HeaderExtension extension : extensions) {
            line("a=extmap:" + extension.id() + " " + extension.uri());
        }
        return this;
    }

    @Override
    public String toString() {
        return sdp.toString();
    }

    /** A value written as one SDP token: non-empty, no whitespace or control characters (no line injection). */
    static String requireToken(String value, String what) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c <= ' ' || c == 0x7f) {
                throw new IllegalArgumentException(what + " contains whitespace or a control character: '" + value + "'");
            }
        }
        return value;
    }

    /** Free text written at the end of a line (e.g. fmtp parameters): no CR, LF or NUL. */
    static String requireLineText(String value, String what) {
        if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " contains a line break");
        }
        return value;
    }
}
