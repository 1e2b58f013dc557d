package io.cascadesfu.core.srtp;

import java.util.logging.Level;

import org.jitsi.srtp.crypto.Aes;
import org.jitsi.utils.logging2.Logger;
import org.jitsi.utils.logging2.LoggerImpl;

/**
 * One-time set-up of jitsi-srtp: the SunJCE AES (AES-NI intrinsics; BouncyCastle would be 7 times slower and
 * the default "auto" runs a noisy benchmark at start-up) and a logger quiet below WARNING, so that nothing
 * is logged per packet.
 */
final class SrtpProvider {

    static final Logger LOGGER;

    /** System property naming jitsi-srtp's AES provider: {@code SunJCE} (default) or {@code OpenSSL} (JNI). */
    static final String AES_PROPERTY = "cascadesfu.srtp.aes";

    static {
        String aes = System.getProperty(AES_PROPERTY, "SunJCE");
        if (!aes.equals("SunJCE") && !aes.equals("OpenSSL")) {
            throw new IllegalArgumentException(AES_PROPERTY + " must be SunJCE or OpenSSL, not " + aes);
        }
        Aes.setFactoryClassName(aes);
        LOGGER = new LoggerImpl(SrtpSession.class.getName(), Level.WARNING);
    }

    private SrtpProvider() {
    }

    /** Forces the static initialisation; call before the first SrtpContextFactory is made. */
    static Logger logger() {
        return LOGGER;
    }
}
