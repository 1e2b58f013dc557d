package io.cascadesfu.core;

import java.time.Duration;
import java.util.List;

/**
 * What the media plane needs to start.
 *
 * @param bindHost         address the UDP media ports bind to ({@code 0.0.0.0} for all)
 * @param port             UDP media port of worker 0; worker {@code i} binds {@code port + i}. 0 picks free ports
 *                         (tests)
 * @param advertisedHosts  addresses written into ICE candidates, in order of preference; empty means the bind
 *                         address (or 127.0.0.1 when bound to the wildcard)
 * @param consentTimeout   RFC 7675: a transport without a valid check for this long is closed
 * @param handshakeTimeout DTLS handshake deadline
 * @param workers          media workers (event loops), each with its own port; at least 1
 * @param placement        how members of a room are spread over workers
 * @param keyframeRequestInterval a publisher is asked for a keyframe at most once per this, per track, however many
 *                         subscribers ask
 * @param tcpPort          ICE-TCP (RFC 6544 passive host candidates, RFC 4571 framing) port shared by all workers, on
 *                         {@code bindHost}; 0: off (UDP only)
 */
public record MediaConfig(String bindHost, int port, List<String> advertisedHosts, Duration consentTimeout,
                          Duration handshakeTimeout, int workers, Placement placement, Duration keyframeRequestInterval,
                          int tcpPort) {
    public MediaConfig {
        if (tcpPort < 0 || tcpPort > 65535) {
            throw new IllegalArgumentException("tcpPort must be 0 (off) or a port: " + tcpPort);
        }
        advertisedHosts = List.copyOf(advertisedHosts);
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1");
        }
        if (port != 0 && port + workers - 1 > 65535) {
            throw new IllegalArgumentException("media ports " + port + ".." + (port + workers - 1) + " exceed 65535");
        }
    }

    /**
     * Where the members of a room go.
     *
     * @param memberBudget a room's members join the worker that holds most of them until that worker holds this many
     *                     members (of all rooms); then the least-loaded worker, linked by a pipe
     * @param spread       every member goes to the least-loaded worker (tests and demos of pipes)
     */
    public record Placement(int memberBudget, boolean spread) {
        public static final Placement DEFAULT = new Placement(100, false);

        public Placement {
            if (memberBudget < 1) {
                throw new IllegalArgumentException("memberBudget must be at least 1");
            }
        }
    }

    public MediaConfig(String bindHost, int port, List<String> advertisedHosts, Duration consentTimeout,
                       Duration handshakeTimeout) {
        this(bindHost, port, advertisedHosts, consentTimeout, handshakeTimeout, 1, Placement.DEFAULT);
    }

    public MediaConfig(String bindHost, int port, List<String> advertisedHosts, Duration consentTimeout,
                       Duration handshakeTimeout, int workers, Placement placement) {
        this(bindHost, port, advertisedHosts, consentTimeout, handshakeTimeout, workers, placement,
                Duration.ofMillis(300));
    }

    public MediaConfig(String bindHost, int port, List<String> advertisedHosts, Duration consentTimeout,
                       Duration handshakeTimeout, int workers, Placement placement, Duration keyframeRequestInterval) {
        this(bindHost, port, advertisedHosts, consentTimeout, handshakeTimeout, workers, placement,
                keyframeRequestInterval, 0);
    }

    /** This config with ICE-TCP on {@code tcpPort} (0: off). */
    public MediaConfig withTcpPort(int tcpPort) {
        return new MediaConfig(bindHost, port, advertisedHosts, consentTimeout, handshakeTimeout, workers, placement,
                keyframeRequestInterval, tcpPort);
    }

    public static MediaConfig loopback(int port) {
        return new MediaConfig("127.0.0.1", port, List.of(), Duration.ofSeconds(30), Duration.ofSeconds(10));
    }

    public MediaConfig withWorkers(int workers, Placement placement) {
        return new MediaConfig(bindHost, port, advertisedHosts, consentTimeout, handshakeTimeout, workers, placement,
                keyframeRequestInterval, tcpPort);
    }
}
