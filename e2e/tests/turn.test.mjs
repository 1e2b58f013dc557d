// TURN: a browser whose UDP to the node is blocked still gets in, through a TURN server (Debian's coturn, started
// by this test with a shared secret: use-auth-secret). The node hands each participant short-lived TURN
// credentials in `joined`; with direct UDP to the node's media port dropped (nftables, in run.sh's namespace only),
// alice and bob decode each other over relay candidates.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { canFirewall, freeTcpPort, launchBrowser, LOG_DIR, nft, openParticipant, sleep, startServer, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

const SECRET = 'e2e-turn-secret-0123456789abcdef';
const RELAY_PORTS = [49160, 49200];
const TABLE = 'e2eturn';

function usable() {
  try {
    execFileSync('turnserver', ['--help'], { stdio: 'ignore' });
  } catch (e) {
    if (e.code === 'ENOENT') return false; // coturn missing
  }
  return canFirewall();
}

const canRun = usable();
let turn;
let server;
let browser;
const pages = [];

before(async () => {
  if (!canRun) return;
  const turnPort = await freeTcpPort();
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const log = fs.openSync(path.join(LOG_DIR, `turn-coturn-${Date.now()}.log`), 'a');
  turn = spawn('turnserver', ['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${turnPort}`,
    '--use-auth-secret', `--static-auth-secret=${SECRET}`, '--realm=e2e.local', `--min-port=${RELAY_PORTS[0]}`,
    `--max-port=${RELAY_PORTS[1]}`, '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--log-file=stdout',
    '--simple-log', '--fingerprint'], { stdio: ['ignore', log, log] });
  server = await startServer({
    name: 'turn',
    env: { SFU_TURN_URLS: `turn:127.0.0.1:${turnPort}?transport=tcp,turn:127.0.0.1:${turnPort}?transport=udp`, SFU_TURN_SECRET: SECRET },
  });
  // Direct UDP to the node's media port is dropped; only what coturn relays (from its relay ports) gets through.
  nft('add', 'table', 'inet', TABLE);
  nft('add', 'chain', 'inet', TABLE, 'out', '{ type filter hook output priority 0 ; }');
  nft('add', 'rule', 'inet', TABLE, 'out', 'udp', 'dport', String(server.mediaPort), 'udp', 'sport', '!=',
    `${RELAY_PORTS[0]}-${RELAY_PORTS[1]}`, 'drop');
  browser = await launchBrowser();
});

after(async () => {
  if (!canRun) return;
  try { nft('delete', 'table', 'inet', TABLE); } catch { /* not made */ }
  for (const p of pages) await p.close();
  await browser?.close();
  await server?.stop();
  turn?.kill('SIGKILL');
  await sleep(200);
});

/** The candidate type of the publish PC's selected pair, local side ('host', 'relay', ...). */
const selectedLocalType = (p) => p.page.evaluate(async () => {
  const pc = window.demo.room?._publisher;
  if (!pc) return null;
  const stats = [...(await pc.getStats()).values()];
  const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId)
    ?? stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  return stats.find((s) => s.id === pair?.localCandidateId)?.candidateType ?? null;
});

test('with direct UDP blocked, two browsers call through TURN with the node\'s short-lived credentials', { timeout: 150_000, skip: !canRun && 'needs coturn and nft inside the e2e network namespace (root)' }, async (t) => {
  try {
    const alice = await openParticipant(browser, server, { room: 'turn', name: 'alice' });
    pages.push(alice);
    const bob = await openParticipant(browser, server, { room: 'turn', name: 'bob' });
    pages.push(bob);
    // Known once alice has joined (the page may still be connecting when it has loaded).
    const iceServers = await waitFor('alice to join and get ice servers', () => alice.page.evaluate(() => window.demo.room?._iceServers ?? null),
      (v) => Array.isArray(v) && v.length > 0, { timeoutMs: 30_000 }).catch(() => null);
    t.diagnostic(`alice got ice servers: ${JSON.stringify(iceServers?.map((s) => ({ urls: s.urls, username: s.username })))}`);
    assert.ok(iceServers?.length && /^\d+:PA_/.test(iceServers[0].username), 'the node handed out TURN credentials');
    await waitForMediaFrom(alice, ['bob'], { timeoutMs: 60_000 });
    await waitForMediaFrom(bob, ['alice'], { timeoutMs: 60_000 });
    const type = await waitFor('alice\'s selected pair', () => selectedLocalType(alice), (v) => v !== null);
    t.diagnostic(`alice's publish PC uses a ${type} candidate`);
    assert.equal(type, 'relay', 'media goes through the TURN server');
  } catch (e) {
    console.error(`--- node log:\n${server?.logTail(60)}`);
    throw e;
  }
});
