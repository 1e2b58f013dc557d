package io.cascadesfu.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line of the per-participant impairment, NACK and deadline options. */
class LoadOptionsTest {
    static final String URL = "http://127.0.0.1:7880";

    @Test
    void impairForGivesEachNamedParticipantItsOwnPathBothWays() throws Exception {
        LoadOptions o = LoadOptions.parse("--url", URL, "--participants", "3", "--impair", "delay=5ms",
                "--impair-for", "0=delay=46ms,jitter=3ms,loss=2%", "--impair-for=2=");

        assertTrue(o.impaired());
        Impairment californian = new Impairment(46_000, 3_000, 2, 0);
        assertEquals(californian, o.impairUp(0));
        assertEquals(californian, o.impairDown(0));
        assertEquals(Impairment.parse("delay=5ms"), o.impairUp(1), "the others keep --impair");
        assertEquals(Impairment.NONE, o.impairDown(2), "an empty spec: a direct path");
    }

    @Test
    void impairForAloneMakesTheRunImpairedAndDefaultsStayOff() throws Exception {
        LoadOptions o = LoadOptions.parse("--url", URL, "--participants", "2", "--impair-for", "1=loss=2%");
        assertTrue(o.impaired());
        assertEquals(Impairment.NONE, o.impairUp(0));
        assertFalse(o.nack);
        assertEquals(Duration.ofMillis(150), o.deadline);
    }

    @Test
    void nackAndDeadlineAreParsed() throws Exception {
        LoadOptions o = LoadOptions.parse("--url", URL, "--participants", "2", "--nack", "--deadline", "200ms",
                "--warmup", "5s");
        assertTrue(o.nack);
        assertEquals(Duration.ofMillis(200), o.deadline);
        assertEquals(Duration.ofSeconds(5), o.warmup);
        assertEquals(Duration.ZERO, LoadOptions.parse("--url", URL, "--participants", "2").warmup);
    }

    @ParameterizedTest
    @ValueSource(strings = {"delay=5ms", "x=delay=5ms", "-1=delay=5ms", "=delay=5ms", "0=delay=fast", "5=loss=1%"})
    void badImpairForIsRefused(String value) {
        assertThrows(LoadOptions.UsageException.class,
                () -> LoadOptions.parse("--url", URL, "--participants", "2", "--impair-for", value));
    }

    @Test
    void urlForPlacesOneParticipantOnItsOwnNode() throws Exception {
        LoadOptions o = LoadOptions.parse("--url", "http://b:2", "--url", "http://c:3", "--participants", "4",
                "--url-for", "0=http://a:1");
        assertEquals(java.net.URI.create("http://a:1"), o.urlOf(0));
        assertEquals(java.net.URI.create("http://c:3"), o.urlOf(1), "the others keep the round-robin");
        assertEquals(java.net.URI.create("http://b:2"), o.urlOf(2));
        assertEquals(java.util.List.of(java.net.URI.create("http://b:2"), java.net.URI.create("http://c:3"),
                java.net.URI.create("http://a:1")), o.allUrls(), "every node measured once");
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://a:1", "x=http://a:1", "-1=http://a:1", "9=http://a:1"})
    void aBadUrlForIsRefused(String value) {
        assertThrows(LoadOptions.UsageException.class,
                () -> LoadOptions.parse("--url", URL, "--participants", "2", "--url-for", value));
    }

    @Test
    void aParticipantGivenTwiceIsRefused() {
        assertThrows(LoadOptions.UsageException.class, () -> LoadOptions.parse("--url", URL, "--participants", "2",
                "--impair-for", "0=loss=1%", "--impair-for", "0=loss=2%"));
    }

    @Test
    void impairForExcludesVia() {
        assertThrows(LoadOptions.UsageException.class, () -> LoadOptions.parse("--url", URL, "--participants", "2",
                "--via", "127.0.0.1:9999", "--impair-for", "0=loss=1%"));
    }

    @Test
    void relayToolNeedsListenAndTarget() {
        ImpairmentRelayTool.Options o = ImpairmentRelayTool.parse("--listen", "127.0.0.1:10099", "--target",
                "127.0.0.1:10020", "--impair", "delay=31ms");
        assertEquals(31_000, o.up().delayUs());
        assertEquals(31_000, o.down().delayUs());
        assertThrows(IllegalArgumentException.class, () -> ImpairmentRelayTool.parse("--listen", "127.0.0.1:1"));
    }
}
