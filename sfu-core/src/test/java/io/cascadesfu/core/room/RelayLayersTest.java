package io.cascadesfu.core.room;

import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.media.ProducerParams;
import io.cascadesfu.core.media.SimpleConsumer;
import io.cascadesfu.core.media.TrackKind;
import io.cascadesfu.core.relay.RelayTransport;
import io.cascadesfu.core.rtp.Codec;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Only the simulcast layers that the far node's subscribers want cross a relay link: two nodes in one JVM with a
 * real relay link (ICE, DTLS, SRTP over UDP); a three-layer publisher on A; on B one subscriber that shows the video
 * small. B asks A (RTCP "LAYR") for layer 0 only, and the higher layers stop crossing; when the subscriber wants
 * the top layer, they cross again and it gets it.
 */
class RelayLayersTest {
    static final long LINK_SSRC = 0x7700_0000L;
    RoomHarness a;
    RoomHarness b;

    @AfterEach
    void tearDown() {
        if (b != null) {
            b.close();
        }
        if (a != null) {
            a.close();
        }
    }

    record OnA(Room room, Endpoint pub, Track track, Endpoint link) {
    }

    record OnB(Room room, Endpoint link, Track relayed, Endpoint sub, Subscription subscription) {
    }

    private boolean layerFlowsOnB(Track relayed, int layer) throws Exception {
        return b.worker(0).loop().submit(() -> relayed.producer.isLayerActive(layer, System.nanoTime())).get();
    }

    /** {@code count} frames of every layer, one every 20 ms (layer requests and activity are timed). */
    private static void frames(SimulcastTest.Publisher pub, int count, boolean keyFirst) throws InterruptedException {
        for (int i = 0; i < count; i++) {
            if (keyFirst && i == 0) {
                pub.frame(0, SimulcastTest.ALL, 0, 1, 2);
            } else {
                pub.frame(0, SimulcastTest.ALL);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void layersNoSubscriberBehindTheLinkWantsDoNotCrossIt() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        OnA onA = a.control(() -> {
            Room room = a.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = a.endpoint(pub, "pub-ep");
            Track t = pub.publish(pe, "video", SimulcastTest.simulcastVideo());
            Endpoint link = room.addMember("node:b").createWebRtcEndpoint("link-b", EndpointListener.NONE);
            return new OnA(room, pe, t, link);
        });
        OnB onB = b.control(() -> {
            Room room = b.engine.rooms().open("r");
            Member nodeA = room.addMember("node:a");
            Endpoint link = nodeA.createEndpoint("link-a", RelayTransport.factory("127.0.0.1"), EndpointListener.NONE);
            Track relayed = nodeA.publish(link, "video", new ProducerParams("0", TrackKind.VIDEO, Codec.VP8,
                    RoomHarness.VIDEO_PT, 90000, LINK_SSRC, 0, true, 0, SimulcastTest.RIDS, 0));
            Endpoint sub = b.endpoint(room.addMember("sub"), "sub");
            Subscription s = room.subscribe(sub, relayed, subscriber(0x5001, 100));
            s.setPreference(0, 0); // a thumbnail: the lowest layer
            return new OnB(room, link, relayed, sub, s);
        });
        RoomHarness.connectRelay(a, onA.link(), b, onB.link());
        a.control(() -> onA.room().relay(onA.link(), onA.track(), LINK_SSRC));
        a.settle();

        SimulcastTest.Publisher pub = new SimulcastTest.Publisher(a.transport(onA.pub()));
        // Until A's relay hears B's first request (within half a second) every layer crosses; 1.2 s after the last
        // packet of a layer B sees it as stopped.
        frames(pub, 100, true); // 2 s
        frames(pub, 75, false); // 1.5 s
        assertTrue(layerFlowsOnB(onB.relayed(), 0), "the lowest layer crosses");
        assertFalse(layerFlowsOnB(onB.relayed(), 1), "the middle layer, which no one on B wants, does not");
        assertFalse(layerFlowsOnB(onB.relayed(), 2), "nor the top layer");
        MemoryTransport sub = b.transport(onB.sub());
        assertTrue(sub.rtpSent.size() > 20, "the subscriber gets the lowest layer: " + sub.rtpSent.size());
        assertEquals(0, SimulcastTest.layerOf(sub.rtpSent.get(sub.rtpSent.size() - 1)));

        // The subscriber shows it large now: B asks for every layer, the top one crosses, the subscriber moves up.
        b.control(() -> onB.subscription().setPreference(SimpleConsumer.ANY_LAYER, 0));
        frames(pub, 40, false);
        frames(pub, 40, true); // a keyframe on every layer for the switch
        assertTrue(layerFlowsOnB(onB.relayed(), 2), "the top layer crosses once someone on B wants it");
        assertEquals(2, SimulcastTest.layerOf(sub.rtpSent.get(sub.rtpSent.size() - 1)),
                "and the subscriber gets it");
    }
}
