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
 * @param estimateBps the bandwidth estimate toward the far end from its transport-cc feedback (a relay link this
 *                    node serves: the link's measured capacity as congestion control sees it), -1 if none
 * @param ackedBps    what that feedback says arrived lately (bit/s), 0 before any feedback or without an estimate
 * @param tracksCapped video tracks sent over this relay link with fewer layers than the far end asks for, because
 *                    the link's estimate cannot carry them all
 */
public record LinkStats(boolean connected, long packetsIn, long packetsLost, long bitrateInBps, double jitterMs,
                        long packetsOut, long bytesOut, long estimateBps, long ackedBps, int tracksCapped) {
}
