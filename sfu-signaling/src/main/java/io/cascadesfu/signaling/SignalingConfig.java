package io.cascadesfu.signaling;

import java.util.List;
import java.util.Map;

/**
 * What the signaling layer needs.
 *
 * @param httpBindHost     address of the HTTP/WebSocket listener
 * @param httpPort         its port; 0 picks a free one (tests)
 * @param dev              development mode: serves {@code /token} signed with {@code devKeyId}
 * @param keys             JWT keys, {@code kid -> secret}
 * @param devKeyId         the key {@code /token} signs with in development mode
 * @param videoCodecs      video codecs accepted from publishers, in order of preference
 * @param maxMessageBytes  largest WebSocket frame accepted
 * @param maxParticipantsPerRoom joins beyond this are refused with {@code room_full}
 * @param joinTimeout      a socket that has not sent {@code join} this long after opening is closed
 * @param maxTracksPerParticipant tracks one participant may publish; more get {@code too_many_tracks}
 * @param maxTracksPerRoom tracks a room may hold (each is an m-section in every other member's subscribe offer)
 * @param maxSubscribeSections a subscribe PC gets a new m-section per new track while it has fewer than this many;
 *                         beyond, a new track reuses the inactive section of its kind that has been inactive longest
 */
public record SignalingConfig(String httpBindHost, int httpPort, boolean dev, Map<String, String> keys, String devKeyId,
                              List<String> videoCodecs, int maxMessageBytes, int maxParticipantsPerRoom,
                              java.time.Duration joinTimeout, int maxTracksPerParticipant, int maxTracksPerRoom,
                              int maxSubscribeSections) {
    public SignalingConfig {
        if (maxSubscribeSections < 1) {
            throw new IllegalArgumentException("maxSubscribeSections must be at least 1");
        }
        keys = Map.copyOf(keys);
        videoCodecs = List.copyOf(videoCodecs);
    }
}
