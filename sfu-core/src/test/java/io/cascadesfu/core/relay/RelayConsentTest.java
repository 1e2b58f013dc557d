package io.cascadesfu.core.relay;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.room.EndpointListener;
import io.cascadesfu.core.testing.RoomHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A relay link keeps its consent while the far node answers: it checks every second and gives up only after 8 s
 * without an answer, so an idle, healthy link (no media yet) stays up well past that.
 */
class RelayConsentTest {
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

    @Test
    @Timeout(60)
    void aHealthyIdleLinkStaysUpPastTheConsentTimeout() throws Exception {
        a = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        b = new RoomHarness(1, MediaConfig.Placement.DEFAULT);
        Endpoint served = a.control(() -> a.engine.rooms().open("r").addMember("node:b")
                .createWebRtcEndpoint("link-b", EndpointListener.NONE));
        Endpoint dialing = b.control(() -> b.engine.rooms().open("r").addMember("node:a")
                .createEndpoint("link-a", RelayTransport.factory("127.0.0.1"), EndpointListener.NONE));
        RoomHarness.connectRelay(a, served, b, dialing);
        for (int i = 0; i < 14; i++) {
            Thread.sleep(1_000);
            String progress = dialing.relayProgress().join();
            assertTrue(b.control(dialing::isConnected), "still connected after " + (i + 1) + " s: " + progress);
        }
    }
}
