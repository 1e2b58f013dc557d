// Rooms that span nodes: two real node processes, each with its own browser participants, joined in a cluster
// (authenticated, encrypted control channel; relay links for media). Alice on node us-east and bob on us-west are
// in one room: each sees the other, decodes the other's video and hears the other's audio; a third participant on
// us-west adds a subscriber behind the link without a second copy crossing it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freeTcpPort, launchBrowser, openParticipant, scrapeMetrics, sleep, startServer, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

const SECRET = 'e2e-cluster-secret-0123456789abcdef0123456789';
const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef0123456789';
let east;
let west;
let browser;
const pages = [];

before(async () => {
  const [eastPort, westPort] = [await freeTcpPort(), await freeTcpPort()];
  const cluster = (id, port, peer, peerPort) => ({
    SFU_NODE_ID: id, SFU_REGION: id, SFU_CLUSTER_SECRET: SECRET, SFU_CLUSTER_PORT: String(port),
    SFU_CLUSTER_PEERS: `${peer}@127.0.0.1:${peerPort}`, SFU_MEDIA_WORKERS: '1', SFU_WARMUP_PACKETS: '5000',
    SFU_ADMIN_KEY: ADMIN_KEY,
  });
  east = await startServer({ name: 'cascade-east', env: cluster('us-east', eastPort, 'us-west', westPort) });
  west = await startServer({ name: 'cascade-west', env: cluster('us-west', westPort, 'us-east', eastPort) });
  browser = await launchBrowser();
});

after(async () => {
  for (const p of pages) await p.close();
  await browser?.close();
  await west?.stop();
  await east?.stop();
});

test('participants on two nodes see and hear each other through a relay link', { timeout: 180_000 }, async (t) => {
  try {
    // The control channel comes up between the nodes (each logs its peer up).
    await waitFor('the nodes to see each other', async () => {
      const fs = await import('node:fs');
      return [fs.readFileSync(east.logFile, 'utf8'), fs.readFileSync(west.logFile, 'utf8')];
    }, ([e, w]) => e.includes('cluster: peer us-west') && w.includes('cluster: peer us-east'), { timeoutMs: 30_000 });

    const alice = await openParticipant(browser, east, { room: 'span', name: 'alice' });
    pages.push(alice);
    const bob = await openParticipant(browser, west, { room: 'span', name: 'bob' });
    pages.push(bob);
    const a = await waitForMediaFrom(alice, ['bob'], { timeoutMs: 60_000 });
    const b = await waitForMediaFrom(bob, ['alice'], { timeoutMs: 60_000 });
    t.diagnostic(`alice (us-east) decodes bob: ${JSON.stringify(a.find((s) => s.kind === 'video'))}`);
    t.diagnostic(`bob (us-west) decodes alice: ${JSON.stringify(b.find((s) => s.kind === 'video'))}`);

    // Carol joins on us-west: she gets alice too, and alice's streams still cross the link once.
    const carol = await openParticipant(browser, west, { room: 'span', name: 'carol' });
    pages.push(carol);
    await waitForMediaFrom(carol, ['alice', 'bob'], { timeoutMs: 60_000 });
    await waitForMediaFrom(alice, ['bob', 'carol'], { timeoutMs: 60_000 });
    const m0 = await scrapeMetrics(east);
    await sleep(5_000);
    const m1 = await scrapeMetrics(east);
    const delta = (name) => (m1[name] ?? 0) - (m0[name] ?? 0);
    const out = delta('sfu_packets_out_total{kind="rtp"}');
    const inRtp = delta('sfu_packets_in_total{kind="rtp"}');
    t.diagnostic(`us-east in 5 s: ${inRtp} RTP in (alice's, and bob's and carol's over the link), ${out} RTP out`);
    // In come alice's streams and bob's and carol's over the link from us-west; out go bob's and carol's to alice
    // and alice's over the link once: as many as came in. A copy of alice's per subscriber behind the link would
    // add a third (her streams are about a third of what comes in).
    assert.equal(m1.sfu_cascade_relays, 2, 'us-east relays alice\'s audio and video to us-west once, for bob and carol');
    assert.ok(out > inRtp * 0.8 && out < inRtp * 1.15, `us-east sends alice the others and us-west alice once: ${out} out for ${inRtp} in`);
    for (const p of [alice, bob, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
    // The admin view shows the links with their measurements: us-west receives alice's two tracks from us-east.
    const links = await (await fetch(`${west.baseUrl}/admin/links`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
    t.diagnostic(`us-west /admin/links: ${JSON.stringify(links.links)}`);
    const inbound = links.links.find((l) => l.peer === 'us-east' && l.direction === 'in');
    assert.ok(inbound?.connected && inbound.tracks === 2 && inbound.packets > 100 && inbound.bitrateKbps > 0,
      `the link from us-east carries alice's media: ${JSON.stringify(inbound)}`);
    assert.ok(inbound.lossPercent < 5, 'and loses next to nothing on loopback');
    assert.ok(links.peers.some((p) => p.nodeId === 'us-east' && p.up), 'us-east is up as a peer');
    // Both directions of the room ride one wire between the two nodes, which us-east (the lower id) dialed.
    t.diagnostic(`us-west wires: ${JSON.stringify(links.wires)}`);
    assert.equal(links.wires.length, 1, 'one relay wire per node pair');
    const wire = links.wires[0];
    assert.ok(wire.peer === 'us-east' && wire.up && !wire.dialedHere && wire.roomsIn === 1 && wire.roomsOut === 1
      && wire.channels === 2, `the wire carries the room both ways: ${JSON.stringify(wire)}`);
    assert.ok(wire.ackedKbps > 0, `us-east's transport-cc feedback reaches us-west's estimate of the wire: ${JSON.stringify(wire)}`);
    // Every relay link came up on its first offer (no 8 s redial, no control message ignored).
    const fs = await import('node:fs');
    for (const s of [east, west]) {
      const log = fs.readFileSync(s.logFile, 'utf8');
      assert.ok(!log.includes('dialing again'), `${s.name}: a relay link needed a second offer`);
      assert.ok(!log.includes('cascade: ignored'), `${s.name}: a cascade message was ignored`);
    }
  } catch (e) {
    for (const s of [east, west]) console.error(`--- ${s.name} log:\n${s.logTail(60)}`);
    throw e;
  }
});
