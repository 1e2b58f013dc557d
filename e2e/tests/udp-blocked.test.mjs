// A relay path blocked while the control channel works: three nodes, alice on ua, bob on ub, carol on uc, each
// node's media on its own loopback address. UDP between ua's and uc's media addresses is dropped (nftables in the
// test's own network namespace) while their control channel (TCP) stays up. Their relay links stop answering
// consent checks (8 s) and a new link cannot be set up (8 s); each node then counts the other's media unreachable
// and takes its participants through ub, which
// reaches both, without anyone leaving the call. When the block lifts, a probe link finds the direct path again
// and the media goes direct, by itself.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterFixture, sleep, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef0123456789';
const MEDIA_HOST = { ua: '127.0.0.4', ub: '127.0.0.2', uc: '127.0.0.3' };

const f = clusterFixture(['ua', 'ub', 'uc'], {
  table: 'e2e_udp_blocked',
  name: 'udp-blocked',
  env: { SFU_MEDIA_WORKERS: '1', SFU_ADMIN_KEY: ADMIN_KEY },
  envOf: (id) => ({ SFU_MEDIA_BIND: MEDIA_HOST[id] }),
});
before(() => f.start());
after(() => f.stop());

const identities = (state) => state.participants.map((p) => p.identity);

const admin = (id) => f.admin(id, '/admin/links');

test('when UDP between two nodes is blocked but their control channel is up, a third carries their media', { timeout: 300_000, skip: !f.usable && 'needs nftables inside the e2e network namespace (root)' }, async (t) => {
  try {
    const alice = await f.open('ua', { room: 'udp', name: 'alice' });
    const bob = await f.open('ub', { room: 'udp', name: 'bob' });
    const carol = await f.open('uc', { room: 'udp', name: 'carol' });
    await waitForMediaFrom(alice, ['bob', 'carol'], { timeoutMs: 90_000 });
    await waitForMediaFrom(bob, ['alice', 'carol'], { timeoutMs: 90_000 });
    await waitForMediaFrom(carol, ['alice', 'bob'], { timeoutMs: 90_000 });
    assert.ok((await admin('uc')).links.some((l) => l.peer === 'ua' && l.direction === 'in' && l.tracks === 2),
      'at first uc receives alice directly from ua');

    f.block(['ip', 'saddr', MEDIA_HOST.ua, 'ip', 'daddr', MEDIA_HOST.uc, 'meta', 'l4proto', 'udp', 'drop'],
      ['ip', 'saddr', MEDIA_HOST.uc, 'ip', 'daddr', MEDIA_HOST.ua, 'meta', 'l4proto', 'udp', 'drop']);
    const blockedAt = Date.now();
    const missing = [];
    const around = await waitFor('uc to receive alice through ub', async () => {
      for (const [p, other] of [[carol, 'alice'], [alice, 'carol']]) {
        if (!identities(await p.state()).includes(other)) missing.push(`${p.name} lost ${other}`);
      }
      return admin('uc');
    }, (a) => a.detours.some((d) => d.origin === 'ua' && d.via === 'ub')
      && a.links.some((l) => l.peer === 'ub' && l.direction === 'in' && l.tracks >= 4), { timeoutMs: 90_000 });
    t.diagnostic(`blocked: uc takes alice through ub ${((Date.now() - blockedAt) / 1000).toFixed(1)} s after the block; `
      + `uc: mediaUnreachable ${JSON.stringify(around.mediaUnreachable)}, peers up ${JSON.stringify(around.peers.map((p) => [p.nodeId, p.up]))}`);
    assert.ok(around.peers.find((p) => p.nodeId === 'ua')?.up, 'the control channel to ua is still up');
    await waitFor('ua to receive carol through ub', () => admin('ua'),
      (a) => a.detours.some((d) => d.origin === 'uc' && d.via === 'ub'), { timeoutMs: 30_000 });
    const before1 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice', 'bob'], before1.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol', 'bob'], before1.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    assert.deepEqual(missing, [], 'neither alice nor carol left the other\'s call while the route moved');
    const served = (await admin('ub')).links.filter((l) => l.direction === 'out');
    t.diagnostic(`ub /admin/links out: ${JSON.stringify(served)}`);
    assert.ok(served.some((l) => l.peer === 'uc' && l.tracks >= 4), 'ub sends uc its own tracks and alice\'s');

    await sleep(2_000);
    f.unblock();
    const liftedAt = Date.now();
    await waitFor('uc to receive alice from ua directly again', () => admin('uc'),
      (a) => a.links.some((l) => l.peer === 'ua' && l.direction === 'in' && l.connected && l.tracks === 2)
        && a.detours.length === 0 && a.mediaUnreachable.length === 0, { timeoutMs: 90_000 });
    t.diagnostic(`lifted: direct again ${((Date.now() - liftedAt) / 1000).toFixed(1)} s after the block lifted`);
    const before2 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice', 'bob'], before2.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol', 'bob'], before2.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    for (const p of [alice, bob, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  } catch (e) {
    console.error(f.cluster?.logs(80));
    throw e;
  }
});
