package io.cascadesfu.signaling.room;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ActiveSpeakersTest {
    static final double VOICE = 100; // ~ -27 dBov
    static final double SILENCE = 0;

    @Test
    void theFirstVoiceTakesTheFloorAtOnceAndSilenceIsNobody() {
        ActiveSpeakers s = new ActiveSpeakers();
        assertFalse(s.update(Map.of("a", SILENCE, "b", SILENCE)));
        assertNull(s.dominant());
        assertTrue(s.update(Map.of("a", VOICE, "b", SILENCE)));
        assertEquals("a", s.dominant());
        assertEquals(List.of("a"), s.speakers());
    }

    @Test
    void aSecondVoiceTakesOverOnlyWhenClearlyLouderForTwoSamples() {
        ActiveSpeakers s = new ActiveSpeakers();
        for (int i = 0; i < 3; i++) {
            s.update(Map.of("a", VOICE, "b", SILENCE));
        }
        s.update(Map.of("a", VOICE, "b", VOICE + 3)); // about as loud: no flicker
        s.update(Map.of("a", VOICE, "b", VOICE + 3));
        assertEquals("a", s.dominant());
        s.update(Map.of("a", 80.0, "b", 110.0));
        assertEquals("a", s.dominant(), "one louder sample is not enough");
        s.update(Map.of("a", 80.0, "b", 110.0));
        assertEquals("b", s.dominant());
        assertEquals(List.of("b", "a"), s.speakers(), "loudest first");
    }

    @Test
    void whenTheDominantFallsSilentTheNextSpeakerTakesOverAndALeaverIsForgotten() {
        ActiveSpeakers s = new ActiveSpeakers();
        s.update(Map.of("a", VOICE, "b", 70.0));
        assertEquals("a", s.dominant());
        for (int i = 0; i < 4; i++) {
            s.update(Map.of("a", SILENCE, "b", 70.0));
        }
        assertEquals("b", s.dominant());
        s.remove("b");
        s.update(Map.of("a", SILENCE));
        assertNull(s.dominant());
        assertEquals(List.of(), s.speakers());
    }
}
