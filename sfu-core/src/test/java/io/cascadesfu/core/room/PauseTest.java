package io.cascadesfu.core.room;

import static io.cascadesfu.core.testing.RoomHarness.subscriber;
import static io.cascadesfu.core.testing.RoomHarness.video;
import static io.cascadesfu.core.testing.RoomHarness.vp8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.MediaConfig;
import io.cascadesfu.core.testing.MemoryTransport;
import io.cascadesfu.core.testing.RoomHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An operator's mute stops the media, not only the signalled state: a paused track reaches no subscriber, on its
 * own worker or across a pipe to another; on resume the publisher is asked for a keyframe and subscribers get the
 * track again from it, with sequence numbers that go on without a gap.
 */
class PauseTest {
    static final long SSRC = 0x4242;
    RoomHarness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    record Made(Track track, Endpoint pub, Endpoint a, Endpoint b) {
    }

    record Setup(Track track, MemoryTransport pub, MemoryTransport local, MemoryTransport piped) {
    }

    @Test
    void aPausedTrackReachesNoOneAndComesBackOnAKeyframe() throws Exception {
        h = new RoomHarness(2, new MediaConfig.Placement(MediaConfig.Placement.DEFAULT.memberBudget(), true));
        Made m = h.control(() -> {
            Room room = h.engine.rooms().open("r");
            Member pub = room.addMember("pub");
            Endpoint pe = h.endpoint(pub, "pub");
            Track t = pub.publish(pe, "video", video(SSRC));
            Endpoint a = h.endpoint(room.addMember("a"), "a");
            Endpoint b = h.endpoint(room.addMember("b"), "b");
            room.subscribe(a, t, subscriber(0x5001, 100));
            room.subscribe(b, t, subscriber(0x5002, 100));
            return new Made(t, pe, a, b);
        });
        h.settle();
        Setup s = new Setup(m.track(), h.transport(m.pub()), h.transport(m.a()), h.transport(m.b()));
        int seq = 100;
        for (int i = 0; i < 10; i++, seq++) {
            s.pub().inject(vp8(SSRC, seq, 3000L * i, i == 0, 30));
        }
        RoomHarness.waitUntil("both subscribers to get the track",
                () -> s.local().rtpSent.size() >= 10 && s.piped().rtpSent.size() >= 10);

        h.control(() -> s.track().setPaused(true));
        h.settle();
        int localBefore = s.local().rtpSent.size();
        int pipedBefore = s.piped().rtpSent.size();
        long plisBefore = s.pub().plisSent();
        for (int i = 10; i < 30; i++, seq++) {
            s.pub().inject(vp8(SSRC, seq, 3000L * i, i == 15, 30));
        }
        h.settle();
        Thread.sleep(200);
        assertEquals(localBefore, s.local().rtpSent.size(), "nothing reaches the first subscriber");
        assertEquals(pipedBefore, s.piped().rtpSent.size(), "nor the second (the members are spread over both workers: one is behind a pipe)");

        h.control(() -> s.track().setPaused(false));
        // On resume the publisher is asked for a keyframe (at once, or with the next packets once the 300 ms
        // keyframe-request throttle allows); until it comes nothing goes out.
        int i = 30;
        for (; i < 130 && s.pub().plisSent() == plisBefore; i++, seq++) {
            s.pub().inject(vp8(SSRC, seq, 3000L * i, false, 30));
            Thread.sleep(50);
        }
        assertTrue(s.pub().plisSent() > plisBefore, "a keyframe was asked for on resume");
        h.settle();
        assertEquals(localBefore, s.local().rtpSent.size(), "nothing before the keyframe");
        for (int k = 0; k < 10; k++, i++, seq++) {
            s.pub().inject(vp8(SSRC, seq, 3000L * i, k == 0, 30));
        }
        RoomHarness.waitUntil("both to get the track again from the keyframe",
                () -> s.local().rtpSent.size() >= localBefore + 10 && s.piped().rtpSent.size() >= pipedBefore + 10);
        int last = RoomHarness.seqOf(s.local().rtpSent.get(localBefore - 1));
        int next = RoomHarness.seqOf(s.local().rtpSent.get(localBefore));
        assertEquals((last + 1) & 0xFFFF, next, "the subscriber sees no gap across the pause");

    }
}
