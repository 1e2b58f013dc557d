// Choosing a node by the room's members: the client library weighs its round trip to each node with each
// node's links to the nodes where the room's other members are (GET /nodes?room=&token=), and joins the node
// with the least expected latency to them. The arithmetic on fixed figures first, then two real nodes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { scoreByMembers } from '../../sfu-signaling/src/main/resources/web/sdk/cascade-sfu.js';
import { launchBrowser, openOnNode, startCluster, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

const A = 'https://a.example';
const B = 'https://b.example';
const C = 'https://c.example';
const answer = (rtts, participants = {}) => ({
  nodes: Object.entries(rtts).map(([url, rttMs]) => ({ url, rttMs, participants: participants[url] ?? 0 })),
});

test('the expected latency to the members decides, and the nearest node wins an empty room', () => {
  const ranked = [{ url: A, rttMs: 10 }, { url: B, rttMs: 40 }];
  // Empty room: nearest first.
  assert.deepEqual(scoreByMembers(ranked, [answer({ [A]: 0, [B]: 60 }), answer({ [A]: 60, [B]: 0 })]).map((n) => n.url), [A, B]);
  // Everyone is on B, 60 ms from A: joining B (40) beats A and its link (10 + 60).
  const far = scoreByMembers(ranked, [answer({ [A]: 0, [B]: 60 }, { [B]: 3 }), answer({ [A]: 60, [B]: 0 }, { [B]: 3 })]);
  assert.deepEqual(far.map((n) => [n.url, n.expectedMs, n.members]), [[B, 40, 3], [A, 70, 0]]);
  // B is close to A over the backbone: the nearest node and its link win (10 + 20 < 40).
  const near = scoreByMembers(ranked, [answer({ [A]: 0, [B]: 20 }, { [B]: 3 }), answer({ [A]: 20, [B]: 0 }, { [B]: 3 })]);
  assert.deepEqual(near.map((n) => n.url), [A, B]);
  // Members on two nodes: the mean over members, weighted by where they are.
  const three = [{ url: A, rttMs: 10 }, { url: B, rttMs: 15 }, { url: C, rttMs: 30 }];
  const counts = { [B]: 1, [C]: 3 };
  const mixed = scoreByMembers(three, [
    answer({ [A]: 0, [B]: 30, [C]: 80 }, counts), // A: 10 + (30 + 3 * 80) / 4 = 77.5
    answer({ [A]: 30, [B]: 0, [C]: 20 }, counts), // B: 15 + (0 + 3 * 20) / 4 = 30
    answer({ [A]: 80, [B]: 20, [C]: 0 }, counts), // C: 30 + (20 + 0) / 4 = 35
  ]);
  assert.deepEqual(mixed.map((n) => [n.url, n.expectedMs]), [[B, 30], [C, 35], [A, 77.5]]);
  // A node that did not answer (no links known) goes after the ones that did.
  const silent = scoreByMembers(ranked, [null, answer({ [A]: 60, [B]: 0 }, { [B]: 1 })]);
  assert.deepEqual(silent.map((n) => n.url), [B, A]);
});

let cluster;
let browser;
const pages = [];
before(async () => {
  cluster = await startCluster(['near', 'far'], { name: 'choice' });
  browser = await launchBrowser();
});
after(async () => {
  for (const p of pages) await p.close();
  await browser?.close();
  await cluster?.stop();
});

async function nodesFor(server, room, token) {
  const q = new URLSearchParams({ room, ...(token ? { token } : {}) });
  const res = await fetch(`${server.baseUrl}/nodes?${q}`);
  return { status: res.status, body: await res.json() };
}

test('GET /nodes?room= counts the members on each node for a token holder; the client joins by them', { timeout: 150_000 }, async (t) => {
  try {
    const { near, far } = cluster.nodes;
    const room = 'choice';
    const token = async (server, r = room) => (await (await fetch(`${server.baseUrl}/token?${new URLSearchParams({ room: r, identity: 'probe' })}`)).json()).token;
    const plain = await (await fetch(`${near.baseUrl}/nodes`)).json();
    assert.ok(plain.nodes.every((n) => n.participants === undefined), 'without ?room, no counts');
    assert.equal((await nodesFor(near, room)).status, 401, 'no token, no counts');
    assert.equal((await nodesFor(near, room, 'not-a-token')).status, 401, 'a bad token gets no counts');
    assert.equal((await nodesFor(near, room, await token(near, 'other-room'))).status, 401, "another room's token gets no counts");

    const bob = await openOnNode(browser, cluster, 'far', { room, name: 'bob' });
    pages.push(bob);
    const counted = await waitFor('near to count bob on far', () => token(near).then((tk) => nodesFor(near, room, tk)),
      (r) => r.status === 200 && r.body.nodes.find((n) => n.id === 'far')?.participants === 1, { timeoutMs: 20_000 });
    assert.equal(counted.body.nodes.find((n) => n.id === 'near').participants, 0, 'no one on near yet');

    // Alice's page is on near and lists both nodes; ?pick=members lets the library choose by bob's node.
    const alice = await openOnNode(browser, cluster, 'near', { room, name: 'alice', listNodes: true, params: { pick: 'members' } });
    pages.push(alice);
    await waitForMediaFrom(alice, ['bob'], { timeoutMs: 60_000 });
    await waitForMediaFrom(bob, ['alice'], { timeoutMs: 60_000 });
    const { ranked, node } = await alice.page.evaluate(() => ({ ranked: window.demo.room.rankedNodes, node: window.demo.room.node }));
    t.diagnostic(`alice ranked ${JSON.stringify(ranked)}; joined ${node}`);
    const byUrl = Object.fromEntries(ranked.map((n) => [n.url, n]));
    assert.equal(byUrl[far.baseUrl].members, 1, 'bob counted on far');
    assert.equal(byUrl[near.baseUrl].members, 0);
    assert.equal(byUrl[far.baseUrl].expectedMs, byUrl[far.baseUrl].rttMs, 'on far, bob is on the same node');
    assert.ok(byUrl[near.baseUrl].expectedMs > byUrl[near.baseUrl].rttMs, 'via near, the link to far is added');
    const joined = ranked[0].url === far.baseUrl ? 'far' : 'near';
    assert.equal(node, joined, 'alice joined the best-ranked node');
  } catch (e) {
    t.diagnostic(cluster?.logs(40) ?? '');
    throw e;
  }
});
