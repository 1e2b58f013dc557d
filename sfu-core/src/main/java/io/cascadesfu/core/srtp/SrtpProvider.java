package io.cascadesfu.core.srtp;

import java.util.logging.Level;

import org.jitsi.srtp.crypto.Aes;
import org.jitsi.srtp.crypto.JitsiOpenSslProvider;
import org.jitsi.utils.logging2.Logger;
import org.jitsi.utils.logging2.LoggerImpl;

/**
 * One-time set-up of jitsi-srtp: its AES provider and a logger quiet below WARNING, so that nothing is logged per
 * packet. The AES is OpenSSL through jitsi-srtp's JNI library where that loads (Linux with libssl 1.1 or 3), else
 * SunJCE. Both use AES-NI at about the same speed per packet (MEASURED.md), but JDK 17's SunJCE makes ~1.1 KB of
 * garbage for each AES-GCM packet (a new engine per {@code Cipher.init}) against ~0.2 KB through OpenSSL: at
 * browser rates that garbage is what the heap grows by (a fan-out to 16 peaked at 300 MB resident with SunJCE,
 * 180 MB with OpenSSL; BENCHMARKS.md). BouncyCastle would be 7 times slower, and jitsi-srtp's own default
 * ("auto") runs a noisy benchmark at start-up; neither is used.
 */
final class SrtpProvider {

    static final Logger LOGGER;

    /**
     * System property naming jitsi-srtp's AES provider: {@code auto} (default: OpenSSL if its library loads, else
     * SunJCE), {@code OpenSSL} (JNI; fails if it cannot load) or {@code SunJCE}.
     */
    static final String AES_PROPERTY = "cascadesfu.srtp.aes";

    /** The AES provider in use: {@code OpenSSL} or {@code SunJCE}. */
    static final String AES;

    static {
        String wanted = System.getProperty(AES_PROPERTY, "auto");
        AES = switch (wanted) {
            case "auto" -> openSslLoads() ? "OpenSSL" : "SunJCE";
            case "OpenSSL" -> {
                if (!openSslLoads()) {
                    throw new IllegalStateException(AES_PROPERTY + "=OpenSSL, but jitsi-srtp's OpenSSL library "
                            + "did not load (see its log line above)");
                }
                yield "OpenSSL";
            }
            case "SunJCE" -> "SunJCE";
            default -> throw new IllegalArgumentException(
                    AES_PROPERTY + " must be auto, OpenSSL or SunJCE, not " + wanted);
        };
        Aes.setFactoryClassName(AES);
        LOGGER = new LoggerImpl(SrtpSession.class.getName(), Level.WARNING);
        org.slf4j.LoggerFactory.getLogger(SrtpProvider.class).info("SRTP AES through {}", AES);
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
