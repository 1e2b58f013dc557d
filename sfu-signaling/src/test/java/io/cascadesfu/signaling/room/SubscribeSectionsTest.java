package io.cascadesfu.signaling.room;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.signaling.sdp.CodecDescription;
import io.cascadesfu.signaling.sdp.HeaderExtension;
import io.cascadesfu.signaling.sdp.LocalTransportParams;
import io.cascadesfu.signaling.sdp.MediaSection;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;
import io.cascadesfu.signaling.sdp.SdpException;
import io.cascadesfu.signaling.sdp.SdpParser;
import io.cascadesfu.signaling.sdp.SessionDescription;
import io.cascadesfu.signaling.sdp.SubscriberOffer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The subscribe PC's reuse policy, seen in the offers it produces: publish and unpublish events in the room, an
 * offer after each, the client answering each one.
 */
class SubscribeSectionsTest {
    private static final LocalTransportParams LOCAL = new LocalTransportParams("srvU", "serverPasswordOf24Chars+",
            "11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00",
            List.of(new InetSocketAddress("192.0.2.10", 40000)));
    private static final CodecDescription OPUS =
            new CodecDescription(109, "opus", 48000, 2, "minptime=10;useinbandfec=1", List.of("transport-cc"), -1);
    private static final CodecDescription VP8 =
            new CodecDescription(120, "VP8", 90000, 0, "", List.of("nack", "nack pli", "transport-cc"), -1);

    private final Owner alice = new Owner("PA_alice");
    private long version;
    private int trackCount;
    /** The kind each mid was first offered with: a section must never change it. */
    private final Map<String, String> kindOfMid = new HashMap<>();

    @Test
    void newTracksGetNewMidsUntilTheBoundThenReuseTheSectionInactiveLongest() throws SdpException {
        SubscribeSections sections = new SubscribeSections(4);
        PublishedTrack mic1 = publish(sections, "audio");
        PublishedTrack cam1 = publish(sections, "video");
        assertEquals(List.of("0", "1"), mids(offerAndAnswer(sections)));

        unpublish(sections, mic1);
        SessionDescription offer = offerAndAnswer(sections);
        assertEquals("inactive", section(offer, "0").direction());

        PublishedTrack mic2 = publish(sections, "audio");
        offer = offerAndAnswer(sections);
        assertEquals(List.of("0", "1", "2"), mids(offer), "below the bound a new track gets a new section");
        assertEquals("inactive", section(offer, "0").direction(), "the inactive audio section is not reused");
        assertEquals(mic2.trackId, section(offer, "2").trackId());

        publish(sections, "video");
        unpublish(sections, cam1);
        offer = offerAndAnswer(sections);
        assertEquals(List.of("0", "1", "2", "3"), mids(offer));
        assertEquals("inactive", section(offer, "1").direction());

        // At the bound: audio reuses its inactive section, and so does video, each of its own kind.
        PublishedTrack mic3 = publish(sections, "audio");
        PublishedTrack cam3 = publish(sections, "video");
        offer = offerAndAnswer(sections);
        assertEquals(List.of("0", "1", "2", "3"), mids(offer));
        assertEquals(mic3.trackId, section(offer, "0").trackId());
        assertEquals(cam3.trackId, section(offer, "1").trackId());
        assertEquals("sendonly", section(offer, "0").direction());

        // No inactive video section left: a video track needs a section, so it gets a new one past the bound.
        PublishedTrack cam4 = publish(sections, "video");
        offer = offerAndAnswer(sections);
        assertEquals(List.of("0", "1", "2", "3", "4"), mids(offer));
        assertEquals(cam4.trackId, section(offer, "4").trackId());
        assertEquals("video", section(offer, "4").kind());
    }

    @Test
    void aReusedSectionGetsNewSsrcs() throws SdpException {
        SubscribeSections sections = new SubscribeSections(1);
        PublishedTrack cam1 = publish(sections, "video");
        long before = section(offerAndAnswer(sections), "0").ssrc();
        unpublish(sections, cam1);
        offerAndAnswer(sections);

        publish(sections, "video");
        SessionDescription offer = offerAndAnswer(sections);
        assertEquals(List.of("0"), mids(offer));
        assertNotEquals(before, section(offer, "0").ssrc());
    }

    @Test
    void reusesTheSectionInactiveLongestNotTheLowestMid() throws SdpException {
        SubscribeSections sections = new SubscribeSections(3);
        PublishedTrack first = publish(sections, "audio");
        publish(sections, "audio");
        PublishedTrack third = publish(sections, "audio");
        offerAndAnswer(sections);
        unpublish(sections, third);
        unpublish(sections, first);
        offerAndAnswer(sections);

        PublishedTrack next = publish(sections, "audio");
        assertEquals(next.trackId, section(offerAndAnswer(sections), "2").trackId(), "mid 2 went inactive first");
        PublishedTrack last = publish(sections, "audio");
        assertEquals(last.trackId, section(offerAndAnswer(sections), "0").trackId());
    }

    @Test
    void aSectionTheClientHasNotSeenInactiveIsNotReused() throws SdpException {
        SubscribeSections sections = new SubscribeSections(1);
        PublishedTrack mic1 = publish(sections, "audio");
        offerAndAnswer(sections);
        unpublish(sections, mic1); // not offered inactive yet: the client's transceiver still carries mic1

        publish(sections, "audio");
        SessionDescription offer = offerAndAnswer(sections);
        assertEquals(List.of("0", "1"), mids(offer));
        assertEquals("inactive", section(offer, "0").direction());
        assertEquals("sendonly", section(offer, "1").direction());
    }

