// A node cut off, then back: the control channel between two nodes is blocked (nftables in the test's own network
// namespace) while alice (on pa) and bob (on pb) are in a call. Each node drops the other's participant within a
// few seconds, each browser stays in its own node's call; when the block lifts, the nodes find each other again by
// themselves, and alice and bob see and decode each other again, without any operator action.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canFirewall, launchBrowser, nft, openOnNode, sleep, startCluster, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const TABLE = 'e2e_partition';

const usable = canFirewall();
let cluster;
let browser;
const pages = [];
before(async () => {
  if (!usable) return;
  cluster = await startCluster(['pa', 'pb'], { name: 'partition' });
  browser = await launchBrowser();
});
after(async () => {
  for (const p of pages) await p.close();
  await browser?.close();
  await cluster?.stop();
  if (usable) {
    try { nft('delete', 'table', 'inet', TABLE); } catch { /* gone */ }
  }
});

const identities = (state) => state.participants.map((p) => p.identity).sort();

test('a node cut off from its peer drops and regains the far participant by itself; each local call goes on', { timeout: 240_000, skip: !usable && 'needs nftables inside the e2e network namespace (root)' }, async (t) => {
  try {
    const alice = await openOnNode(browser, cluster, 'pa', { room: 'cut', name: 'alice' });
    pages.push(alice);
    const bob = await openOnNode(browser, cluster, 'pb', { room: 'cut', name: 'bob' });
    pages.push(bob);
    await waitForMediaFrom(alice, ['bob'], { timeoutMs: 60_000 });
    await waitForMediaFrom(bob, ['alice'], { timeoutMs: 60_000 });

    // pa dials pb (the lower id dials): every segment of that TCP connection is dropped, both ways.
    const port = String(cluster.clusterPorts.pb);
    nft('add', 'table', 'inet', TABLE);
    nft('add', 'chain', 'inet', TABLE, 'input', '{ type filter hook input priority 0 ; policy accept ; }');
    nft('add', 'rule', 'inet', TABLE, 'input', 'tcp', 'dport', port, 'drop');
    nft('add', 'rule', 'inet', TABLE, 'input', 'tcp', 'sport', port, 'drop');
    const cutAt = Date.now();
    for (const [p, other] of [[alice, 'bob'], [bob, 'alice']]) {
      await waitFor(`${p.name} to see ${other} leave`, () => p.state(), (s) => !identities(s).includes(other), { timeoutMs: 30_000 });
    }
    const droppedMs = Date.now() - cutAt;
    t.diagnostic(`cut off: each side dropped the other's participant within ${(droppedMs / 1000).toFixed(1)} s`);
    for (const p of [alice, bob]) {
      const s = await p.state();
      assert.equal(s.connection, 'connected', `${p.name} stays in the call on its own node`);
    }

    await sleep(3_000);
    nft('delete', 'table', 'inet', TABLE);
    const healedAt = Date.now();
    for (const [p, other] of [[alice, 'bob'], [bob, 'alice']]) {
      await waitFor(`${p.name} to see ${other} again`, () => p.state(), (s) => identities(s).includes(other), { timeoutMs: 60_000 });
    }
    // New relay links, the tracks published again: decoded from scratch, then rising.
    await waitForMediaFrom(alice, ['bob'], { timeoutMs: 60_000 });
    await waitForMediaFrom(bob, ['alice'], { timeoutMs: 60_000 });
    const first = { alice: await alice.stats(), bob: await bob.stats() };
    await waitForMediaRising(alice, ['bob'], first.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(bob, ['alice'], first.bob, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    t.diagnostic(`healed: alice and bob decode each other again ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the block lifted`);
    for (const p of [alice, bob]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  } catch (e) {
    console.error(cluster?.logs(60));
    throw e;
  }
});
