package io.cascadesfu.cascade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.cascadesfu.cascade.Routes.Candidate;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The route choice on measured round trips: direct unless a detour is clearly shorter or the origin is cut off. */
class RoutesTest {
    @Test
    void directWhenNoDetourIsClearlyShorter() {
        // Virginia - California 62 ms direct; through Frankfurt far longer.
        assertEquals("us-west", Routes.choose("us-west", true, 62, Map.of("eu-central", new Candidate(90, 150)), null));
        // A detour that saves less than the 25 ms floor is not worth a second hop.
        assertEquals("b", Routes.choose("b", true, 30, Map.of("c", new Candidate(10, 12)), null));
    }

    @Test
    void aDetourClearlyShorterThanTheDirectLinkIsTaken() {
        // A direct path routed badly (150 ms) against 20 + 40 through another node.
        assertEquals("c", Routes.choose("b", true, 150, Map.of("c", new Candidate(20, 40)), null));
        // The shortest of two detours.
        assertEquals("d", Routes.choose("b", true, 150,
                Map.of("c", new Candidate(20, 40), "d", new Candidate(10, 15)), null));
    }

    @Test
    void aDetourIsKeptUntilItNoLongerPaysHalfTheMargin() {
        Map<String, Candidate> viaC = Map.of("c", new Candidate(2, 2));
        assertEquals("c", Routes.choose("b", true, 29.1, viaC, null)); // 4 + 25 < 29.1: taken
        assertEquals("c", Routes.choose("b", true, 20, viaC, "c")); // 4 + 12.5 < 20: still pays, kept
        assertEquals("b", Routes.choose("b", true, 28, viaC, null)); // not taken afresh at 28
        assertEquals("b", Routes.choose("b", true, 16, viaC, "c")); // 4 + 12.5 >= 16: back to direct
    }

    @Test
    void anotherDetourReplacesTheCurrentOneOnlyWhenClearlyShorter() {
        Map<String, Candidate> two = Map.of("c", new Candidate(20, 20), "d", new Candidate(15, 20));
        assertEquals("c", Routes.choose("b", true, 200, two, "c")); // d saves 5 ms of the 40 ms margin: stay
        Map<String, Candidate> far = Map.of("c", new Candidate(80, 80), "d", new Candidate(15, 20));
        assertEquals("d", Routes.choose("b", true, 200, far, "c"));
    }

    @Test
    void unmeasuredRoundTripsKeepTheDirectLink() {
        assertEquals("b", Routes.choose("b", true, -1, Map.of("c", new Candidate(1, 1)), null));
        assertEquals("b", Routes.choose("b", true, 100, Map.of("c", new Candidate(-1, 1)), null));
    }

    @Test
    void anOriginCutOffIsReachedThroughAPeerThatHearsIt() {
        assertEquals("c", Routes.choose("b", false, -1,
                Map.of("d", new Candidate(-1, -1), "c", new Candidate(30, 30)), null)); // measured first
        assertEquals("c", Routes.choose("b", false, -1, Map.of("c", new Candidate(-1, -1), "d", new Candidate(-1, -1)),
                null)); // lowest id among equals
        assertEquals("d", Routes.choose("b", false, -1,
                Map.of("c", new Candidate(1, 1), "d", new Candidate(50, 50)), "d")); // a working detour is kept
        assertNull(Routes.choose("b", false, -1, Map.of(), null));
        assertNull(Routes.choose("b", false, -1, Map.of(), "c")); // the detour's node is gone as well
    }

    @Test
    void aDetourWhoseNodeStoppedPassingTheOriginOnIsLeft() {
        assertEquals("b", Routes.choose("b", true, 100, Map.of(), "c"));
    }
}
