package io.cascadesfu.signaling.room;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.cascadesfu.core.media.ConsumerParams;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.signaling.sdp.CodecDescription;
import io.cascadesfu.signaling.sdp.HeaderExtension;
import io.cascadesfu.signaling.sdp.MediaSection;
import io.cascadesfu.signaling.sdp.PublishedTrackInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

class SubscriberMediaTest {
    private static final CodecDescription OPUS =
            new CodecDescription(111, "opus", 48000, 2, "minptime=10;useinbandfec=1", List.of("transport-cc"), -1);
    /** A publisher that numbered sdes:mid 9 and audio level 1. */
    private static final PublishedTrackInfo MIC = new PublishedTrackInfo("0", "audio", OPUS,
            List.of(new HeaderExtension(9, SubscriberMedia.MID_URI),
                    new HeaderExtension(1, SubscriberMedia.AUDIO_LEVEL_URI)), 1234, -1, List.of(), "s", "t");

    private static MediaSection answered(String mid, List<HeaderExtension> extensions) {
        return new MediaSection(0, "audio", 9, "UDP/TLS/RTP/SAVPF", mid, "recvonly", List.of(OPUS), extensions, -1,
                -1, "", "", "", List.of(), false, List.of("111"), true);
    }

    @Test
    void aSubscriberThatAcceptedSdesMidGetsItsOwnMidInEveryPacketAndThePublishersIsRemoved() {
        ConsumerParams params = SubscriberMedia.consumerParams(TrackKind.AUDIO, MIC, 5555, -1, answered("17",
                SubscriberMedia.extensions(TrackKind.AUDIO)));

        assertEquals(SubscriberMedia.SUBSCRIBER_MID_ID, params.midExtensionId());
        assertEquals("17", params.mid());
        assertEquals(0, params.extensionIds()[9], "the publisher's mid element names the publisher's section");
        assertEquals(1, params.extensionIds()[1], "audio level at the subscriber's id");
    }

    @Test
    void aSubscriberThatDidNotAcceptSdesMidGetsNone() {
        ConsumerParams params = SubscriberMedia.consumerParams(TrackKind.AUDIO, MIC, 5555, -1, answered("17",
                List.of(new HeaderExtension(1, SubscriberMedia.AUDIO_LEVEL_URI))));

        assertEquals(0, params.midExtensionId());
        assertNull(params.mid());
        assertEquals(0, params.extensionIds()[9]);
    }
}
