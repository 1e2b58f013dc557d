package io.cascadesfu.cascade;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The control channel's cryptography, all keyed by the cluster secret: the handshake's proofs (HMAC-SHA256 over
 * both nonces, both node ids and what both announced, one label per direction, so a proof cannot be reflected or replayed into another
 * session) and, after it, AES-256-GCM per direction with keys derived the same way and a frame counter as the
 * nonce (a frame replayed, reordered or forged fails to open and closes the connection).
 *
 * <p>Threading: one instance per connection, used on its event loop only.
 */
final class ChannelCrypto {
    static final int COUNTER_BYTES = 8;
    static final int TAG_BITS = 128;

    private final SecretKeySpec sendKey;
    private final SecretKeySpec receiveKey;
    private final Cipher cipher;
    private long sendCounter;
    private long receiveCounter;

    private ChannelCrypto(byte[] sendKey, byte[] receiveKey) {
        this.sendKey = new SecretKeySpec(sendKey, "AES");
        this.receiveKey = new SecretKeySpec(receiveKey, "AES");
        try {
            this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM unavailable", e);
        }
    }

    /** Keys of a session between {@code client} and {@code server} with their nonces, seen from {@code client}'s side. */
    static ChannelCrypto forClient(String secret, String clientNonce, String serverNonce, String client, String server) {
        return new ChannelCrypto(derive(secret, "c2s", clientNonce, serverNonce, client, server),
                derive(secret, "s2c", clientNonce, serverNonce, client, server));
    }

    static ChannelCrypto forServer(String secret, String clientNonce, String serverNonce, String client, String server) {
        return new ChannelCrypto(derive(secret, "s2c", clientNonce, serverNonce, client, server),
                derive(secret, "c2s", clientNonce, serverNonce, client, server));
    }

    /**
     * A handshake proof: base64 of HMAC-SHA256(secret, label|nonces|ids|transcript), the transcript being what
     * both sides announced in the handshake (so it cannot be changed on the way either).
     */
    static String proof(String secret, String label, String clientNonce, String serverNonce, String client,
                        String server, String transcript) {
        return Base64.getEncoder().encodeToString(derive(secret, label, clientNonce, serverNonce,
                client, server + "|" + transcript));
    }

    /** Compares two proofs in constant time. */
    static boolean sameProof(String expected, String given) {
        return given != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                given.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] derive(String secret, String label, String clientNonce, String serverNonce, String client,
                                 String server) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return mac.doFinal((label + "|" + clientNonce + "|" + serverNonce + "|" + client + "|" + server)
                    .getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** Counter, then ciphertext and tag. */
    byte[] seal(byte[] plaintext) {
        long counter = sendCounter++;
        try {
            cipher.init(Cipher.ENCRYPT_MODE, sendKey, new GCMParameterSpec(TAG_BITS, iv(counter)));
            byte[] sealed = cipher.doFinal(plaintext);
            return ByteBuffer.allocate(COUNTER_BYTES + sealed.length).putLong(counter).put(sealed).array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("sealing failed", e);
        }
    }

    /** The plaintext of a frame, or null if it is forged, replayed or out of order. */
    byte[] open(byte[] frame) {
        if (frame.length < COUNTER_BYTES + TAG_BITS / 8) {
            return null;
        }
        long counter = ByteBuffer.wrap(frame).getLong();
        if (counter != receiveCounter) {
            return null;
        }
        try {
            cipher.init(Cipher.DECRYPT_MODE, receiveKey, new GCMParameterSpec(TAG_BITS, iv(counter)));
            byte[] plain = cipher.doFinal(frame, COUNTER_BYTES, frame.length - COUNTER_BYTES);
            receiveCounter++;
            return plain;
        } catch (GeneralSecurityException e) {
            return null;
        }
    }

    private static byte[] iv(long counter) {
        return ByteBuffer.allocate(12).putInt(0).putLong(counter).array();
    }
}
