// The node tells everyone who speaks: with bob's microphone muted, alice (Chromium's fake microphone) becomes the
// dominant speaker for both, and her tile is marked in bob's page; when alice mutes and bob unmutes, bob takes over.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('active-speaker'); });
after(async () => { await suite?.stop(); });

const dominantSeenBy = async (p) => p.page.evaluate(() => window.demo.room?.dominantSpeaker ?? null);

test('the dominant speaker follows who talks', { timeout: 120_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'talk', name: 'alice' });
    const bob = await suite.join({ room: 'talk', name: 'bob' });
    await waitForMediaFrom(alice, ['bob']);
    await waitForMediaFrom(bob, ['alice']);
    const aliceId = (await alice.state()).participantId;
    const bobId = (await bob.state()).participantId;

    await bob.page.evaluate(() => window.demo.room.setMuted('audio', true));
    for (const p of [alice, bob]) {
      await waitFor(`${p.name} to see alice as the dominant speaker`, () => dominantSeenBy(p), (d) => d === aliceId,
        { timeoutMs: 20_000 });
    }
    const marked = await bob.page.evaluate(() => [...document.querySelectorAll('.tile.speaking')]
      .map((x) => x.dataset.identity ?? x.dataset.participantId));
    assert.deepEqual(marked, ['alice'], 'bob\'s page marks alice\'s tile');

    await alice.page.evaluate(() => window.demo.room.setMuted('audio', true));
    await bob.page.evaluate(() => window.demo.room.setMuted('audio', false));
    await waitFor('alice to see bob take over', () => dominantSeenBy(alice), (d) => d === bobId, { timeoutMs: 20_000 });
  })(t);
});
