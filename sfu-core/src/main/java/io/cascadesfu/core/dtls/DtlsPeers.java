package io.cascadesfu.core.dtls;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.List;

import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.TlsContext;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/** Settings both DTLS roles share. */
final class DtlsPeers {

    /** Label for the RFC 5705 exporter, RFC 5764 4.2. */
    static final String SRTP_EXPORTER_LABEL = "EXTRACTOR-dtls_srtp";

    /** ECDHE with ECDSA certificates only: both sides use P-256 certificates (as browsers do). */
    static final int[] CIPHER_SUITES = {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    };

    /** Our preference order when the peer offers several profiles. */
    static final List<SrtpProfile> PREFERRED_PROFILES = List.of(SrtpProfile.values());

    private static final SecureRandom RANDOM = new SecureRandom();

    private DtlsPeers() {
    }

    /** BouncyCastle's lightweight crypto for the handshake only; SRTP never uses it. */
    static BcTlsCrypto newCrypto() {
        return new BcTlsCrypto(RANDOM);
    }

    static SrtpKeys exportKeys(TlsContext context, SrtpProfile profile, boolean isClient) throws IOException {
        if (profile == null) {
            throw new IOException("no SRTP profile negotiated");
        }
        byte[] material = context.exportKeyingMaterial(SRTP_EXPORTER_LABEL, null, SrtpKeys.keyingMaterialLength(profile));
        return SrtpKeys.fromKeyingMaterial(profile, material, isClient);
    }
}
