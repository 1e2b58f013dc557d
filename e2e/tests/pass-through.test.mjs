// A node in the middle of a route with no one of the room on it: alice on pa, carol on pc, no one on pb. The direct
// path between pa and pc is cut (nftables on their control channel, in the test's own network namespace); pb hears
// both, says it can pass each one's participants on, and when pa and pc ask it to (a relay link each), it opens the
// room without local participants, receives alice's and carol's streams once each and sends each on once. When the
// cut heals, pa and pc go direct again, pb's links close and its room with them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterFixture, sleep, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef0123456789';
/** pa dials pc's control channel at this loopback address (everyone else at 127.0.0.1): a rule can cut that pair only. */
const CUT_HOST = '127.0.0.3';

const f = clusterFixture(['pa', 'pb', 'pc'], {
  table: 'e2e_pass_through',
  name: 'pass-through',
  env: { SFU_MEDIA_WORKERS: '1', SFU_ADMIN_KEY: ADMIN_KEY },
  envOf: (id) => (id === 'pc' ? { SFU_CLUSTER_BIND: '0.0.0.0' } : {}),
  peerHost: (self, other) => (self === 'pa' && other === 'pc' ? CUT_HOST : '127.0.0.1'),
});
before(() => f.start());
after(() => f.stop());

const identities = (state) => state.participants.map((p) => p.identity);

const links = async (id) => (await f.admin(id, '/admin/links')).links;
const roomOn = async (id) => (await f.admin(id, '/admin/rooms')).rooms.find((r) => r.room === 'via');

test('a node with no one in the room passes media on between two nodes that cannot reach each other', { timeout: 300_000, skip: !f.usable && 'needs nftables inside the e2e network namespace (root)' }, async (t) => {
  try {
    const alice = await f.open('pa', { room: 'via', name: 'alice' });
    const carol = await f.open('pc', { room: 'via', name: 'carol' });
    await waitForMediaFrom(alice, ['carol'], { timeoutMs: 90_000 });
    await waitForMediaFrom(carol, ['alice'], { timeoutMs: 90_000 });
    assert.equal(await roomOn('pb'), undefined, 'at first pb has no part in the room');
    assert.deepEqual(await links('pb'), [], 'and no relay link');

    const port = String(f.cluster.clusterPorts.pc);
    f.block(['ip', 'daddr', CUT_HOST, 'tcp', 'dport', port, 'drop'], ['ip', 'saddr', CUT_HOST, 'tcp', 'sport', port, 'drop']);
    const cutAt = Date.now();
    const missing = [];
    await waitFor('pb to pass alice on to pc and carol on to pa', async () => {
      for (const [p, other] of [[carol, 'alice'], [alice, 'carol']]) {
        if (!identities(await p.state()).includes(other)) missing.push(`${p.name} lost ${other}`);
      }
      return links('pb');
    }, (ls) => ls.some((l) => l.peer === 'pc' && l.direction === 'out' && l.tracks === 2)
      && ls.some((l) => l.peer === 'pa' && l.direction === 'out' && l.tracks === 2), { timeoutMs: 60_000 });
    t.diagnostic(`cut: pb passes the media on ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut`);
    const before1 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice'], before1.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol'], before1.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    const held = await roomOn('pb');
    t.diagnostic(`pb: room ${JSON.stringify(held)}, links ${JSON.stringify(await links('pb'))}`);
    assert.equal(held?.localParticipants, 0, 'pb holds the room with no one of its own in it');
    const inLinks = (await links('pb')).filter((l) => l.direction === 'in');
    assert.deepEqual(inLinks.map((l) => [l.peer, l.tracks]).sort(), [['pa', 2], ['pc', 2]], 'pb receives each stream once');
    assert.deepEqual(missing, [], 'neither alice nor carol left the other\'s call while the route moved');

    await sleep(2_000);
    f.unblock();
    const healedAt = Date.now();
    await waitFor('pc to receive alice from pa directly again', () => links('pc'),
      (ls) => ls.some((l) => l.peer === 'pa' && l.direction === 'in' && l.connected && l.tracks === 2), { timeoutMs: 60_000 });
    await waitFor('pb to let go of the room', async () => ({ room: await roomOn('pb'), links: await links('pb') }),
      (s) => s.room === undefined && s.links.length === 0, { timeoutMs: 30_000 });
    const before2 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice'], before2.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol'], before2.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    t.diagnostic(`healed: direct again and pb out of the room ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the cut lifted`);
    for (const p of [alice, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  } catch (e) {
    console.error(f.cluster?.logs(80));
    throw e;
  }
});
