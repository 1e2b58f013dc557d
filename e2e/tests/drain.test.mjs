// Drain: SIGTERM on a node in a call stops its joins (/health 503), tells its browsers to move, waits for them
// and exits 0. Alice on us-east and bob on us-west are in a call; us-east is drained: alice's browser moves to
// us-west, and the call goes on there, both ways, within a few seconds.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openOnNode, startCluster, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const IDS = ['us-east', 'us-west'];
let cluster;
let browser;
const pages = [];

before(async () => {
  cluster = await startCluster(IDS, { name: 'drain', env: { SFU_DRAIN_TIMEOUT_SECONDS: '25' } });
  browser = await launchBrowser();
});

after(async () => {
  for (const p of pages) await p.close();
  await browser?.close();
  await cluster?.stop();
});

/** The demo page on `id`; it learns the cluster's other nodes from its node's GET /nodes. */
async function join(id, name) {
  const p = await openOnNode(browser, cluster, id, { room: 'drain', name });
  pages.push(p);
  return p;
}

const nodeOf = (p) => p.page.evaluate(() => window.demo.room?.node ?? null);

test('SIGTERM drains a node: its browser moves to the other node, the call resumes, the node exits 0', { timeout: 240_000 }, async (t) => {
  try {
    const alice = await join('us-east', 'alice');
    const bob = await join('us-west', 'bob');
    await waitForMediaFrom(alice, ['bob'], { timeoutMs: 60_000 });
    await waitForMediaFrom(bob, ['alice'], { timeoutMs: 60_000 });
    assert.equal(await nodeOf(alice), 'us-east');

    const east = cluster.nodes['us-east'];
    const listed = await (await fetch(`${east.baseUrl}/nodes`)).json();
    t.diagnostic(`us-east /nodes: ${JSON.stringify(listed)}`);
    assert.deepEqual(listed.nodes.map((n) => n.id).sort(), ['us-east', 'us-west'], 'a node lists itself and its peer');
    const start = Date.now();
    const exit = east.terminate(30_000);
    // While it drains, it refuses new users.
    const health = await waitFor('us-east to refuse new users', () => fetch(`${east.baseUrl}/health`).then((r) => r.status).catch(() => 'gone'),
      (status) => status !== 200, { timeoutMs: 5_000 });
    t.diagnostic(`us-east /health after SIGTERM: ${health} (${Date.now() - start} ms)`);
    assert.ok(health === 503 || health === 'gone', `a draining node answers 503, got ${health}`);

    await waitFor('alice to move to us-west', () => nodeOf(alice), (n) => n === 'us-west', { timeoutMs: 20_000 });
    const movedMs = Date.now() - start;
    const a0 = await alice.stats();
    const b0 = await bob.stats();
    await waitForMediaRising(alice, ['bob'], a0, { minFrames: 10, timeoutMs: 30_000 });
    await waitForMediaRising(bob, ['alice'], b0, { minFrames: 10, timeoutMs: 30_000 });
    const resumedMs = Date.now() - start;
    const exited = await exit;
    t.diagnostic(`alice moved after ${movedMs} ms, media both ways after ${resumedMs} ms; us-east exited ${JSON.stringify(exited)}`);
    assert.ok(exited, 'us-east exited within 30 s');
    assert.equal(exited.code, 0, 'a drained node exits 0');
    assert.ok(exited.ms < 25_000, 'it stopped once its participant had moved, before the drain timeout');
    const events = (await alice.state()).events.map((e) => e.event);
    assert.ok(events.includes('moving'), `alice's page was told to move: ${events.join(',')}`);
    for (const p of [alice, bob]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  } catch (e) {
    console.error(cluster.logs(60));
    for (const p of pages) console.error(`--- ${p.name} state: ${JSON.stringify(await p.state().catch(() => null))}`);
    throw e;
  }
});
