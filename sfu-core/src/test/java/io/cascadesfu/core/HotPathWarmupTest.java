package io.cascadesfu.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.core.dtls.DtlsCertificate;
import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.worker.MediaWorker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HotPathWarmupTest {

    @Test
    void warmUpForwardsThroughEveryWorkerAndPipeThenLeavesNothingBehind() throws Exception {
        SfuMetrics metrics = SfuMetrics.inMemory();
        try (MediaEngine engine = MediaEngine.start(new MediaConfig("127.0.0.1", 0, List.of(), Duration.ofSeconds(30),
                Duration.ofSeconds(5), 2, MediaConfig.Placement.DEFAULT), DtlsCertificate.generate(), metrics)) {
            long received = HotPathWarmup.run(engine, 2000);
            // 2 publishers x 2 tracks x 2000 packets, each to 2 subscribers (one local, one behind the pipe); video
            // waits for its first keyframe at each subscriber, and the sockets drop some of this burst on two busy cores.
            assertTrue(received > 0.5 * 16000, "forwarded " + received);
            for (MediaWorker w : engine.workers()) {
                assertTrue(w.stats().pipePacketsIn() >= 0.5 * 4000, "worker " + w.index() + " took its peer's streams "
                        + "from the pipe: " + w.stats().pipePacketsIn());
            }
            assertEquals(0, engine.control().submit(() -> engine.rooms().size()).get(5, TimeUnit.SECONDS));
            for (MediaWorker w : engine.workers()) {
                w.loop().submit(() -> null).get(5, TimeUnit.SECONDS); // the closing tasks have run
                assertEquals(0, w.transportCount(), "transports left on worker " + w.index());
                assertEquals(0, w.routerCount(), "routers left on worker " + w.index());
            }
        }
    }
}
