package io.cascadesfu.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cascadesfu.load.LoadSummary.ParticipantResult;
import io.cascadesfu.load.LoadSummary.StreamResult;
import io.cascadesfu.server.SfuConfig;
import io.cascadesfu.server.SfuNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The load tool against a real node started in-process (ephemeral ports, development tokens): real
 * WebSocket signaling, ICE, DTLS and SRTP. With no impairment the path is fast and lossless; with a known
 * impairment injected by the relay the tool must measure it.
 */
@Timeout(60)
class LoadRunIntegrationTest {
    SfuNode node;

    @BeforeEach
    void startNode() {
        node = new SfuNode(SfuConfig.load(null, Map.of("SFU_HTTP_PORT", "0", "SFU_MEDIA_PORT", "0")));
    }

    @AfterEach
    void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    String url() {
        return "http://127.0.0.1:" + node.httpAddress().getPort();
    }

    LoadSummary run(String... args) throws Exception {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        LoadSummary summary;
        try (PrintStream out = new PrintStream(progress, true, StandardCharsets.UTF_8)) {
            summary = new LoadRun(LoadOptions.parse(args), out).run();
        }
        String text = progress.toString(StandardCharsets.UTF_8);
        System.out.print(text);
        System.out.print(summary.toText());
        assertTrue(text.lines().anyMatch(l -> l.startsWith("[") && l.contains("pkt/s")), "progress lines printed");
        return summary;
    }

    /**
     * Joins to a room are sequential (the default) so that no track is published while a subscribe offer is
     * pending: see
     * {@link #meetingWithSimultaneousJoinsReceivesEverything()} for what happens otherwise.
     */
    @Test
    void meetingOfThreeReceivesEveryoneElsesAudioAndVideoWithoutLossAndFast() throws Exception {
        LoadSummary s = run("--url", url(), "--shape", "meeting", "--participants", "3", "--duration", "5s",
                "--ramp", "10/s", "--video-kbps", "500", "--report-interval", "1s");
        assertMeetingComplete(s);
        // 3 publishers x (50 audio + ~60-100 video packets/s) x 2 receivers over ~5 s.
        assertTrue(s.packetsReceived() > 2000, "packets received: " + s.packetsReceived());
        assertTrue(s.lossPercent() < 1.0, "loss " + s.lossPercent() + " %");
        assertTrue(s.latencyMs().p50() < 20, "latency p50 " + s.latencyMs().p50() + " ms");
        assertTrue(s.keyframesSent() >= 3, "each publisher sent keyframes");
        assertEquals(1, s.nodeResults().size());
        assertTrue(s.nodeResults().get(0).heapMbPeak() > 0, "node memory scraped");
        assertTrue(s.nodeResults().get(0).rtpOutPerSecond() > 0, "node's forwarded packets scraped");
    }

    /**
     * Found by this tool: when a track is published while a participant's subscribe offer is still unanswered,
     * the node assigns it a slot at once but leaves it out of that offer; the answer then marks the slot rejected
     * and the follow-up update sees nothing new, so the track is never offered (Participant.updateSubscriptions /
     * onSubscribeAnswer in sfu-signaling). Enable once the node re-offers such slots.
     */
    @Test
    void meetingWithSimultaneousJoinsReceivesEverything() throws Exception {
        LoadSummary s = run("--url", url(), "--shape", "meeting", "--participants", "3", "--duration", "3s",
                "--ramp", "100/s", "--video-kbps", "300", "--concurrent-joins");
        assertMeetingComplete(s);
    }

    private static void assertMeetingComplete(LoadSummary s) {
        assertEquals(3, s.connected(), "all connect: " + s.failures());
        assertEquals(0, s.failed());
        assertEquals(12, s.streamsExpected());
        for (ParticipantResult p : s.participantResults()) {
            Set<String> got = new HashSet<>();
            for (StreamResult r : p.streams()) {
                if (r.received() > 0) {
                    got.add(r.sender() + "/" + r.kind());
                }
            }
            int self = Integer.parseInt(p.identity().substring("load-".length()));
            Set<String> want = new HashSet<>();
            for (int other = 0; other < 3; other++) {
                if (other != self) {
                    want.add(other + "/audio");
                    want.add(other + "/video");
                }
            }
            assertEquals(want, got, p.identity() + " receives the other two's audio and video");
        }
        assertEquals(12, s.streamsReceiving());
    }

    /**
     * 60 ms delay and 5 % loss on the node → client direction only, so a packet crosses the impairment once:
     * the measured one-way latency is the delay plus the (sub-millisecond) node, and the measured loss is the
     * injected loss. Audio only, 4 participants, 8 s: 4 × 3 streams × 50 packets/s ≈ 4800 packets, so the
     * binomial standard deviation of the loss is about 0.3 %.
     */
    /**
     * A round trip longer than the 100 ms between ICE checks (California-Frankfurt is ~150 ms): the answer to a
     * check arrives after the next check went. It counts all the same; before, only the newest check's answer did,
     * and such a path never connected.
     */
    @Test
    void participantsBehindAPathWithA160msRoundTripConnect() throws Exception {
        LoadSummary s = run("--url", url(), "--participants", "2", "--duration", "3s", "--ramp", "10/s",
                "--connect-timeout", "20s", "--impair", "delay=80ms");
        assertEquals(2, s.connected(), "both connect: " + s.failures());
        assertEquals(4, s.streamsReceiving(), "every stream flows");
        assertTrue(s.latencyMs().p50() >= 160 && s.latencyMs().p50() <= 200,
                "80 ms up from the publisher, 80 ms down to the subscriber: p50 " + s.latencyMs().p50());
    }

    @Test
    void measuresInjectedDelayAndLoss() throws Exception {
        LoadSummary s = run("--url", url(), "--shape", "audio", "--participants", "4", "--duration", "8s",
                "--ramp", "10/s", "--impair-down", "delay=60ms,loss=5%");

        assertEquals(4, s.connected(), "all connect: " + s.failures());
        // With 5 % of the node's datagrams dropped, a subscriber's DTLS handshake can lose a flight and retry late
        // in an 8 s run (CASCADE.md notes the same on lossy paths): what this test measures is the delay and the
        // loss of what flows, so one stream of twelve may start late. Without loss, every stream must flow (above).
        assertTrue(s.streamsReceiving() >= 11, "streams receiving: " + s.streamsReceiving() + " of 12");
        assertTrue(s.packetsExpected() > 3000, "enough packets for the statistics: " + s.packetsExpected());
        assertTrue(s.latencyMs().p50() >= 60 && s.latencyMs().p50() <= 90, "latency p50 " + s.latencyMs().p50());
        assertTrue(s.lossPercent() >= 3.5 && s.lossPercent() <= 6.5, "loss " + s.lossPercent() + " %");
    }
}
