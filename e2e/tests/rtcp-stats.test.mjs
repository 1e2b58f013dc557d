// The node's RTCP makes the browsers' statistics meaningful: receiver reports give the publisher a
// round-trip time and loss figures (remote-inbound-rtp), sender reports give the subscriber
// remote-outbound-rtp, and keyframe requests reach the publisher.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('rtcp-stats'); });
after(async () => { await suite?.stop(); });

/** getStats() entries of one of the room's PeerConnections, as plain objects. */
function pcStats(participant, which) {
  return participant.page.evaluate(async (w) => {
    const pc = w === 'publish' ? window.demo.room._publisher : window.demo.room._subscriber;
    if (!pc) return [];
    const report = await pc.getStats();
    return [...report.values()].map((s) => ({ ...s }));
  }, which);
}

test('receiver and sender reports from the node fill in the browsers\' RTCP statistics', { timeout: 90_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'rtcp', name: 'alice' });
    const bob = await suite.join({ room: 'rtcp', name: 'bob' });
    await waitForMediaFrom(alice, ['bob']);
    await waitForMediaFrom(bob, ['alice']);

    // Publisher side: remote-inbound-rtp exists only when the node sends receiver reports
    // about the stream, and its roundTripTime only when LSR/DLSR are right.
    const remoteInbound = await waitFor('alice to get receiver reports with a round-trip time for her video',
      () => pcStats(alice, 'publish'),
      (stats) => stats.some((s) => s.type === 'remote-inbound-rtp' && s.kind === 'video'
        && typeof s.roundTripTime === 'number' && s.roundTripTimeMeasurements > 0));
    const rtt = remoteInbound.find((s) => s.type === 'remote-inbound-rtp' && s.kind === 'video').roundTripTime;
    assert.ok(rtt >= 0 && rtt < 0.5, `round-trip time on loopback is small, got ${rtt} s`);
    const lost = remoteInbound.find((s) => s.type === 'remote-inbound-rtp' && s.kind === 'video').packetsLost;
    assert.ok(lost >= 0 && lost < 50, `no real loss on loopback, got ${lost}`);

    // Subscriber side: remote-outbound-rtp exists only when the node sends sender reports.
    const subStats = await waitFor('bob to get sender reports for the audio and video he receives',
      () => pcStats(bob, 'subscribe'),
      (stats) => ['audio', 'video'].every((k) => stats.some((s) => s.type === 'remote-outbound-rtp' && s.kind === k
        && s.packetsSent > 0)));
    const inbound = subStats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    assert.equal(typeof inbound.jitter, 'number');
    assert.ok(inbound.jitter < 0.5, `jitter on loopback is small, got ${inbound.jitter}`);

    // A subscriber that joins a running call needs a keyframe: the node holds alice's video for carol
    // and asks alice for one (PLI), which her encoder counts.
    const carol = await suite.join({ room: 'rtcp', name: 'carol' });
    await waitForMediaFrom(carol, ['alice']);
    const outbound = (await pcStats(alice, 'publish')).find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
    assert.ok(outbound.pliCount + outbound.firCount > 0, `alice received keyframe requests: ${JSON.stringify(outbound)}`);
    assert.ok(outbound.keyFramesEncoded >= 2, 'alice encoded a keyframe for carol');
  })(t);
});
