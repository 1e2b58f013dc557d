package io.cascadesfu.signaling.sdp;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * The server's side of one PeerConnection's transport, as written into SDP: ICE-lite credentials, the DTLS
 * certificate's SHA-256 fingerprint, the host UDP candidates and the passive ICE-TCP ones (RFC 6544).
 *
 * @param iceUfrag          ICE username fragment (RFC 8839 ice-char, 4..256 chars)
 * @param icePwd            ICE password (ice-char, 22..256 chars)
 * @param fingerprintSha256 colon-separated upper-case hex, {@code "AB:CD:..."}
 * @param candidates        host UDP candidate addresses, in priority order
 * @param tcpCandidates     passive TCP host candidate addresses (written below every UDP one); empty when ICE-TCP is
 *                          off
 */
public record LocalTransportParams(String iceUfrag, String icePwd, String fingerprintSha256,
        List<InetSocketAddress> candidates, List<InetSocketAddress> tcpCandidates) {

    /** UDP candidates only. */
    public LocalTransportParams(String iceUfrag, String icePwd, String fingerprintSha256,
                                List<InetSocketAddress> candidates) {
        this(iceUfrag, icePwd, fingerprintSha256, candidates, List.of());
    }

    public LocalTransportParams {
        SdpWriter.requireToken(iceUfrag, "iceUfrag");
        SdpWriter.requireToken(icePwd, "icePwd");
        if (fingerprintSha256 == null || !fingerprintSha256.matches("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}")) {
            throw new IllegalArgumentException("fingerprintSha256 must be 32 colon-separated hex bytes: "
                    + fingerprintSha256);
        }
        candidates = List.copyOf(Objects.requireNonNull(candidates, "candidates"));
        tcpCandidates = List.copyOf(Objects.requireNonNull(tcpCandidates, "tcpCandidates"));
    }
}
