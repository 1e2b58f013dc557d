package io.cascadesfu.signaling.room;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Who is speaking in a room, from the audio levels of its participants' tracks (RFC 6464, sampled every
 * {@link RoomManager#SPEAKER_SAMPLE_MS} ms): a smoothed loudness per participant, the ordered list of those above
 * the speaking threshold, and a dominant speaker with hysteresis: another participant takes over only when louder
 * by {@link #TAKE_OVER_MARGIN} for {@link #TAKE_OVER_SAMPLES} samples in a row, or when the dominant one falls
 * silent, so the choice does not flicker between two voices.
 *
 * <p>Threading: control thread only.
 */
final class ActiveSpeakers {
    /** Smoothed loudness (0 silence .. 127 loudest) above which a participant counts as speaking (~ -70 dBov). */
    static final double SPEAKING = 57;
    static final double TAKE_OVER_MARGIN = 6;
    static final int TAKE_OVER_SAMPLES = 2;

    private final Map<String, Double> smoothed = new HashMap<>();
    private String dominant;
    private String challenger;
    private int challengerSamples;
    private List<String> lastSpeakers = List.of();
    private String lastDominant;

    /**
     * One sample: loudness by participant id (participants with no level this time are silent). Returns true when
     * the speakers or the dominant speaker changed.
     */
    boolean update(Map<String, Double> loudness) {
        for (String id : new ArrayList<>(smoothed.keySet())) {
            if (!loudness.containsKey(id)) {
                double v = smoothed.get(id) * 0.5;
                if (v < 1) {
                    smoothed.remove(id);
                } else {
                    smoothed.put(id, v);
                }
            }
        }
        loudness.forEach((id, v) -> smoothed.merge(id, v, (old, now) -> old * 0.3 + now * 0.7));
        List<String> speakers = new ArrayList<>();
        smoothed.entrySet().stream().filter(e -> e.getValue() >= SPEAKING)
                .sorted((a, b) -> Double.compare(b.getValue(), a.getValue())).forEach(e -> speakers.add(e.getKey()));
        String loudest = speakers.isEmpty() ? null : speakers.get(0);
        if (dominant == null || !speakers.contains(dominant)) {
            if (loudest != null) {
                dominant = loudest; // nobody holds the floor: the loudest takes it at once
            }
            challenger = null;
        } else if (loudest != null && !loudest.equals(dominant)
                && smoothed.get(loudest) >= smoothed.get(dominant) + TAKE_OVER_MARGIN) {
            challengerSamples = loudest.equals(challenger) ? challengerSamples + 1 : 1;
            challenger = loudest;
            if (challengerSamples >= TAKE_OVER_SAMPLES) {
                dominant = loudest;
                challenger = null;
            }
        } else {
            challenger = null;
        }
        boolean changed = !speakers.equals(lastSpeakers) || !Objects.equals(dominant, lastDominant);
        lastSpeakers = List.copyOf(speakers);
        lastDominant = dominant;
        return changed;
    }

    /** A participant left. */
    void remove(String participantId) {
        smoothed.remove(participantId);
        if (participantId.equals(dominant)) {
            dominant = null;
        }
    }

    String dominant() {
        return dominant;
    }

    List<String> speakers() {
        return lastSpeakers;
    }
}
