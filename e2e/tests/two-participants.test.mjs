// Two participants in one room each decode the other's video and receive the other's audio.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSuite, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('two-participants'); });
after(async () => { await suite?.stop(); });

test('two participants decode each other\'s video and receive each other\'s audio', { timeout: 90_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'two', name: 'alice' });
    const bob = await suite.join({ room: 'two', name: 'bob' });

    const aliceFirst = await waitForMediaFrom(alice, ['bob']);
    const bobFirst = await waitForMediaFrom(bob, ['alice']);
    // Still flowing a moment later: frames and packets keep rising.
    await waitForMediaRising(alice, ['bob'], aliceFirst, { minFrames: 10, minPackets: 20 });
    await waitForMediaRising(bob, ['alice'], bobFirst, { minFrames: 10, minPackets: 20 });

    const aliceState = await alice.state();
    assert.equal(aliceState.connection, 'connected');
    assert.deepEqual(aliceState.participants.map((p) => p.identity), ['bob']);
    assert.deepEqual(aliceState.tiles.map((x) => x.name).sort(), ['alice (you)', 'bob']);
    for (const p of [alice, bob]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  })(t);
});
