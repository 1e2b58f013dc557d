package io.cascadesfu.signaling.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PublisherAnswerTest {
    static final LocalTransportParams LOCAL = new LocalTransportParams("srvU", "serverPasswordOf24Chars+",
            "11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00",
            List.of(new InetSocketAddress("192.0.2.10", 40000)));
    static final Set<String> SUPPORTED_EXTENSIONS = Set.of(
            "urn:ietf:params:rtp-hdrext:sdes:mid",
            "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "urn:3gpp:video-orientation");
    private static final List<String> VP8_FIRST = List.of("VP8", "H264");

    @Test
    void answersWithAPassiveTcpCandidateWhenIceTcpIsOn() throws SdpException {
        LocalTransportParams withTcp = new LocalTransportParams(LOCAL.iceUfrag(), LOCAL.icePwd(),
                LOCAL.fingerprintSha256(), LOCAL.candidates(), List.of(new InetSocketAddress("192.0.2.10", 40443)));
        String sdp = PublisherAnswer.build(SdpParser.parse(SdpFixtures.load(SdpFixtures.SENDONLY)), withTcp,
                VP8_FIRST, SUPPORTED_EXTENSIONS).sdp();
        assertTrue(sdp.contains("\r\na=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n"
                + "a=candidate:2 1 tcp 2124414975 192.0.2.10 40443 typ host tcptype passive\r\n"
                + "a=end-of-candidates\r\n"), sdp);
    }

    private static PublisherAnswer.Result answer(String offerSdp, List<String> preference) throws SdpException {
        return PublisherAnswer.build(SdpParser.parse(offerSdp), LOCAL, preference, SUPPORTED_EXTENSIONS);
    }

    @ParameterizedTest
    @ValueSource(strings = {SdpFixtures.SENDONLY, SdpFixtures.SIMULCAST, SdpFixtures.H264})
    void answersEveryPublishFixtureWithOneCodecPerSectionRecvonly(String fixture) throws SdpException {
        SessionDescription offer = SdpParser.parse(SdpFixtures.load(fixture));
        PublisherAnswer.Result result = PublisherAnswer.build(offer, LOCAL, VP8_FIRST, SUPPORTED_EXTENSIONS);
        SessionDescription answer = SdpParser.parse(result.sdp());

        assertTrue(answer.iceLite());
        assertEquals("passive", answer.setup());
        assertEquals("srvU", answer.iceUfrag());
        assertEquals("serverPasswordOf24Chars+", answer.icePwd());
        assertEquals("sha-256", answer.fingerprintAlgorithm());
        assertEquals(LOCAL.fingerprintSha256(), answer.fingerprint());
        assertEquals(List.of("0", "1"), answer.bundleMids());
        assertEquals(offer.media().size(), answer.media().size());
        for (int i = 0; i < answer.media().size(); i++) {
            MediaSection offered = offer.media().get(i);
            MediaSection answered = answer.media().get(i);
            assertEquals(offered.mid(), answered.mid());
            assertEquals(offered.kind(), answered.kind());
            assertEquals("recvonly", answered.direction());
            assertEquals(9, answered.port());
            assertTrue(answered.rtcpMux());
            assertEquals(1, answered.codecs().size(), "one codec in section " + i);
            assertEquals(-1, answered.codecs().get(0).rtxPayloadType());
            assertTrue(offered.extensions().containsAll(answered.extensions()), "extmap is a subset with same ids");
            assertTrue(answered.extensions().stream().allMatch(e -> SUPPORTED_EXTENSIONS.contains(e.uri())));
            assertTrue(answered.sendRids().isEmpty());
        }
        String sdp = result.sdp();
        assertTrue(sdp.contains("\r\na=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n"), sdp);
        assertTrue(sdp.contains("\r\na=end-of-candidates\r\n"));
        assertTrue(sdp.startsWith("v=0\r\no=- "));
        assertTrue(sdp.endsWith("\r\n"));
        assertFalse(sdp.replace("\r\n", "").contains("\n"), "no bare LF");
        assertFalse(sdp.contains("a=simulcast") || sdp.contains("a=rid"));
        assertFalse(sdp.contains("a=ssrc"));
    }

    @Test
    void acceptsOpusAndVp8FromSendonlyOfferWithSupportedFeedbackOnly() throws SdpException {
        PublisherAnswer.Result result = answer(SdpFixtures.load(SdpFixtures.SENDONLY), VP8_FIRST);
        SessionDescription answer = SdpParser.parse(result.sdp());

        assertEquals(new CodecDescription(111, "opus", 48000, 2, "minptime=10;useinbandfec=1",
                List.of("transport-cc"), -1, 63),
                answer.media().get(0).codecs().get(0), "red passed through (RFC 2198, fmtp 111/111)");
        assertTrue(result.sdp().contains("m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n"), "red first: the browser sends it");
        assertTrue(result.sdp().contains("a=fmtp:63 111/111\r\n"));
        assertEquals(new CodecDescription(96, "VP8", 90000, 0, "", List.of("transport-cc", "ccm fir", "nack", "nack pli"), -1),
                answer.media().get(1).codecs().get(0));
        assertEquals(List.of(
                new HeaderExtension(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
                new HeaderExtension(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
                new HeaderExtension(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
                new HeaderExtension(4, "urn:ietf:params:rtp-hdrext:sdes:mid")), answer.media().get(0).extensions());

        List<PublishedTrackInfo> tracks = result.tracks();
        assertEquals(2, tracks.size());
        PublishedTrackInfo audio = tracks.get(0);
        assertEquals("0", audio.mid());
        assertEquals("audio", audio.kind());
        assertEquals(answer.media().get(0).codecs().get(0), audio.codec());
        assertEquals(answer.media().get(0).extensions(), audio.extensions());
        assertEquals(32371628L, audio.ssrc());
        assertEquals("63abcfe4-a711-44bb-82d8-e27f1feec262", audio.streamId());
        assertEquals("db6c9fe3-f2ea-4572-94ed-96d79e45f4f8", audio.trackId());
        PublishedTrackInfo video = tracks.get(1);
        assertEquals(3675560731L, video.ssrc());
        assertEquals(-1L, video.rtxSsrc(), "rtx is not negotiated");
        assertEquals(List.of(new HeaderExtension(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
                new HeaderExtension(13, "urn:3gpp:video-orientation"),
                new HeaderExtension(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
                new HeaderExtension(4, "urn:ietf:params:rtp-hdrext:sdes:mid")), video.extensions());
    }

    @Test
    void picksH264PacketizationMode1Baseline42e01fWhenPreferred() throws SdpException {
        PublisherAnswer.Result result = answer(SdpFixtures.load(SdpFixtures.H264), List.of("H264", "VP8"));
        CodecDescription codec = SdpParser.parse(result.sdp()).media().get(1).codecs().get(0);

        assertEquals(108, codec.payloadType());
        assertEquals("H264", codec.name());
        assertEquals("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", codec.fmtp());
        assertEquals(codec, result.tracks().get(1).codec());
    }

    @Test
    void fallsBackToAnyPacketizationMode1H264WithoutBaseline42e01f() throws SdpException {
        String offer = SdpFixtures.load(SdpFixtures.H264)
                .replace("packetization-mode=1;profile-level-id=42e01f", "packetization-mode=0;profile-level-id=42e01f");

        CodecDescription codec = answer(offer, List.of("h264")).tracks().get(1).codec();

        assertEquals(102, codec.payloadType());
        assertEquals("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", codec.fmtp());
    }

    @Test
    void neverPicksPacketizationMode0H264() throws SdpException {
        String offer = SdpFixtures.load(SdpFixtures.H264).replace("packetization-mode=1", "packetization-mode=0");

        CodecDescription codec = answer(offer, List.of("H264", "VP8")).tracks().get(1).codec();

        assertEquals("VP8", codec.name());
    }

    @Test
    void vp8PreferenceWinsEvenWhenBrowserListsH264First() throws SdpException {
        assertEquals(96, answer(SdpFixtures.load(SdpFixtures.H264), VP8_FIRST).tracks().get(1).codec().payloadType());
    }

    @Test
    void rejectsDataChannelSectionWithPortZeroAndKeepsMid() throws SdpException {
        PublisherAnswer.Result result = answer(SdpFixtures.sendonlyWithDataChannel(), VP8_FIRST);
        SessionDescription answer = SdpParser.parse(result.sdp());

        MediaSection data = answer.media().get(2);
        assertTrue(data.rejected());
        assertEquals(0, data.port());
        assertEquals("2", data.mid());
        assertEquals("application", data.kind());
        assertEquals("UDP/DTLS/SCTP", data.protocol());
        assertEquals(List.of("0", "1"), answer.bundleMids());
        assertEquals(2, result.tracks().size());
        assertTrue(result.sdp().contains("\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    }

    @Test
    void rejectsSectionWithoutUsableCodecButAnswersTheRest() throws SdpException {
        PublisherAnswer.Result result = answer(SdpFixtures.load(SdpFixtures.SENDONLY), List.of("H265"));
        SessionDescription answer = SdpParser.parse(result.sdp());

        assertFalse(answer.media().get(0).rejected());
        assertTrue(answer.media().get(1).rejected());
        assertEquals(List.of("0"), answer.bundleMids());
        assertEquals(1, result.tracks().size());
    }

    @Test
    void rejectsRecvonlyOfferBecauseNothingCanBeReceived() throws SdpException {
        SessionDescription offer = SdpParser.parse(SdpFixtures.load(SdpFixtures.RECVONLY));

        SdpException e = assertThrows(SdpException.class,
                () -> PublisherAnswer.build(offer, LOCAL, VP8_FIRST, SUPPORTED_EXTENSIONS));
        assertTrue(e.getMessage().contains("no m-section the server can receive"), e.getMessage());
    }

    @Test
    void rejectsOfferWithoutBundle() throws SdpException {
        String sdp = SdpFixtures.withoutLines(SdpFixtures.load(SdpFixtures.SENDONLY), "a=group:BUNDLE");

        SdpException e = assertThrows(SdpException.class, () -> answer(sdp, VP8_FIRST));
        assertTrue(e.getMessage().contains("BUNDLE"), e.getMessage());
        assertTrue(e.getMessage().contains("max-bundle") && e.getMessage().contains("webrtcbin"),
                "the error names the setting to change: " + e.getMessage());
    }

    @Test
    void rejectsOfferWithoutRtcpMux() {
        String sdp = SdpFixtures.withoutLines(SdpFixtures.load(SdpFixtures.SENDONLY), "a=rtcp-mux");

        SdpException e = assertThrows(SdpException.class, () -> answer(sdp, VP8_FIRST));
        assertTrue(e.getMessage().contains("rtcp-mux"), e.getMessage());
    }

    @Test
    void rejectsOfferWhoseSetupWouldMakeServerDtlsClient() {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY).replace("a=setup:actpass", "a=setup:passive");

        SdpException e = assertThrows(SdpException.class, () -> answer(sdp, VP8_FIRST));
        assertTrue(e.getMessage().contains("a=setup:passive"), e.getMessage());
    }

    @Test
    void acceptsActiveSetup() throws SdpException {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY).replace("a=setup:actpass", "a=setup:active");

        assertEquals("passive", SdpParser.parse(answer(sdp, VP8_FIRST).sdp()).setup());
    }

    @Test
    void renegotiatedAnswerKeepsSessionIdAndRaisesVersion() throws SdpException {
        SessionDescription offer = SdpParser.parse(SdpFixtures.load(SdpFixtures.SENDONLY));

        String first = PublisherAnswer.build(offer, LOCAL, VP8_FIRST, SUPPORTED_EXTENSIONS, 77L, 1L).sdp();
        String second = PublisherAnswer.build(offer, LOCAL, VP8_FIRST, SUPPORTED_EXTENSIONS, 77L, 2L).sdp();

        assertTrue(first.contains("\r\no=- 77 1 IN IP4 0.0.0.0\r\n"));
        assertTrue(second.contains("\r\no=- 77 2 IN IP4 0.0.0.0\r\n"));
    }

    @Test
    void acceptsChromiumSimulcastWithTheMidAndRidExtensionsLowestFirstAsOffered() throws SdpException {
        Set<String> withRid = new java.util.HashSet<>(SUPPORTED_EXTENSIONS);
        withRid.add(PublisherAnswer.RID_URI);
        PublisherAnswer.Result result = PublisherAnswer.build(SdpParser.parse(SdpFixtures.load(SdpFixtures.SIMULCAST)),
                LOCAL, VP8_FIRST, withRid);
        String sdp = result.sdp();
        assertTrue(sdp.contains("\r\na=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n"), sdp);
        assertTrue(sdp.contains("a=extmap:10 " + PublisherAnswer.RID_URI + "\r\n"), "the RID extension keeps its id");
        PublishedTrackInfo video = result.tracks().get(1);
        assertEquals(List.of("q", "h", "f"), video.rids());
        assertEquals(-1, video.ssrc(), "layer SSRCs are learned from the RID extension");
        assertTrue(result.tracks().get(0).rids().isEmpty(), "audio has one stream");
    }

    @Test
    void leavesSimulcastOutWithoutTheRidExtensionOrWithRidsThatAreNotTokens() throws SdpException {
        Set<String> withRid = new java.util.HashSet<>(SUPPORTED_EXTENSIONS);
        withRid.add(PublisherAnswer.RID_URI);
        String offer = SdpFixtures.load(SdpFixtures.SIMULCAST);
        String noExtension = offer.replace("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n", "");
        assertFalse(PublisherAnswer.build(SdpParser.parse(noExtension), LOCAL, VP8_FIRST, withRid).sdp()
                .contains("a=simulcast"), "no RID extension: the layers could not be told apart");
        String badRid = offer.replace("a=rid:h send", "a=rid:h\u00e9 send").replace("q;h;f", "q;h\u00e9;f");
        PublisherAnswer.Result result = PublisherAnswer.build(SdpParser.parse(badRid), LOCAL, VP8_FIRST, withRid);
        assertFalse(result.sdp().contains("a=rid"), "a rid that is not an RFC 8851 token is never echoed");
        assertTrue(result.tracks().get(1).rids().isEmpty());
    }
}
