// The client library's recovery: a dropped socket rejoins with the same token and republishes; a second
// join with the same identity replaces the first, which then stops for good.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep, startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('reconnect'); });
after(async () => { await suite?.stop(); });

const states = (events) => events.filter((e) => e.event === 'connectionStateChanged').map((e) => e.state);

test('a dropped socket reconnects, republishes and media flows again', { timeout: 120_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'reconnect', name: 'alice' });
    const bob = await suite.join({ room: 'reconnect', name: 'bob' });
    await waitForMediaFrom(alice, ['bob']);
    await waitForMediaFrom(bob, ['alice']);
    const oldId = (await alice.state()).participantId;

    // Drop alice's socket as a network failure would (no `leave`).
    await alice.page.evaluate(() => window.demo.room._ws.close(4000, 'test drops the socket'));
    const state = await waitFor('alice to reconnect', () => alice.state(),
      (s) => s.connection === 'connected' && s.participantId && s.participantId !== oldId);
    assert.deepEqual(states(state.events).slice(-2), ['reconnecting', 'connected']);

    // Both directions work again on the new session (bob receives alice's republished tracks).
    await waitFor('bob to see alice\'s new session', () => bob.stats(),
      (s) => s.some((x) => x.participantId === state.participantId && x.kind === 'video' && x.framesDecoded > 0));
    await waitForMediaFrom(alice, ['bob']);
  })(t);
});

test('joining with the same identity elsewhere replaces the first page, which stops', { timeout: 90_000 }, async (t) => {
  await suite.guard(async () => {
    const first = await suite.join({ room: 'replace', name: 'zoe' });
    await waitFor('zoe to connect', () => first.state(), (s) => s.connection === 'connected');
    const second = await suite.join({ room: 'replace', name: 'zoe' });
    await waitFor('the second zoe to connect', () => second.state(), (s) => s.connection === 'connected');

    const state = await waitFor('the first zoe to be replaced', () => first.state(),
      (s) => s.connection === 'disconnected' && s.events.some((e) => e.event === 'error' && e.code === 'replaced'));
    assert.equal(await first.page.locator('#left-view').isVisible(), true, 'the first page shows why it ended');
    // No reconnect attempt follows (it would replace the second page in turn).
    await sleep(3_000);
    const later = await first.state();
    assert.equal(later.connection, 'disconnected');
    assert.ok(!states(later.events).includes('reconnecting'), `no reconnect: ${JSON.stringify(states(later.events))}`);
    assert.equal(states(state.events).at(-1), 'disconnected');
    assert.equal((await second.state()).connection, 'connected');
  })(t);
});