    @Test
    void kindsAreNeverMixedEvenWhenOnlyTheOtherKindIsFree() throws SdpException {
        SubscribeSections sections = new SubscribeSections(2);
        List<PublishedTrack> mics = List.of(publish(sections, "audio"), publish(sections, "audio"));
        offerAndAnswer(sections);
        mics.forEach(t -> unpublish(sections, t));
        offerAndAnswer(sections);

        for (int i = 0; i < 3; i++) {
            publish(sections, "video");
        }
        SessionDescription offer = offerAndAnswer(sections);
        assertEquals(List.of("0", "1", "2", "3", "4"), mids(offer));
        assertEquals("inactive", section(offer, "0").direction());
        assertEquals("inactive", section(offer, "1").direction());
    }

    @Test
    void neverMoreSectionsThanTheNodeAcceptsInAnAnswer() {
        SubscribeSections sections = new SubscribeSections(SubscribeSections.MAX_SECTIONS);
        for (int i = 0; i < SubscribeSections.MAX_SECTIONS; i++) {
            assertNotNull(sections.assign(track("audio"), alice));
        }
        assertNull(sections.assign(track("audio"), alice), "the track waits for a section to be freed");
        assertEquals(SubscribeSections.MAX_SECTIONS, sections.all().size());
    }

    @Test
    void everySectionOffersTheMidHeaderExtension() throws SdpException {
        SubscribeSections sections = new SubscribeSections(8);
        PublishedTrack mic = publish(sections, "audio");
        publish(sections, "video");
        offerAndAnswer(sections);
        unpublish(sections, mic);

        SessionDescription offer = offerAndAnswer(sections);
        Integer id = null;
        for (MediaSection m : offer.media()) {
            HeaderExtension mid = m.extensions().stream()
                    .filter(e -> e.uri().equals("urn:ietf:params:rtp-hdrext:sdes:mid")).findFirst().orElse(null);
            assertNotNull(mid, "section " + m.mid() + " (" + m.direction() + ") offers sdes:mid");
            id = id == null ? mid.id() : id;
            assertEquals(id, mid.id(), "one id for one URI across the BUNDLE group (RFC 8843)");
        }
    }

    // ---------------------------------------------------------------- the room, the client

    private PublishedTrack track(String kind) {
        String n = String.valueOf(trackCount++);
        PublishedTrackInfo info = new PublishedTrackInfo(n, kind, kind.equals("audio") ? OPUS : VP8,
                List.of(new HeaderExtension(9, "urn:ietf:params:rtp-hdrext:sdes:mid")), 1000 + trackCount, -1,
                List.of(), "stream", "t" + n);
        return new PublishedTrack("TR_" + n, info, null);
    }

    private PublishedTrack publish(SubscribeSections sections, String kind) {
        PublishedTrack t = track(kind);
        alice.tracks.add(t);
        assertNotNull(sections.assign(t, alice));
        return t;
    }

    private void unpublish(SubscribeSections sections, PublishedTrack t) {
        alice.tracks.remove(t);
        for (SubscriberSlotState s : sections.all()) {
            if (s.source == t) {
                sections.deactivate(s);
            }
        }
    }

    /** Writes the next offer, parses it as the client would, checks that no mid changed kind, and answers it. */
    private SessionDescription offerAndAnswer(SubscribeSections sections) throws SdpException {
        SessionDescription offer = SdpParser.parse(SubscriberOffer.build(LOCAL, 42L, ++version,
                sections.describeForOffer()));
        assertEquals(mids(offer), offer.bundleMids());
        for (MediaSection m : offer.media()) {
            String before = kindOfMid.putIfAbsent(m.mid(), m.kind());
            assertTrue(before == null || before.equals(m.kind()), "mid " + m.mid() + " was " + before
                    + ", now " + m.kind());
            if (m.direction().equals("sendonly")) {
                assertEquals(m.kind(), alice.kindOf(m.trackId()), "section " + m.mid() + " carries its own kind");
            }
        }
        sections.onOfferAnswered();
        return offer;
    }

    private static List<String> mids(SessionDescription offer) {
        return offer.media().stream().map(MediaSection::mid).toList();
    }

    private static MediaSection section(SessionDescription offer, String mid) {
        return offer.media().stream().filter(m -> m.mid().equals(mid)).findFirst().orElseThrow();
    }

    private static final class Owner implements TrackSource {
        final String id;
        final List<PublishedTrack> tracks = new ArrayList<>();
        final Map<String, String> kinds = new HashMap<>();

        Owner(String id) {
            this.id = id;
        }

        String kindOf(String trackId) {
            for (PublishedTrack t : tracks) {
                if (t.trackId.equals(trackId)) {
                    return t.kind();
                }
            }
            return null;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public boolean hasLeft() {
            return false;
        }

        @Override
        public Collection<PublishedTrack> publishedTracks() {
            return tracks;
        }

        @Override
        public ObjectNode describe() {
            return JsonNodeFactory.instance.objectNode().put("participantId", id);
        }
    }
}
