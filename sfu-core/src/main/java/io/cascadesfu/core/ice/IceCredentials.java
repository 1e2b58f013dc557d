package io.cascadesfu.core.ice;

import java.security.SecureRandom;
import java.util.Objects;

/**
 * ICE username fragment and password (RFC 8445 section 5.3, syntax in RFC 8839 section 5.4).
 * {@link #toString()} hides the password so credentials can be logged safely.
 */
public record IceCredentials(String ufrag, String pwd) {

    /** ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 section 5.4). */
    private static final char[] ICE_CHARS =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();
    /** RFC 8839 requires at least 4 characters (24 bits) for ufrag; 8 gives 48 bits. */
    public static final int UFRAG_LENGTH = 8;
    /** RFC 8839 requires at least 22 characters (128 bits) for pwd; 24 gives 144 bits. */
    public static final int PWD_LENGTH = 24;

    private static final SecureRandom RANDOM = new SecureRandom();

    public IceCredentials {
        Objects.requireNonNull(ufrag, "ufrag");
        Objects.requireNonNull(pwd, "pwd");
        if (ufrag.isEmpty() || ufrag.indexOf(':') >= 0) {
            throw new IllegalArgumentException("ufrag must be non-empty ice-chars");
        }
    }

    /** Fresh random credentials: 8-char ufrag, 24-char pwd, from {@link SecureRandom}. */
    public static IceCredentials random() {
        return new IceCredentials(randomIceChars(UFRAG_LENGTH), randomIceChars(PWD_LENGTH));
    }

    private static String randomIceChars(int length) {
        final char[] chars = new char[length];
        for (int i = 0; i < length; i++) {
            chars[i] = ICE_CHARS[RANDOM.nextInt(ICE_CHARS.length)];
        }
        return new String(chars);
    }

    @Override
    public String toString() {
        return "IceCredentials[ufrag=" + ufrag + ", pwd=<redacted>]";
    }
}
