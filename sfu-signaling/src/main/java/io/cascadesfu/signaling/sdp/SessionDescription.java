package io.cascadesfu.signaling.sdp;

import java.util.List;
import java.util.Objects;

/**
 * A parsed SDP body. Transport attributes are resolved the way a BUNDLE endpoint uses them: media level of the
 * first non-rejected m-section wins, then session level.
 *
 * @param iceUfrag             a=ice-ufrag
 * @param icePwd               a=ice-pwd
 * @param fingerprintAlgorithm hash function of a=fingerprint, lower case (e.g. {@code sha-256})
 * @param fingerprint          fingerprint value as written ({@code AB:CD:...})
 * @param setup                a=setup role ({@code actpass}, {@code active}, {@code passive}), {@code ""} if absent
 * @param iceLite              session-level a=ice-lite
 * @param bundleMids           mids of the first a=group:BUNDLE, empty if none
 * @param media                the m-sections in order
 */
public record SessionDescription(String iceUfrag, String icePwd, String fingerprintAlgorithm, String fingerprint,
        String setup, boolean iceLite, List<String> bundleMids, List<MediaSection> media) {

    public SessionDescription {
        Objects.requireNonNull(iceUfrag, "iceUfrag");
        Objects.requireNonNull(icePwd, "icePwd");
        Objects.requireNonNull(fingerprintAlgorithm, "fingerprintAlgorithm");
        Objects.requireNonNull(fingerprint, "fingerprint");
        Objects.requireNonNull(setup, "setup");
        bundleMids = List.copyOf(bundleMids);
        media = List.copyOf(media);
    }
}
