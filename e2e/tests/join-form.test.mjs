// Without ?room the demo page shows a join form; submitting it joins and the call works.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('join-form'); });
after(async () => { await suite?.stop(); });

test('the demo page without ?room shows the join form and submitting it joins', { timeout: 90_000 }, async (t) => {
  await suite.guard(async () => {
    const dave = await suite.join({ name: 'dave', form: true });
    const { page } = dave;
    await page.locator('#join-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#controls').isVisible(), false, 'no call controls before joining');
    assert.equal(await page.evaluate(() => window.demo.room), null, 'no room before joining');

    await page.fill('#join-room', 'formroom');
    await page.fill('#join-name', 'dave');
    await page.click('#join-button');

    await waitFor('dave to connect', () => dave.state(), (s) => s.connection === 'connected' && s.tiles.length === 1);
    await page.locator('#join-form').waitFor({ state: 'hidden' });
    assert.match(page.url(), /[?&]room=formroom/);
    assert.match(page.url(), /[?&]name=dave/);

    const erin = await suite.join({ room: 'formroom', name: 'erin' });
    await waitForMediaFrom(dave, ['erin']);
    await waitForMediaFrom(erin, ['dave']);
    assert.equal(await page.locator('#participant-count-value').textContent(), '2');
    for (const p of [dave, erin]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  })(t);
});
