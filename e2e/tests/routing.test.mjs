// Routing by measured round trips: three nodes, alice on ra, bob on rb, carol on rc, all in one call. The control
// channel between ra and rc runs through a relay that holds every chunk 70 ms each way (a badly routed path: ~140 ms
// round trip, against ~1 ms from each of them to rb). Each node measures its round trips and tells its peers; ra and
// rc find the path through rb clearly shorter and take it: alice's streams reach carol through rb (once per link),
// carol's reach alice the same way, and neither leaves the other's call. When the delay goes, the direct path wins
// again and the media goes direct, by itself. /admin/links lists the detours and each peer's round trips.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterFixture, startDelayProxy, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef0123456789';
const DELAY_MS = 70;

let proxy;
const f = clusterFixture(['ra', 'rb', 'rc'], {
  name: 'routing',
  env: { SFU_MEDIA_WORKERS: '1', SFU_ADMIN_KEY: ADMIN_KEY },
  // ra dials rc (ids sort so) through the delay relay; every other pair directly.
  peerAddress: (self, other, port) => {
    if (self === 'ra' && other === 'rc') {
      proxy.target(port);
      return `127.0.0.1:${proxy.port}`;
    }
    return `127.0.0.1:${port}`;
  },
});
before(async () => {
  proxy = await startDelayProxy({ delayMs: DELAY_MS });
  await f.start();
});
after(async () => {
  await f.stop();
  await proxy?.close();
});

const identities = (state) => state.participants.map((p) => p.identity);

const admin = (id) => f.admin(id, '/admin/links');

test('media takes a clearly shorter path through a third node, and goes direct again when the direct path is short', { timeout: 300_000 }, async (t) => {
  try {
    const alice = await f.open('ra', { room: 'route', name: 'alice' });
    const bob = await f.open('rb', { room: 'route', name: 'bob' });
    const carol = await f.open('rc', { room: 'route', name: 'carol' });
    await waitForMediaFrom(alice, ['bob', 'carol'], { timeoutMs: 90_000 });
    await waitForMediaFrom(bob, ['alice', 'carol'], { timeoutMs: 90_000 });
    await waitForMediaFrom(carol, ['alice', 'bob'], { timeoutMs: 90_000 });

    // The round trips are measured every 2 s: rc soon receives alice's tracks through rb, none from ra.
    const detour = await waitFor('rc to receive alice through rb', () => admin('rc'),
      (a) => !a.links.some((l) => l.peer === 'ra' && l.direction === 'in')
        && a.links.some((l) => l.peer === 'rb' && l.direction === 'in' && l.tracks >= 4),
      { timeoutMs: 60_000 });
    const rttToRa = detour.peers.find((p) => p.nodeId === 'ra')?.rttMs;
    t.diagnostic(`rc: rtt to ra ${rttToRa} ms, rb reports ${JSON.stringify(detour.peerRttsMs.rb)}; detours ${JSON.stringify(detour.detours)}`);
    assert.ok(rttToRa >= 2 * DELAY_MS * 0.8, `rc measures the long way round to ra (${rttToRa} ms)`);
    assert.ok(detour.detours.some((d) => d.room === 'route' && d.origin === 'ra' && d.via === 'rb'), 'rc lists its detour to ra through rb');
    await waitFor('ra to receive carol through rb', () => admin('ra'),
      (a) => a.detours.some((d) => d.origin === 'rc' && d.via === 'rb') && !a.links.some((l) => l.peer === 'rc' && l.direction === 'in'),
      { timeoutMs: 30_000 });
    const served = (await admin('rb')).links.filter((l) => l.direction === 'out');
    t.diagnostic(`rb /admin/links out: ${JSON.stringify(served)}`);
    assert.ok(served.some((l) => l.peer === 'rc' && l.tracks >= 4), 'rb sends rc its own tracks and alice\'s');
    assert.ok(served.some((l) => l.peer === 'ra' && l.tracks >= 4), 'rb sends ra its own tracks and carol\'s');
    const before1 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice', 'bob'], before1.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol', 'bob'], before1.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    for (const [p, other] of [[carol, 'alice'], [alice, 'carol']]) {
      assert.ok(identities(await p.state()).includes(other), `${p.name} still has ${other} in the call`);
    }

    // The delay goes: the smoothed round trip falls below the detour's, and the media goes direct again.
    proxy.delayMs = 0;
    const liftedAt = Date.now();
    await waitFor('rc to receive alice from ra directly again', () => admin('rc'),
      (a) => a.links.some((l) => l.peer === 'ra' && l.direction === 'in' && l.connected && l.tracks >= 2) && a.detours.length === 0,
      { timeoutMs: 90_000 });
    t.diagnostic(`direct again ${((Date.now() - liftedAt) / 1000).toFixed(1)} s after the delay went`);
    await waitFor('rb to stop passing alice on to rc', () => admin('rb'),
      (a) => a.links.some((l) => l.peer === 'rc' && l.direction === 'out' && l.tracks === 2), { timeoutMs: 30_000 });
    const before2 = { carol: await carol.stats(), alice: await alice.stats() };
    await waitForMediaRising(carol, ['alice', 'bob'], before2.carol, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    await waitForMediaRising(alice, ['carol', 'bob'], before2.alice, { minFrames: 10, minPackets: 20, timeoutMs: 60_000 });
    for (const p of [alice, bob, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  } catch (e) {
    console.error(f.cluster?.logs(80));
    throw e;
  }
});
