package io.cascadesfu.core;

import java.time.Duration;
import java.util.List;

/**
 * What the media plane needs to start.
 *
 * @param bindHost        address the UDP media port binds to ({@code 0.0.0.0} for all)
 * @param port            UDP media port; 0 picks a free one (tests)
 * @param advertisedHosts addresses written into ICE candidates, in order of preference; empty means
 *                        the bind address (or 127.0.0.1 when bound to the wildcard)
 * @param consentTimeout  RFC 7675: a transport without a valid check for this long is closed
 * @param handshakeTimeout DTLS handshake deadline
 */
public record MediaConfig(String bindHost, int port, List<String> advertisedHosts, Duration consentTimeout,
                          Duration handshakeTimeout) {
    public MediaConfig {
        advertisedHosts = List.copyOf(advertisedHosts);
    }

    public static MediaConfig loopback(int port) {
        return new MediaConfig("127.0.0.1", port, List.of(), Duration.ofSeconds(30), Duration.ofSeconds(10));
    }
}
