// Audio with redundancy (RFC 2198): a page that publishes with `audioRedundancy: true` (the demo's ?red=1) sends
// Opus as red, the node passes it on, and the other browser receives red and plays it; a publisher without it
// sends plain Opus to the same room.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { entryFrom, startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('red'); });
after(async () => { await suite?.stop(); });

test('audio published with redundancy arrives as red and plays; plain Opus stays plain', { timeout: 120_000 }, async (t) => {
  await suite.guard(async (tc) => {
    const alice = await suite.join({ room: 'red', name: 'alice', params: { red: '1' } });
    const bob = await suite.join({ room: 'red', name: 'bob' });
    await waitForMediaFrom(bob, ['alice']);
    await waitForMediaFrom(alice, ['bob']);
    const sent = (await alice.publishStats()).find((s) => s.kind === 'audio');
    assert.equal(sent.codec, 'audio/red', `alice sends red: ${JSON.stringify(sent)}`);
    const first = entryFrom(await bob.stats(), 'alice', 'audio');
    assert.equal(first.codec, 'audio/red', `bob receives alice's audio as red: ${JSON.stringify(first)}`);
    const later = await waitFor('bob to keep receiving alice\'s red audio', async () => entryFrom(await bob.stats(), 'alice', 'audio'),
      (s) => s.packetsReceived > first.packetsReceived + 100, { timeoutMs: 20_000 });
    // The audio plays: the receiver's audio level of alice's track (a fake-device tone) is above silence.
    const level = await bob.page.evaluate(async () => {
      const report = await window.demo.room._subscriber.getStats();
      return [...report.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'audio'
        && s.audioLevel !== undefined && s.totalSamplesReceived > 0)?.totalSamplesReceived ?? 0;
    });
    tc.diagnostic(`bob: ${later.packetsReceived} red packets from alice, ${level} samples decoded`);
    assert.ok(level > 48_000, `bob decoded alice's audio (${level} samples)`);
    const plain = entryFrom(await alice.stats(), 'bob', 'audio');
    assert.equal(plain.codec, 'audio/opus', `bob published without redundancy: ${JSON.stringify(plain)}`);
  })(t);
});
