package io.cascadesfu.core.dtls;

import java.util.Locale;
import java.util.Objects;

import org.bouncycastle.tls.Certificate;

/** The fingerprint the peer announced in its SDP (RFC 8122), checked against the certificate it presents. */
final class PeerFingerprint {

    private final String algorithm;
    private final String value;

    PeerFingerprint(String algorithm, String value) {
        Objects.requireNonNull(algorithm, "remoteFingerprintAlgorithm");
        Objects.requireNonNull(value, "remoteFingerprint");
        if (DtlsCertificate.digestName(algorithm) == null) {
            throw new IllegalArgumentException("unsupported fingerprint algorithm: " + algorithm
                + " (expected sha-1, sha-256, sha-384 or sha-512)");
        }
        this.algorithm = algorithm.toLowerCase(Locale.ROOT);
        this.value = value.trim().toUpperCase(Locale.ROOT);
    }

    /** True if the end-entity certificate of the chain hashes to the announced fingerprint. */
    boolean matches(Certificate chain) {
        if (chain == null || chain.isEmpty()) {
            return false;
        }
        try {
            byte[] der = chain.getCertificateAt(0).getEncoded();
            return DtlsCertificate.fingerprint(algorithm, der).equals(value);
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }
}
