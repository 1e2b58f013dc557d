// When a participant closes its page, its tile and tracks go away for the others within seconds,
// and the others' call goes on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSuite, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('leaver'); });
after(async () => { await suite?.stop(); });

test('a participant that closes its page disappears for the others', { timeout: 120_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'leave', name: 'alice' });
    const bob = await suite.join({ room: 'leave', name: 'bob' });
    const carol = await suite.join({ room: 'leave', name: 'carol' });
    await waitForMediaFrom(alice, ['bob', 'carol']);
    await waitForMediaFrom(bob, ['alice', 'carol']);

    const carolId = (await carol.state()).participantId;
    assert.ok(carolId, 'carol has a participant id');
    await carol.close();

    for (const p of [alice, bob]) {
      const state = await waitFor(
        `${p.name} to drop carol's tile`,
        () => p.state(),
        (s) => !s.tiles.some((x) => x.participantId === carolId)
          && !s.participants.some((x) => x.participantId === carolId),
        { timeoutMs: 10_000 },
      );
      const ended = state.events.filter((e) => e.participantId === carolId
        && (e.event === 'participantLeft' || e.event === 'trackUnsubscribed'));
      assert.ok(ended.length > 0, `${p.name} saw participantLeft or trackUnsubscribed for carol`);
      assert.equal(await p.page.locator(`.tile[data-participant-id="${carolId}"]`).count(), 0);
    }
    // The remaining two still talk; carol's tracks are gone from their stats.
    await waitFor(`alice's stats to drop carol`, () => alice.stats(), (s) => !s.some((x) => x.participantId === carolId));
    const before = await alice.stats();
    await waitForMediaRising(alice, ['bob'], before, { minFrames: 5, minPackets: 10 });
  })(t);
});
