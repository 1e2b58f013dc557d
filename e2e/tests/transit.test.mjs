// Multi-hop: three nodes, alice on ta, bob on tb, carol on tc, all in one call. The direct path between ta and tc is
// cut (nftables on their control channel, in the test's own network namespace): ta and tc stop hearing each other,
// but tb still hears both and passes each one's participants on, so alice's streams reach carol through tb, and
// carol's reach alice, once per link, without either leaving the other's call. When the cut heals, ta and tc find
// each other again and the media goes direct again, by itself.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterFixture, sleep, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef0123456789';
/** ta dials tc's control channel at this loopback address (everyone else at 127.0.0.1): a rule can cut that pair only. */
const CUT_HOST = '127.0.0.3';

const f = clusterFixture(['ta', 'tb', 'tc'], {
  table: 'e2e_transit',
  name: 'transit',
  env: { SFU_MEDIA_WORKERS: '1', SFU_ADMIN_KEY: ADMIN_KEY },
  envOf: (id) => (id === 'tc' ? { SFU_CLUSTER_BIND: '0.0.0.0' } : {}),
  peerHost: (self, other) => (self === 'ta' && other === 'tc' ? CUT_HOST : '127.0.0.1'),
});
before(() => f.start());
after(() => f.stop());

const identities = (state) => state.participants.map((p) => p.identity);

const links = async (id) => (await f.admin(id, '/admin/links')).links;

test('when two nodes cannot reach each other, a third passes their media on; when they can again, it goes direct', { timeout: 300_000, skip: !f.usable && 'needs nftables inside the e2e network namespace (root)' }, async (t) => {
  try {
    const alice = await f.open('ta', { room: 'hop', name: 'alice' });
    const bob = await f.open('tb', { room: 'hop', name: 'bob' });
    const carol = await f.open('tc', { room: 'hop', name: 'carol' });
    await waitForMediaFrom(alice, ['bob', 'carol'], { timeoutMs: 90_000 });
    await waitForMediaFrom(bob, ['alice', 'carol'], { timeoutMs: 90_000 });
    await waitForMediaFrom(carol, ['alice', 'bob'], { timeoutMs: 90_000 });
    assert.ok((await links('tc')).some((l) => l.peer === 'ta' && l.direction === 'in'), 'at first tc receives alice directly from ta');

    // Cut ta <-> tc: every segment to or from tc's control port at CUT_HOST is dropped (tb dials 127.0.0.1).
    const port = String(f.cluster.clusterPorts.tc);
    f.block(['ip', 'daddr', CUT_HOST, 'tcp', 'dport', port, 'drop'], ['ip', 'saddr', CUT_HOST, 'tcp', 'sport', port, 'drop']);
    const cutAt = Date.now();
    // ta and tc see each other down after 8 s of silence; meanwhile and after, carol and alice keep each other.
    let missing = [];
    await waitFor('tc to receive alice through tb', async () => {
      for (const [p, other] of [[carol, 'alice'], [alice, 'carol']]) {
        if (!identities(await p.state()).includes(other)) missing.push(`${p.name} lost ${other}`);
      }
      return links('tc');
    }, (ls) => !ls.some((l) => l.peer === 'ta') && ls.some((l) => l.peer === 'tb' && l.direction === 'in' && l.tracks >= 4),
    { timeoutMs: 60_000 });
    t.diagnostic(`cut: tc receives alice's and bob's tracks from tb ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut`);
    const before1 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice'], before1.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol'], before1.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    const served = (await links('tb')).filter((l) => l.direction === 'out');
    t.diagnostic(`tb /admin/links out: ${JSON.stringify(served)}`);
    assert.ok(served.some((l) => l.peer === 'tc' && l.tracks >= 4), 'tb sends tc its own tracks and alice\'s');
    assert.ok(served.some((l) => l.peer === 'ta' && l.tracks >= 4), 'tb sends ta its own tracks and carol\'s');
    assert.deepEqual(missing, [], 'neither alice nor carol left the other\'s call while the route moved');
    t.diagnostic(`carol decodes alice through tb: ${JSON.stringify((await carol.stats()).find((s) => s.identity === 'alice' && s.kind === 'video'))}`);

    await sleep(2_000);
    f.unblock();
    const healedAt = Date.now();
    await waitFor('tc to receive alice from ta directly again', () => links('tc'),
      (ls) => ls.some((l) => l.peer === 'ta' && l.direction === 'in' && l.connected), { timeoutMs: 60_000 });
    await waitFor('tb to stop passing alice on to tc', () => links('tb'),
      (ls) => ls.some((l) => l.peer === 'tc' && l.direction === 'out' && l.tracks === 2), { timeoutMs: 30_000 });
    const before2 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice', 'bob'], before2.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol', 'bob'], before2.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    t.diagnostic(`healed: direct again ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the cut lifted`);
    for (const p of [alice, bob, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  } catch (e) {
    console.error(f.cluster?.logs(80));
    throw e;
  }
});
