package io.cascadesfu.core.srtp;

import java.util.logging.Level;

import org.jitsi.srtp.crypto.Aes;
import org.jitsi.srtp.crypto.JitsiOpenSslProvider;
import org.jitsi.utils.logging2.Logger;
import org.jitsi.utils.logging2.LoggerImpl;

/**
 * One-time set-up of jitsi-srtp: its AES provider and a logger quiet below WARNING, so that nothing is logged per
 * packet. The AES is SunJCE (AES-NI intrinsics) unless {@value #AES_PROPERTY} asks for OpenSSL through jitsi-srtp's
 * JNI library (Linux with libssl 1.1 or 3). JDK 17's SunJCE makes ~1.1 KB of garbage per AES-GCM packet (a new
 * engine per {@code Cipher.init}), OpenSSL ~0.2 KB; but measured with browsers (BENCHMARKS.md, "Memory") OpenSSL
 * cost ~9 % more CPU per forwarded packet and lowered the peak resident size by only ~5 %, so SunJCE stays the
 * default. BouncyCastle would be 7 times slower, and jitsi-srtp's own default ("auto") runs a noisy benchmark at
 * start-up; neither is used.
 */
final class SrtpProvider {

    static final Logger LOGGER;

    /** System property naming jitsi-srtp's AES provider: {@code SunJCE} (default) or {@code OpenSSL} (JNI). */
    static final String AES_PROPERTY = "cascadesfu.srtp.aes";

    static {
        String aes = System.getProperty(AES_PROPERTY, "SunJCE");
        if (aes.equals("OpenSSL") && !openSslLoads()) {
            throw new IllegalStateException(AES_PROPERTY + "=OpenSSL, but jitsi-srtp's OpenSSL library did not load "
                    + "(its log line above says why)");
        }
        if (!aes.equals("SunJCE") && !aes.equals("OpenSSL")) {
            throw new IllegalArgumentException(AES_PROPERTY + " must be SunJCE or OpenSSL, not " + aes);
        }
        Aes.setFactoryClassName(aes);
        LOGGER = new LoggerImpl(SrtpSession.class.getName(), Level.WARNING);
    }

    private static boolean openSslLoads() {
        try {
            return JitsiOpenSslProvider.isLoaded();
        } catch (LinkageError e) {
            return false;
        }
    }

    private SrtpProvider() {
    }

    /** Forces the static initialisation; call before the first SrtpContextFactory is made. */
    static Logger logger() {
        return LOGGER;
    }
}
