package io.cascadesfu.core.dtls;

import java.util.Objects;

/**
 * Keys exported from the DTLS handshake (RFC 5764 4.2). {@code local*} protect what this side sends,
 * {@code remote*} unprotect what it receives. The arrays are owned by this record: do not modify them.
 */
public record SrtpKeys(SrtpProfile profile, byte[] localKey, byte[] localSalt, byte[] remoteKey, byte[] remoteSalt) {

    public SrtpKeys {
        Objects.requireNonNull(profile, "profile");
        check("localKey", localKey, profile.keyLength());
        check("remoteKey", remoteKey, profile.keyLength());
        check("localSalt", localSalt, profile.saltLength());
        check("remoteSalt", remoteSalt, profile.saltLength());
    }

    private static void check(String name, byte[] value, int expectedLength) {
        Objects.requireNonNull(value, name);
        if (value.length != expectedLength) {
            throw new IllegalArgumentException(name + " must be " + expectedLength + " bytes, got " + value.length);
        }
    }

    /**
     * Splits keying material exported with the label "EXTRACTOR-dtls_srtp" into keys for one side.
     * Layout (RFC 5764 4.2): client_write_key | server_write_key | client_write_salt | server_write_salt.
     */
    public static SrtpKeys fromKeyingMaterial(SrtpProfile profile, byte[] material, boolean isClient) {
        int k = profile.keyLength();
        int s = profile.saltLength();
        if (material.length != 2 * (k + s)) {
            throw new IllegalArgumentException("keying material must be " + 2 * (k + s) + " bytes");
        }
        byte[] clientKey = java.util.Arrays.copyOfRange(material, 0, k);
        byte[] serverKey = java.util.Arrays.copyOfRange(material, k, 2 * k);
        byte[] clientSalt = java.util.Arrays.copyOfRange(material, 2 * k, 2 * k + s);
        byte[] serverSalt = java.util.Arrays.copyOfRange(material, 2 * k + s, 2 * (k + s));
        return isClient
            ? new SrtpKeys(profile, clientKey, clientSalt, serverKey, serverSalt)
            : new SrtpKeys(profile, serverKey, serverSalt, clientKey, clientSalt);
    }

    /** Total bytes to export for a profile: two keys and two salts. */
    public static int keyingMaterialLength(SrtpProfile profile) {
        return 2 * (profile.keyLength() + profile.saltLength());
    }

    /** Never prints key material. */
    @Override
    public String toString() {
        return "SrtpKeys[" + profile + "]";
    }
}
