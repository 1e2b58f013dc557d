package io.cascadesfu.core.dtls;

/**
 * SRTP protection profiles negotiated through the DTLS use_srtp extension (RFC 5764 4.1.2, RFC 7714 14.2),
 * listed in this SFU's order of preference: GCM first, since it is both faster here and authenticates with one pass.
 */
public enum SrtpProfile {
    /** RFC 7714: AES-128-GCM, 16-byte tag, 12-byte master salt. */
    AEAD_AES_128_GCM(0x0007, 16, 12, 16),
    /** RFC 5764: AES-128 counter mode with an 80-bit HMAC-SHA1 tag, 14-byte master salt. */
    AES_CM_128_HMAC_SHA1_80(0x0001, 16, 14, 10);

    private final int id;
    private final int keyLength;
    private final int saltLength;
    private final int authTagLength;

    SrtpProfile(int id, int keyLength, int saltLength, int authTagLength) {
        this.id = id;
        this.keyLength = keyLength;
        this.saltLength = saltLength;
        this.authTagLength = authTagLength;
    }

    /** The two-byte SRTPProtectionProfile value carried in use_srtp. */
    public int id() {
        return id;
    }

    /** Master key length in bytes. */
    public int keyLength() {
        return keyLength;
    }

    /** Master salt length in bytes. */
    public int saltLength() {
        return saltLength;
    }

    /** Authentication tag length in bytes appended to each SRTP packet. */
    public int authTagLength() {
        return authTagLength;
    }

    /** The profile with this use_srtp value, or null if this SFU does not support it. */
    public static SrtpProfile fromId(int id) {
        for (SrtpProfile p : values()) {
            if (p.id == id) {
                return p;
            }
        }
        return null;
    }
}
