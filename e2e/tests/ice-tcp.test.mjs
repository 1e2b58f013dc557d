// ICE over TCP: with UDP to the node's media port dropped (nftables, in the test's own network namespace), two
// browsers still reach the node over its passive TCP candidate (RFC 6544, SFU_MEDIA_TCP_PORT) and decode each other.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canFirewall, nft, startSuite, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const TABLE = 'e2e_icetcp';

const usable = canFirewall();
let suite;
before(async () => {
  if (!usable) return;
  // A short warm-up, as the cluster tests use: on a loaded machine the default one can outlast the harness' wait for
  // /health, and this test is about connectivity, not latency.
  suite = await startSuite('ice-tcp', {
    env: { SFU_MEDIA_TCP_PORT: (ports) => ports.spareTcp, SFU_WARMUP_PACKETS: '5000' },
  });
  nft('add', 'table', 'inet', TABLE);
  // Every UDP datagram to a media port (each worker's, when there are several) is dropped (and counted): only the
  // TCP candidate can work.
  nft('add', 'chain', 'inet', TABLE, 'input', '{ type filter hook input priority 0 ; policy accept ; }');
  for (const port of suite.server.mediaPorts) {
    nft('add', 'rule', 'inet', TABLE, 'input', 'udp', 'dport', String(port), 'counter', 'drop');
  }
});
after(async () => {
  await suite?.stop();
  if (usable) {
    try { nft('delete', 'table', 'inet', TABLE); } catch { /* gone */ }
  }
});

/** Protocol and candidate types of the selected pair of one of the page's PCs ('_publisher' or '_subscriber'). */
function selectedPair(participant, pcName) {
  return participant.page.evaluate(async (name) => {
    const pc = window.demo.room[name];
    if (!pc) return null;
    const stats = await pc.getStats();
    let pairId;
    stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
    if (!pairId) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairId = s.id; });
    const pair = pairId && stats.get(pairId);
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
      local: { protocol: local?.protocol, tcpType: local?.tcpType, type: local?.candidateType },
      remote: { protocol: remote?.protocol, tcpType: remote?.tcpType, port: remote?.port },
    };
  }, pcName);
}

test('with UDP to the media port dropped, two browsers decode each other over ICE-TCP', { timeout: 120_000, skip: !usable && 'needs nftables inside the e2e network namespace (root)' }, async (t) => {
  await suite.guard(async (tcx) => {
    const tcpPort = Number(suite.server.ports.spareTcp);
    const alice = await suite.join({ room: 'icetcp', name: 'alice' });
    const bob = await suite.join({ room: 'icetcp', name: 'bob' });

    const aliceFirst = await waitForMediaFrom(alice, ['bob'], { timeoutMs: 40_000 });
    const bobFirst = await waitForMediaFrom(bob, ['alice'], { timeoutMs: 40_000 });
    await waitForMediaRising(alice, ['bob'], aliceFirst, { minFrames: 10, minPackets: 20 });
    await waitForMediaRising(bob, ['alice'], bobFirst, { minFrames: 10, minPackets: 20 });

    for (const p of [alice, bob]) {
      for (const pc of ['_publisher', '_subscriber']) {
        const pair = await waitFor(`${p.name}'s ${pc} selected pair`, () => selectedPair(p, pc), (x) => x !== null);
        tcx.diagnostic(`${p.name} ${pc}: ${JSON.stringify(pair)}`);
        assert.equal(pair.local.protocol, 'tcp', `${p.name}'s ${pc} uses a TCP local candidate`);
        assert.equal(pair.remote.protocol, 'tcp', `${p.name}'s ${pc} uses the node's TCP candidate`);
        assert.equal(pair.remote.tcpType, 'passive');
        assert.equal(pair.remote.port, tcpPort);
      }
    }
    // The browsers did try UDP first (it is the higher priority): the firewall dropped it.
    const table = nft('list', 'table', 'inet', TABLE);
    const dropped = [...table.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    tcx.diagnostic(`UDP datagrams to the media port dropped: ${dropped}`);
    assert.ok(dropped > 0, 'UDP checks were sent and dropped');
    for (const p of [alice, bob]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  })(t);
});
