// Simulcast: a 1280x720 camera goes out in three layers (320x180, 640x360, 1280x720); each subscriber gets the
// layer that fits how its page shows the video (the client library's adaptive stream: the demo's large tile
// for the speaker, thumbnails for the others), switches when that changes, and gets nothing while hidden.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { entryFrom, scrapeMetrics, sleep, startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('simulcast'); });
after(async () => { await suite?.stop(); });

/** The layer height the node should pick for a tile `h` device pixels high: the smallest that fills 90% of it. */
const expectedHeight = (h) => (h <= 200 ? 180 : h <= 400 ? 360 : 720);

/** carol's view: per remote identity, its video tile height and the frame height she decodes. */
async function view(p) {
  const tiles = await p.page.evaluate(() => [...document.querySelectorAll('.tile:not(.local)')].map((t) => ({
    identity: t.dataset.identity, height: Math.round(t.querySelector('video').clientHeight * devicePixelRatio),
  })));
  const stats = await p.stats();
  return tiles.map((t) => ({ ...t, frameHeight: entryFrom(stats, t.identity, 'video')?.frameHeight ?? 0,
    framesDecoded: entryFrom(stats, t.identity, 'video')?.framesDecoded ?? 0,
    packetsReceived: entryFrom(stats, t.identity, 'video')?.packetsReceived ?? 0 }));
}

const fits = (v) => v.length === 2 && v.every((t) => t.frameHeight === expectedHeight(t.height));

test('each video arrives in the layer that fits its tile, switches with it, and not at all while hidden', { timeout: 200_000 }, async (t) => {
  await suite.guard(async (tc) => {
    const alice = await suite.join({ room: 'layers', name: 'alice', video: '1280x720' });
    const bob = await suite.join({ room: 'layers', name: 'bob', video: '1280x720' });
    const carol = await suite.join({ room: 'layers', name: 'carol', viewport: { width: 1280, height: 900 } });
    await waitForMediaFrom(carol, ['alice', 'bob'], { timeoutMs: 40_000 });

    // The node's transport-cc feedback lets alice's congestion control find room for all three layers. On a
    // machine where two 720p simulcast encoders and three pages do not fit (Chromium's CPU adaptation keeps the
    // encoder and its estimate low), the layer checks cannot run: said loudly and skipped, as in bandwidth.test.
    let layers;
    let bwe;
    try {
      layers = await waitFor('alice to send three simulcast layers', () => alice.publishStats(),
        (s) => s.filter((x) => x.kind === 'video' && x.rid && x.packetsSent > 0).length === 3, { timeoutMs: 60_000 });
      bwe = await waitFor("alice's bandwidth estimate to reach 2 Mbit/s", () => alice.publishStats(),
        (s) => (s.find((x) => x.kind === 'transport')?.availableOutgoingBitrate ?? 0) >= 2_000_000, { timeoutMs: 60_000 });
    } catch (e) {
      const stats = await alice.publishStats();
      tc.diagnostic(`===== SKIPPED: alice's publisher never got three layers at 2 Mbit/s (${e.message.split(';')[0]}); `
        + `her streams: ${JSON.stringify(stats)}`);
      t.skip('the publisher\'s encoder or estimate stayed low on this machine');
      return;
    }
    tc.diagnostic(`alice sends ${JSON.stringify(layers.filter((x) => x.kind === 'video').map((x) => [x.rid, x.frameHeight]))}`);
    tc.diagnostic(`alice's estimate: ${bwe.find((x) => x.kind === 'transport').availableOutgoingBitrate} bit/s`);

    const first = await waitFor('carol to get for each tile the layer that fits it', () => view(carol), fits,
      { timeoutMs: 60_000 });
    tc.diagnostic(`carol, large window: ${JSON.stringify(first)}`);

    // carol's page shows the videos small now (as thumbnails would be), and both move down to the low layer.
    const setVideoHeight = (css) => carol.page.evaluate((h) => {
      document.querySelectorAll('.tile:not(.local) video').forEach((v) => { v.style.height = h; });
    }, css);
    await setVideoHeight('120px');
    const small = await waitFor('carol to move down with her tiles', () => view(carol), fits, { timeoutMs: 40_000 });
    tc.diagnostic(`carol, small window: ${JSON.stringify(small)}`);
    assert.ok(small.every((x) => x.frameHeight === 180), `small tiles get the low layer: ${JSON.stringify(small)}`);
    await sleep(2_000);
    const after = await view(carol);
    for (const x of after) {
      const before = small.find((y) => y.identity === x.identity);
      assert.ok(x.framesDecoded > before.framesDecoded + 10, `${x.identity}'s video keeps decoding after the switch`);
    }

    // Large again: both move up to the top layer.
    await setVideoHeight('700px');
    const large = await waitFor('carol to move up with her tiles', () => view(carol),
      (v) => fits(v) && v.every((x) => x.frameHeight === 720), { timeoutMs: 40_000 });
    tc.diagnostic(`carol, large videos: ${JSON.stringify(large)}`);
    await setVideoHeight('');

    // Hidden: nothing is sent to carol; shown again: it resumes.
    const setHidden = (hidden) => carol.page.evaluate((h) => {
      document.querySelectorAll('.tile:not(.local) video').forEach((v) => { v.style.display = h ? 'none' : ''; });
    }, hidden);
    await setHidden(true);
    await sleep(2_000);
    const pausedAt = await view(carol);
    await sleep(3_000);
    const paused = await view(carol);
    const sentWhileHidden = paused.map((x) => x.packetsReceived - pausedAt.find((y) => y.identity === x.identity).packetsReceived);
    tc.diagnostic(`hidden: ${sentWhileHidden} video packets in 3 s`);
    assert.ok(sentWhileHidden.every((n) => n < 10), `hidden videos are not sent: ${sentWhileHidden}`);
    await setHidden(false);
    await waitFor('carol to decode both again', () => view(carol),
      (v) => v.every((x) => x.framesDecoded > paused.find((y) => y.identity === x.identity).framesDecoded + 10),
      { timeoutMs: 20_000 });

    const m = await scrapeMetrics(suite.server);
    assert.ok((m.sfu_layer_switches_total ?? 0) >= 1, 'layer switches are counted');
    for (const p of [alice, bob, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  })(t);
});
