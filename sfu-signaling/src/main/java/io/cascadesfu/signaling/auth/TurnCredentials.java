package io.cascadesfu.signaling.auth;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Short-lived credentials for a TURN server that shares a secret with the node (coturn's {@code use-auth-secret},
 * the "TURN REST API" scheme): the username is {@code <expiry, unix seconds>:<user>} and the password the base64
 * HMAC-SHA1 of the username under the secret, so the TURN server checks them without asking anyone, and they stop
 * working at the expiry. Given to each participant in {@code joined} as {@code iceServers}, the RTCPeerConnection
 * configuration's shape. Thread-safe.
 */
public final class TurnCredentials {
    private final List<String> urls;
    private final byte[] secret;
    private final Duration ttl;
    private final Clock clock;

    /**
     * @param urls   {@code turn:host:port?transport=udp}, {@code turns:host:443?transport=tcp}, ...
     * @param secret the TURN server's static auth secret
     * @param ttl    how long the credentials work
     */
    public TurnCredentials(List<String> urls, String secret, Duration ttl, Clock clock) {
        if (urls.isEmpty() || secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("TURN needs urls and a secret");
        }
        this.urls = List.copyOf(urls);
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
        this.ttl = ttl;
        this.clock = clock;
    }

    /** The username for {@code user}: {@code <expiry>:<user>}. */
    String username(String user) {
        return (clock.instant().getEpochSecond() + ttl.toSeconds()) + ":" + user;
    }

    /** base64(HMAC-SHA1(secret, username)), what a TURN server with the same secret expects as the password. */
    String password(String username) {
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(secret, "HmacSHA1"));
            return Base64.getEncoder().encodeToString(mac.doFinal(username.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA1 is part of every JRE", e);
        }
    }

    /** {@code [{urls: [...], username, credential}]} for {@code user} (a participant id). */
    public ArrayNode iceServers(String user) {
        ArrayNode list = JsonNodeFactory.instance.arrayNode();
        ObjectNode server = list.addObject();
        ArrayNode u = server.putArray("urls");
        urls.forEach(u::add);
        String username = username(user);
        server.put("username", username);
        server.put("credential", password(username));
        return list;
    }
}
