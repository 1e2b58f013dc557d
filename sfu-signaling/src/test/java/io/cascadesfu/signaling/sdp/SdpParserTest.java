package io.cascadesfu.signaling.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SdpParserTest {
    private static final String SENDONLY_FINGERPRINT =
            "87:0A:3E:37:64:36:C5:D6:76:E2:E4:01:E6:EB:FC:5C:52:0B:91:8A:75:3F:38:82:F4:6B:B4:91:5C:9F:C4:7A";

    @Test
    void parsesTransportAttributesOfChromiumSendonlyOffer() throws SdpException {
        SessionDescription offer = SdpParser.parse(SdpFixtures.load(SdpFixtures.SENDONLY));

        assertEquals("GNWU", offer.iceUfrag());
        assertEquals("P/3Ev40dTBeO8+BCh4IDcYi/", offer.icePwd());
        assertEquals("sha-256", offer.fingerprintAlgorithm());
        assertEquals(SENDONLY_FINGERPRINT, offer.fingerprint());
        assertEquals("actpass", offer.setup());
        assertFalse(offer.iceLite());
        assertEquals(List.of("0", "1"), offer.bundleMids());
        assertEquals(2, offer.media().size());
    }

    @Test
    void parsesAudioSectionWithOpusAndFoldsRedIntoIt() throws SdpException {
        MediaSection audio = SdpParser.parse(SdpFixtures.load(SdpFixtures.SENDONLY)).media().get(0);

        assertEquals(0, audio.index());
        assertEquals("audio", audio.kind());
        assertEquals(37624, audio.port());
        assertEquals("UDP/TLS/RTP/SAVPF", audio.protocol());
        assertEquals("0", audio.mid());
        assertEquals("sendonly", audio.direction());
        assertTrue(audio.rtcpMux());
        assertFalse(audio.rejected());
        assertEquals(new CodecDescription(111, "opus", 48000, 2, "minptime=10;useinbandfec=1",
                List.of("transport-cc"), -1, 63), audio.codecs().get(0), "red 63 (fmtp 111/111) folded into opus");
        // red (63) is not a codec of its own; the rest stay in m-line order.
        assertEquals(List.of(111, 9, 0, 8, 13, 110, 126),
                audio.codecs().stream().map(CodecDescription::payloadType).toList());
        assertEquals(new CodecDescription(0, "PCMU", 8000, 1, "", List.of(), -1), audio.codecs().get(2));
        assertEquals(List.of(
                new HeaderExtension(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
                new HeaderExtension(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
                new HeaderExtension(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
                new HeaderExtension(4, "urn:ietf:params:rtp-hdrext:sdes:mid")), audio.extensions());
        assertEquals(32371628L, audio.ssrc());
        assertEquals(-1L, audio.rtxSsrc());
        assertEquals("rLB/4BFGJ2yCcvl2", audio.cname());
        assertEquals("63abcfe4-a711-44bb-82d8-e27f1feec262", audio.streamId());
        assertEquals("db6c9fe3-f2ea-4572-94ed-96d79e45f4f8", audio.trackId());
        assertEquals(List.of(), audio.sendRids());
    }

    @Test
    void parsesVideoSectionWithRtxFoldedIntoItsCodec() throws SdpException {
        MediaSection video = SdpParser.parse(SdpFixtures.load(SdpFixtures.SENDONLY)).media().get(1);

        assertEquals("video", video.kind());
        assertEquals("1", video.mid());
        assertEquals(9, video.port());
        assertEquals(new CodecDescription(96, "VP8", 90000, 0, "",
                List.of("goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"), 97), video.codecs().get(0));
        // VP8, 6 x H264, AV1, 2 x VP9; rtx, red and ulpfec are not codecs.
        assertEquals(List.of(96, 102, 104, 108, 114, 116, 39, 45, 98, 100),
                video.codecs().stream().map(CodecDescription::payloadType).toList());
        CodecDescription h264 = video.codecs().get(3);
        assertEquals("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", h264.fmtp());
        assertEquals(109, h264.rtxPayloadType());
        assertEquals(11, video.extensions().size());
        assertEquals(new HeaderExtension(14, "urn:ietf:params:rtp-hdrext:toffset"), video.extensions().get(0));
        assertEquals(new HeaderExtension(11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
                video.extensions().get(10));
        assertEquals(3675560731L, video.ssrc());
        assertEquals(3437550863L, video.rtxSsrc());
        assertEquals("rLB/4BFGJ2yCcvl2", video.cname());
        assertEquals("63abcfe4-a711-44bb-82d8-e27f1feec262", video.streamId());
        assertEquals("01ceaf96-8f95-403a-a5d4-6f670f4ff9dc", video.trackId());
    }

    @Test
    void parsesSimulcastRidsInSimulcastOrder() throws SdpException {
        SessionDescription offer = SdpParser.parse(SdpFixtures.load(SdpFixtures.SIMULCAST));
        MediaSection video = offer.media().get(1);

        assertEquals(List.of("q", "h", "f"), video.sendRids());
        assertEquals(-1L, video.ssrc(), "rid simulcast announces no SSRC");
        assertEquals(-1L, video.rtxSsrc());
        assertEquals("775aacbe-81b7-4962-b841-af80d2a94457", video.streamId());
        assertTrue(video.extensions().contains(new HeaderExtension(12,
                "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension")));
        assertEquals(3826132135L, offer.media().get(0).ssrc());
    }

    @Test
    void simulcastOrderWinsOverRidDeclarationOrderAndPausedMarkIsStripped() throws SdpException {
        String sdp = SdpFixtures.load(SdpFixtures.SIMULCAST)
                .replace("a=simulcast:send q;h;f", "a=simulcast:send f;~h,q;q");

        assertEquals(List.of("f", "h", "q"), SdpParser.parse(sdp).media().get(1).sendRids());
    }

    @Test
    void parsesH264FirstWhenBrowserPrefersIt() throws SdpException {
        MediaSection video = SdpParser.parse(SdpFixtures.load(SdpFixtures.H264)).media().get(1);

        CodecDescription first = video.codecs().get(0);
        assertEquals("H264", first.name());
        assertEquals(102, first.payloadType());
        assertEquals(103, first.rtxPayloadType());
        assertEquals(884464365L, video.ssrc());
        assertEquals(2823528284L, video.rtxSsrc());
    }

    @Test
    void parsesRecvonlyOfferWithoutTracks() throws SdpException {
        SessionDescription offer = SdpParser.parse(SdpFixtures.load(SdpFixtures.RECVONLY));

        for (MediaSection section : offer.media()) {
            assertEquals("recvonly", section.direction());
            assertEquals(-1L, section.ssrc());
            assertEquals("", section.streamId());
            assertEquals("", section.cname());
        }
        // flexfec-03 is a repair format like ulpfec, not a codec.
        assertTrue(offer.media().get(1).codecs().stream().noneMatch(c -> c.name().startsWith("flexfec")));
    }

    @ParameterizedTest
    @ValueSource(strings = {SdpFixtures.SENDONLY, SdpFixtures.SIMULCAST, SdpFixtures.RECVONLY, SdpFixtures.H264})
    void acceptsBareLineFeedsLikeCrlf(String fixture) throws SdpException {
        String crlf = SdpFixtures.load(fixture);

        assertEquals(SdpParser.parse(crlf), SdpParser.parse(crlf.replace("\r\n", "\n")));
    }

    @Test
    void parsesDataChannelSectionWithoutCodecs() throws SdpException {
        MediaSection data = SdpParser.parse(SdpFixtures.sendonlyWithDataChannel()).media().get(2);

        assertEquals("application", data.kind());
        assertEquals("UDP/DTLS/SCTP", data.protocol());
        assertEquals(List.of("webrtc-datachannel"), data.formats());
        assertEquals(List.of(), data.codecs());
        assertEquals("2", data.mid());
    }

    @Test
    void portZeroIsRejectedUnlessBundleOnly() throws SdpException {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY).replace("m=video 9 ", "m=video 0 ");
        assertTrue(SdpParser.parse(sdp).media().get(1).rejected());

        String bundleOnly = sdp.replace("a=mid:1\r\n", "a=mid:1\r\na=bundle-only\r\n");
        assertFalse(SdpParser.parse(bundleOnly).media().get(1).rejected());
    }

    @Test
    void transportAttributesComeFromFirstNonRejectedSectionThenSessionLevel() throws SdpException {
        // Reject audio and give video its own credentials: video's win.
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY)
                .replace("m=audio 37624 ", "m=audio 0 ")
                .replaceFirst("(m=video[^\n]*\n(?:[^\n]*\n)*?)a=ice-ufrag:GNWU", "$1a=ice-ufrag:vidU");
        assertEquals("vidU", SdpParser.parse(sdp).iceUfrag());

        // Only at session level.
        String sessionLevel = SdpFixtures.withoutLines(SdpFixtures.load(SdpFixtures.SENDONLY), "a=ice-pwd:")
                .replace("a=extmap-allow-mixed\r\n", "a=extmap-allow-mixed\r\na=ice-pwd:sessionLevelPassword00000\r\n");
        assertEquals("sessionLevelPassword00000", SdpParser.parse(sessionLevel).icePwd());
    }

    // ---- errors ----

    @Test
    void rejectsGarbage() {
        SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse("hello world"));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("v=0"), e.getMessage());
    }

    @Test
    void rejectsEmptyAndNull() {
        assertTrue(assertThrows(SdpException.class, () -> SdpParser.parse("")).getMessage().contains("no v= line"));
        assertTrue(assertThrows(SdpException.class, () -> SdpParser.parse("\r\n\r\n")).getMessage()
                .contains("no v= line"));
        assertThrows(SdpException.class, () -> SdpParser.parse(null));
    }

    @Test
    void rejectsFixtureTruncatedBeforeFirstMediaSection() {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY);
        String truncated = sdp.substring(0, sdp.indexOf("m=audio"));

        SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse(truncated));
        assertTrue(e.getMessage().contains("no m= line"), e.getMessage());
    }

    @Test
    void rejectsFixtureTruncatedInsideFingerprint() {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY);
        String truncated = sdp.substring(0, sdp.indexOf("a=fingerprint") + 30);

        SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse(truncated));
        assertTrue(e.getMessage().contains("line 16") && e.getMessage().contains("a=fingerprint"), e.getMessage());
    }

    @Test
    void rejectsMissingFingerprint() {
        String sdp = SdpFixtures.withoutLines(SdpFixtures.load(SdpFixtures.SENDONLY), "a=fingerprint:");

        SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse(sdp));
        assertTrue(e.getMessage().contains("missing a=fingerprint"), e.getMessage());
    }

    @Test
    void rejectsMissingIceCredentials() {
        String noUfrag = SdpFixtures.withoutLines(SdpFixtures.load(SdpFixtures.SENDONLY), "a=ice-ufrag:");
        String noPwd = SdpFixtures.withoutLines(SdpFixtures.load(SdpFixtures.SENDONLY), "a=ice-pwd:");

        assertTrue(assertThrows(SdpException.class, () -> SdpParser.parse(noUfrag)).getMessage()
                .contains("missing a=ice-ufrag"));
        assertTrue(assertThrows(SdpException.class, () -> SdpParser.parse(noPwd)).getMessage()
                .contains("missing a=ice-pwd"));
    }

    @Test
    void rejectsNonNumericPayloadTypes() {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY);
        String inRtpmap = sdp.replace("a=rtpmap:111 opus", "a=rtpmap:opus opus");
        String inMline = sdp.replace("SAVPF 111 63", "SAVPF 111 x63");
        String inFmtp = sdp.replace("a=fmtp:97 apt=96", "a=fmtp:9z7 apt=96");

        SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse(inRtpmap));
        assertTrue(e.getMessage().contains("line 28") && e.getMessage().contains("payload type"), e.getMessage());
        assertTrue(assertThrows(SdpException.class, () -> SdpParser.parse(inMline)).getMessage()
                .contains("payload type in m= line is not a number: 'x63'"));
        assertTrue(assertThrows(SdpException.class, () -> SdpParser.parse(inFmtp)).getMessage()
                .contains("a=fmtp payload type"));
    }

    @Test
    void rejectsExtmapIdOutsideOneTo255() {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY);
        for (String id : List.of("0", "256", "4096")) {
            String bad = sdp.replace("a=extmap:14 ", "a=extmap:" + id + " ");
            SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse(bad));
            assertTrue(e.getMessage().contains("a=extmap id " + id + " outside 1..255"), e.getMessage());
        }
    }

    @Test
    void rejectsMalformedSsrc() {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY).replace("a=ssrc:32371628 cname", "a=ssrc:4294967296 cname");

        assertTrue(assertThrows(SdpException.class, () -> SdpParser.parse(sdp)).getMessage().contains("SSRC"));
    }

    @Test
    void rejectsHugeInput() {
        String huge = SdpFixtures.load(SdpFixtures.SENDONLY) + "a=x-padding:" + "x".repeat(SdpParser.MAX_SDP_CHARS) + "\r\n";

        SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse(huge));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
    }

    @Test
    void rejectsTooManyMediaSections() {
        String sdp = "v=0\r\n" + "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n".repeat(SdpParser.MAX_MEDIA_SECTIONS + 1);

        SdpException e = assertThrows(SdpException.class, () -> SdpParser.parse(sdp));
        assertTrue(e.getMessage().contains("too many m-sections"), e.getMessage());
    }

    @Test
    void ignoresUnknownLinesAndAttributes() throws SdpException {
        String sdp = SdpFixtures.load(SdpFixtures.SENDONLY)
                .replace("a=rtcp-mux\r\n", "a=rtcp-mux\r\na=x-future-thing:1 2 3\r\ny=unknown line type\r\n");

        assertEquals(SdpParser.parse(SdpFixtures.load(SdpFixtures.SENDONLY)), SdpParser.parse(sdp));
    }
}
