package io.cascadesfu.signaling.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class SubscriberOfferTest {
    private static final LocalTransportParams LOCAL = new LocalTransportParams("srvU", "serverPasswordOf24Chars+",
            "11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00",
            List.of(new InetSocketAddress("192.0.2.10", 40000), new InetSocketAddress("192.0.2.10", 40001),
                    new InetSocketAddress("2001:db8::1", 40000)));
    private static final List<HeaderExtension> AUDIO_EXTENSIONS = List.of(
            new HeaderExtension(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
            new HeaderExtension(4, "urn:ietf:params:rtp-hdrext:sdes:mid"));
    private static final List<HeaderExtension> VIDEO_EXTENSIONS = List.of(
            new HeaderExtension(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
            new HeaderExtension(4, "urn:ietf:params:rtp-hdrext:sdes:mid"));
    private static final CodecDescription OPUS =
            new CodecDescription(111, "opus", 48000, 2, "minptime=10;useinbandfec=1", List.of("transport-cc"), -1);
    private static final CodecDescription VP8 =
            new CodecDescription(96, "VP8", 90000, 0, "", List.of("nack", "nack pli", "ccm fir"), 97);
    private static final List<SubscriberSlot> SLOTS = List.of(
            new SubscriberSlot("a0", "audio", true, OPUS, AUDIO_EXTENSIONS, 1111L, "alice-cname", "alice-stream",
                    "alice-mic"),
            new SubscriberSlot("v1", "video", true, VP8, VIDEO_EXTENSIONS, 4294967295L, "alice-cname",
                    "alice-stream", "alice-cam"),
            new SubscriberSlot("v2", "video", false, VP8, VIDEO_EXTENSIONS, 3333L, "bob-cname", "bob-stream",
                    "bob-cam"));

    @Test
    void offerRoundTripsThroughParser() throws SdpException {
        String sdp = SubscriberOffer.build(LOCAL, 42L, 2L, SLOTS);
        SessionDescription offer = SdpParser.parse(sdp);

        assertTrue(offer.iceLite());
        assertEquals("srvU", offer.iceUfrag());
        assertEquals("serverPasswordOf24Chars+", offer.icePwd());
        assertEquals("sha-256", offer.fingerprintAlgorithm());
        assertEquals(LOCAL.fingerprintSha256(), offer.fingerprint());
        assertEquals("actpass", offer.setup(), "an offerer must write actpass (RFC 5763)");
        assertEquals(List.of("a0", "v1", "v2"), offer.bundleMids());
        assertEquals(3, offer.media().size());
        for (int i = 0; i < SLOTS.size(); i++) {
            SubscriberSlot slot = SLOTS.get(i);
            MediaSection section = offer.media().get(i);
            assertEquals(i, section.index());
            assertEquals(slot.mid(), section.mid());
            assertEquals(slot.kind(), section.kind());
            assertEquals(9, section.port());
            assertEquals("UDP/TLS/RTP/SAVPF", section.protocol());
            assertFalse(section.rejected());
            assertTrue(section.rtcpMux());
            assertEquals(List.of(slot.codec()), section.codecs());
            assertEquals(slot.extensions(), section.extensions());
            if (slot.active()) {
                assertEquals("sendonly", section.direction());
                assertEquals(slot.ssrc(), section.ssrc());
                assertEquals(slot.cname(), section.cname());
                assertEquals(slot.streamId(), section.streamId());
                assertEquals(slot.trackId(), section.trackId());
            } else {
                assertEquals("inactive", section.direction());
                assertEquals(-1L, section.ssrc());
                assertEquals("", section.streamId());
                assertEquals("", section.trackId());
            }
        }
    }

    @Test
    void writesExactLinesBrowsersExpect() {
        String sdp = SubscriberOffer.build(LOCAL, 42L, 7L, SLOTS);

        assertTrue(sdp.startsWith("v=0\r\no=- 42 7 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n"), sdp);
        assertTrue(sdp.contains("\r\na=group:BUNDLE a0 v1 v2\r\n"));
        assertTrue(sdp.contains("\r\na=msid-semantic: WMS alice-stream\r\n"));
        assertTrue(sdp.contains("\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n"));
        assertTrue(sdp.contains("\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
        assertTrue(sdp.contains("\r\na=ssrc:1111 cname:alice-cname\r\na=ssrc:1111 msid:alice-stream alice-mic\r\n"));
        assertTrue(sdp.contains("\r\na=rtcp-rsize\r\n"));
        assertFalse(sdp.contains("bob-"), "an inactive slot announces no track");
        assertFalse(sdp.replace("\r\n", "").contains("\n"), "no bare LF");
    }

    @Test
    void writesCandidatesOnlyInFirstSectionWithFoundationPerAddress() {
        String sdp = SubscriberOffer.build(LOCAL, 42L, 2L, SLOTS);
        String firstSection = sdp.substring(sdp.indexOf("m=audio"), sdp.indexOf("m=video"));

        assertTrue(firstSection.contains("\r\na=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n"
                + "a=candidate:1 1 udp 2130706431 192.0.2.10 40001 typ host\r\n"
                + "a=candidate:2 1 udp 2130706431 2001:db8:0:0:0:0:0:1 40000 typ host\r\n"
                + "a=end-of-candidates\r\n"), firstSection);
        assertEquals(3, sdp.split("a=candidate:", -1).length - 1);
    }

    @Test
    void writesPassiveTcpCandidatesBelowTheUdpOnesWhenIceTcpIsOn() {
        LocalTransportParams withTcp = new LocalTransportParams(LOCAL.iceUfrag(), LOCAL.icePwd(),
                LOCAL.fingerprintSha256(), List.of(new InetSocketAddress("192.0.2.10", 40000)),
                List.of(new InetSocketAddress("192.0.2.10", 443)));
        String sdp = SubscriberOffer.build(withTcp, 42L, 2L, SLOTS);

        // RFC 6544: passive, port the listening one; its own foundation; priority below UDP's 2130706431.
        assertTrue(sdp.contains("\r\na=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n"
                + "a=candidate:2 1 tcp 2124414975 192.0.2.10 443 typ host tcptype passive\r\n"
                + "a=end-of-candidates\r\n"), sdp);
        assertEquals(2, sdp.split("a=candidate:", -1).length - 1);
    }

    @Test
    void sessionVersionIncreasesAcrossRenegotiationAndMlineOrderIsStable() throws SdpException {
        String first = SubscriberOffer.build(LOCAL, 42L, 2L, SLOTS);
        List<SubscriberSlot> reused = List.of(SLOTS.get(0), SLOTS.get(1),
                new SubscriberSlot("v2", "video", true, VP8, VIDEO_EXTENSIONS, 5555L, "carol-cname", "carol-stream",
                        "carol-cam"));
        String second = SubscriberOffer.build(LOCAL, 42L, 3L, reused);

        assertTrue(originVersion(second) > originVersion(first));
        assertEquals(originSessionId(first), originSessionId(second));
        List<String> midsBefore = SdpParser.parse(first).media().stream().map(MediaSection::mid).toList();
        SessionDescription after = SdpParser.parse(second);
        assertEquals(midsBefore, after.media().stream().map(MediaSection::mid).toList());
        assertEquals("sendonly", after.media().get(2).direction());
        assertEquals(5555L, after.media().get(2).ssrc());
    }

    @Test
    void refusesValuesThatWouldInjectSdpLines() {
        SubscriberSlot evil = new SubscriberSlot("v9", "video", true, VP8, VIDEO_EXTENSIONS, 1L, "c",
                "stream\r\na=setup:active", "t");

        assertThrows(IllegalArgumentException.class, () -> SubscriberOffer.build(LOCAL, 1L, 1L, List.of(evil)));
        assertThrows(IllegalArgumentException.class, () -> SubscriberOffer.build(LOCAL, 1L, 1L, List.of()));
        assertThrows(IllegalArgumentException.class,
                () -> SubscriberOffer.build(LOCAL, 1L, 1L, List.of(SLOTS.get(0), SLOTS.get(0))));
    }

    private static String[] originFields(String sdp) {
        String origin = sdp.lines().filter(l -> l.startsWith("o=")).findFirst().orElseThrow();
        return origin.substring(2).split(" ");
    }

    private static long originVersion(String sdp) {
        return Long.parseLong(originFields(sdp)[2]);
    }

    private static long originSessionId(String sdp) {
        return Long.parseLong(originFields(sdp)[1]);
    }
}
