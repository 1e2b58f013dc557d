// A third participant joining a running call receives both others, and both receive it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSuite, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('late-joiner'); });
after(async () => { await suite?.stop(); });

test('a late joiner gets both running participants and both get it', { timeout: 120_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'late', name: 'alice' });
    const bob = await suite.join({ room: 'late', name: 'bob' });
    await waitForMediaFrom(alice, ['bob']);
    await waitForMediaFrom(bob, ['alice']);

    const carol = await suite.join({ room: 'late', name: 'carol' });
    await waitForMediaFrom(carol, ['alice', 'bob']);
    await waitForMediaFrom(alice, ['bob', 'carol']);
    await waitForMediaFrom(bob, ['alice', 'carol']);

    const carolState = await carol.state();
    assert.deepEqual(carolState.participants.map((p) => p.identity).sort(), ['alice', 'bob']);
    assert.equal(carolState.tiles.length, 3);
    for (const p of [alice, bob, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  })(t);
});
