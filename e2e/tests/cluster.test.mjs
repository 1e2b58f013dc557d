// Three regions: us-east, us-west and eu-central, each a real node process, cascaded (static peers, shared secret).
// Alice joins on us-east, bob on us-west, carol on eu-central: each decodes the other two. A late joiner on us-west
// gets everyone and, when it leaves, disappears everywhere. Then eu-central dies (SIGKILL): the us-east - us-west
// call carries on undisturbed, and carol's browser moves to the next node of its list and is back in the call.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openOnNode, sleep, startCluster, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const IDS = ['us-east', 'us-west', 'eu-central'];
let cluster;
let browser;
const pages = [];

before(async () => {
  cluster = await startCluster(IDS, { name: 'cluster3' });
  browser = await launchBrowser();
});

after(async () => {
  for (const p of pages) await p.close();
  await browser?.close();
  await cluster?.stop();
});

/** The demo page on `id`, with the cluster's nodes listed as where to go if `id` is lost (its own first). */
async function join(id, name) {
  const p = await openOnNode(browser, cluster, id, { room: 'world', name, listNodes: true });
  pages.push(p);
  return p;
}

const identities = (state) => state.participants.map((p) => p.identity).sort();
const nodeOf = (p) => p.page.evaluate(() => window.demo.room?.node ?? null);

test('three browsers on three nodes decode each other; a node dies and its browser moves', { timeout: 300_000 }, async (t) => {
  try {
    const alice = await join('us-east', 'alice');
    const bob = await join('us-west', 'bob');
    const carol = await join('eu-central', 'carol');
    await waitForMediaFrom(alice, ['bob', 'carol'], { timeoutMs: 60_000 });
    await waitForMediaFrom(bob, ['alice', 'carol'], { timeoutMs: 60_000 });
    await waitForMediaFrom(carol, ['alice', 'bob'], { timeoutMs: 60_000 });
    assert.deepEqual([await nodeOf(alice), await nodeOf(bob), await nodeOf(carol)], IDS, 'each joined its own node');
    t.diagnostic('alice (us-east), bob (us-west), carol (eu-central) decode each other');

    // A late joiner on us-west gets everyone; when it leaves it is gone everywhere.
    const dave = await join('us-west', 'dave');
    await waitForMediaFrom(dave, ['alice', 'bob', 'carol'], { timeoutMs: 60_000 });
    for (const p of [alice, carol]) {
      await waitFor(`${p.name} to list dave`, () => p.state(), (s) => identities(s).includes('dave'), { timeoutMs: 15_000 });
    }
    await dave.close();
    for (const p of [alice, bob, carol]) {
      await waitFor(`${p.name} to see dave leave`, () => p.state(), (s) => !identities(s).includes('dave'), { timeoutMs: 15_000 });
    }
    t.diagnostic('dave joined late on us-west, got everyone, and left everywhere');

    // eu-central dies. The others drop carol within a few seconds and their own call goes on.
    const before = { alice: await alice.stats(), bob: await bob.stats() };
    const killedAt = Date.now();
    await cluster.nodes['eu-central'].kill();
    await waitForMediaRising(alice, ['bob'], before.alice, { minFrames: 30, minPackets: 50, timeoutMs: 15_000 });
    await waitForMediaRising(bob, ['alice'], before.bob, { minFrames: 30, minPackets: 50, timeoutMs: 15_000 });
    t.diagnostic('after eu-central died, alice and bob kept decoding each other');

    // Carol's browser moves to the next node of its list (us-east) and is back: everyone decodes everyone again.
    await waitFor('carol to rejoin on another node', () => nodeOf(carol), (n) => n !== null && n !== 'eu-central', { timeoutMs: 30_000 });
    const carolNode = await nodeOf(carol);
    const rejoinedAt = Date.now();
    await waitForMediaFrom(carol, ['alice', 'bob'], { timeoutMs: 60_000 });
    const back = Date.now();
    await waitFor('alice and bob to get carol again', async () => [await alice.state(), await bob.state()],
      (states) => states.every((s) => identities(s).filter((i) => i === 'carol').length === 1), { timeoutMs: 20_000 });
    const now = { alice: await alice.stats(), bob: await bob.stats() };
    await sleep(1_000);
    await waitForMediaRising(alice, ['carol'], now.alice, { minFrames: 5, timeoutMs: 60_000 });
    await waitForMediaRising(bob, ['carol'], now.bob, { minFrames: 5, timeoutMs: 60_000 });
    t.diagnostic(`carol moved to ${carolNode}: joined ${((rejoinedAt - killedAt) / 1000).toFixed(1)} s and decoded alice and bob ${((back - killedAt) / 1000).toFixed(1)} s after eu-central died; they decode her`);
    t.diagnostic(`carol's events: ${JSON.stringify((await carol.state()).events.filter((e) => e.t >= killedAt).map((e) => ({ ...e, t: e.t - killedAt })))}`);
    for (const p of [alice, bob, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  } catch (e) {
    console.error(cluster.logs(60));
    for (const p of pages.filter((x) => !x.closed)) {
      console.error(`--- ${p.name} state: ${JSON.stringify(await p.state().catch(() => null))}`);
    }
    throw e;
  }
});
