package io.cascadesfu.signaling.sdp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;

/** SdpParser never throws anything but SdpException, whatever it is given (the parser's fuzzer). */
class SdpParserPropertiesTest {

    /** One edit of a fixture's lines; positions are taken modulo the current line count. */
    private record Edit(int kind, int line, int position, char replacement) {
    }

    @Property(tries = 2000)
    void arbitraryStringsOnlyFailWithSdpException(@ForAll @StringLength(max = 3000) String text) {
        parseExpectingOnlySdpException(text);
    }

    @Property(tries = 1000)
    void sdpShapedNoiseOnlyFailsWithSdpException(@ForAll("sdpShapedNoise") String text) {
        parseExpectingOnlySdpException(text);
    }

    @Property(tries = 3000)
    void editedFixturesOnlyFailWithSdpException(@ForAll("fixtureNames") String fixture,
            @ForAll("edits") List<Edit> edits) {
        List<String> lines = new ArrayList<>(Arrays.asList(SdpFixtures.load(fixture).split("\r\n")));
        for (Edit edit : edits) {
            if (lines.isEmpty()) {
                break;
            }
            int index = edit.line() % lines.size();
            switch (edit.kind()) {
                case 0 -> lines.remove(index);
                case 1 -> lines.add(edit.position() % (lines.size() + 1), lines.get(index));
                default -> {
                    String line = lines.get(index);
                    if (!line.isEmpty()) {
                        int at = edit.position() % line.length();
                        lines.set(index, line.substring(0, at) + edit.replacement() + line.substring(at + 1));
                    }
                }
            }
        }
        parseExpectingOnlySdpException(String.join("\r\n", lines) + "\r\n");
    }

    @Property(tries = 500)
    void truncatedFixturesOnlyFailWithSdpException(@ForAll("fixtureNames") String fixture,
            @ForAll @IntRange(min = 0, max = 7000) int cut) {
        String sdp = SdpFixtures.load(fixture);
        parseExpectingOnlySdpException(sdp.substring(0, Math.min(cut, sdp.length())));
    }

    @Provide
    Arbitrary<String> fixtureNames() {
        return Arbitraries.of(SdpFixtures.ALL);
    }

    @Provide
    Arbitrary<List<Edit>> edits() {
        Arbitrary<Edit> edit = Combinators.combine(
                Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 10_000),
                Arbitraries.integers().between(0, 10_000),
                Arbitraries.of(' ', ':', '/', '=', ';', '~', ',', '-', '0', '9', 'x', '\r', '\n', '\t', '\u00e9'))
                .as(Edit::new);
        return edit.list().ofMinSize(1).ofMaxSize(25);
    }

    @Provide
    Arbitrary<String> sdpShapedNoise() {
        Arbitrary<String> token = Arbitraries.oneOf(
                Arbitraries.of("v=0", "m=audio", "m=video", "m=application", "a=rtpmap:", "a=fmtp:", "a=rtcp-fb:",
                        "a=extmap:", "a=ssrc:", "a=ssrc-group:FID", "a=ssrc-group:SIM", "a=msid:", "a=rid:",
                        "a=simulcast:", "a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:", "a=mid:",
                        "a=group:BUNDLE", "a=bundle-only", "a=rtcp-mux", "a=ice-lite", "UDP/TLS/RTP/SAVPF", "rtx/90000",
                        "apt=", "send", "~", ";", ",", "*", "/", " ", "\r\n", "\n", "\r"),
                Arbitraries.integers().between(-5, 5000).map(String::valueOf),
                Arbitraries.strings().ofMaxLength(6));
        return token.list().ofMaxSize(200).map(tokens -> String.join("", tokens));
    }

    private static void parseExpectingOnlySdpException(String text) {
        try {
            SdpParser.parse(text);
        } catch (SdpException expected) {
            // The only acceptable failure; any other exception fails the property.
        }
    }
}
