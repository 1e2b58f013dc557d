package io.cascadesfu.cascade;

import java.util.Map;

/**
 * The route choice of the cascade, as a pure function: over which peer's link a node receives the participants of
 * one origin node in one room. Directly from the origin while that is best; through one other node (which
 * receives them directly) when the origin cannot be heard from, or when the path through that node is shorter by
 * a clear margin, measured in control-channel round trips. Routes are at most two links long and have no loops:
 * a node passes on only what it receives directly.
 *
 * <p>Hysteresis keeps a route from flapping on noisy measurements: a detour is taken when it saves
 * {@link #margin} of the direct round trip, left when it no longer saves half of that, and replaced by another
 * detour only when that one is shorter by the margin too.
 */
public final class Routes {
    /**
     * The least saving (ms) for which a detour is taken over the direct link: less is not worth a second hop's
     * work, and is within what a busy node's scheduling adds to a measurement.
     */
    public static final double MIN_GAIN_MS = 25;
    /** The share of the direct round trip a detour must save, when that is more than {@link #MIN_GAIN_MS}. */
    public static final double GAIN_SHARE = 0.2;

    private Routes() {
    }

    /** What this node may go through to reach an origin: its round trip to the candidate, and the candidate's to the origin. */
    public record Candidate(double rttToCandidateMs, double rttCandidateToOriginMs) {
        /** The detour's length, or infinity when a part of it is not measured (a candidate of last resort). */
        double cost() {
            return rttToCandidateMs < 0 || rttCandidateToOriginMs < 0 ? Double.POSITIVE_INFINITY
                    : rttToCandidateMs + rttCandidateToOriginMs;
        }
    }

    /** How much shorter a detour must be than a direct round trip of {@code directMs} to be taken. */
    public static double margin(double directMs) {
        return Math.max(MIN_GAIN_MS, GAIN_SHARE * directMs);
    }

    /**
     * The node to receive {@code origin}'s participants from.
     *
     * @param origin      the node the participants are on
     * @param reachable   whether this node hears from {@code origin} directly (its control channel is up)
     * @param directMs    the measured round trip to {@code origin}, -1 if not measured
     * @param candidates  the peers that say they receive {@code origin}'s participants directly, by id (sorted
     *                    maps give the lowest id among equals)
     * @param current     the route chosen last time, or null
     * @return {@code origin}, a candidate's id, or null when the participants cannot be reached
     */
    public static String choose(String origin, boolean reachable, double directMs, Map<String, Candidate> candidates,
                                String current) {
        String best = null;
        double bestCost = Double.POSITIVE_INFINITY;
        for (Map.Entry<String, Candidate> e : new java.util.TreeMap<>(candidates).entrySet()) {
            double c = e.getValue().cost();
            if (best == null || c < bestCost) {
                best = e.getKey();
                bestCost = c;
            }
        }
        Candidate kept = current == null || current.equals(origin) ? null : candidates.get(current);
        if (!reachable) {
            return kept != null ? current : best; // stay on a working detour; else the shortest there is
        }
        if (directMs < 0 || best == null) {
            return origin; // nothing to compare: direct is one hop and costs no other node anything
        }
        double margin = margin(directMs);
        if (kept != null && kept.cost() + margin / 2 < directMs) {
            // On a detour that still pays: move to another only if that one is clearly shorter again.
            return bestCost + margin < kept.cost() ? best : current;
        }
        return bestCost + margin < directMs ? best : origin;
    }
}
