package io.cascadesfu.core.room;

/**
 * Counters of one endpoint's media, summed over its streams: what arrives on it (the producers it publishes; for a
 * relay link, the streams relayed to this node) and what it sends (its consumers). A snapshot; rates are the
 * caller's deltas between two.
 *
 * @param packetsIn   RTP packets received
 * @param packetsLost packets expected and not received (RFC 3550 cumulative loss, summed)
 * @param bitrateInBps what arrives now (each stream's rate over the last second)
 * @param jitterMs    the largest interarrival jitter of its incoming streams
 * @param packetsOut  RTP packets sent (retransmissions not included)
 * @param bytesOut    payload bytes sent
 */
public record LinkStats(boolean connected, long packetsIn, long packetsLost, long bitrateInBps, double jitterMs,
                        long packetsOut, long bytesOut) {
}
