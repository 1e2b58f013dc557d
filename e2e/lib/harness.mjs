// Test harness: one sfu-server process and one headless Chromium per test file, participants as browser
// contexts running the demo page. Every wait is bounded; teardown kills the server's whole process group.
//
// Environment:
//   SFU_JAR        path of the server jar (default <repo>/sfu-server/target/sfu-server.jar)
//   CHROMIUM       Chromium binary (default /usr/lib/chromium/chromium)
//   E2E_MEDIA_WORKERS  media workers of every test's node (default 1); E2E_SPREAD=true places the members of
//                      each room on different workers, so every test's streams cross pipes
//   Server logs go to e2e/logs/; a failing test prints the tail of its file.
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO_DIR = path.resolve(E2E_DIR, '..');
export const LOG_DIR = path.join(E2E_DIR, 'logs');

const HEALTH_TIMEOUT_MS = 60_000; // a node warms its hot path up before it answers; slow on a loaded machine
export const POLL_INTERVAL_MS = 500;
export const WAIT_TIMEOUT_MS = 20_000;

// From /work/shared/CLIENTS.md. Playwright adds --headless and a fresh --user-data-dir under os.tmpdir().
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Ports

export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function udpPortFree(port) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '0.0.0.0', () => socket.close(() => resolve(true)));
  });
}

function tcpPortFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/**
 * Two distinct free TCP ports (HTTP/WebSocket, and one spare for a future listener) and `mediaCount` consecutive
 * free UDP ports from `media` on (one per media worker).
 */
export async function freePorts(mediaCount = 1) {
  const http = await freeTcpPort();
  let spareTcp;
  do spareTcp = await freeTcpPort(); while (spareTcp === http);
  for (let i = 0; i < 50; i++) {
    const udp = await new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, '0.0.0.0', () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
    });
    // ICE-TCP may one day share the media port number: take one free for both.
    let free = udp + mediaCount - 1 <= 65535;
    for (let p = udp; free && p < udp + mediaCount; p++) {
      free = p !== http && p !== spareTcp && (await udpPortFree(p)) && (await tcpPortFree(p));
    }
    if (free) return { http, spareTcp, media: udp };
  }
  throw new Error('no free UDP port found');
}

// ---------------------------------------------------------------------------------------------
// Server

/** Starts the server and waits for /health. Returns {baseUrl, httpPort, mediaPort, logFile, stop, logTail}. */
export async function startServer({ name, env = {} }) {
  const defaults = {
    SFU_MEDIA_WORKERS: process.env.E2E_MEDIA_WORKERS || '1',
    SFU_PLACEMENT_SPREAD: process.env.E2E_SPREAD || 'false',
    SFU_DRAIN_TIMEOUT_SECONDS: '2', // stop() sends SIGTERM: a node with participants left waits no longer
    // A short warm-up (0.5 s instead of ~4): browser rates need no compiled hot path, and a suite starts ~60 nodes.
    SFU_WARMUP_PACKETS: '3000',
  };
  const settings = { ...defaults, ...env };
  const workers = Number(settings.SFU_MEDIA_WORKERS);
  const ports = await freePorts(workers);
  if (settings.SFU_PUBLIC_URL === 'auto') settings.SFU_PUBLIC_URL = `http://127.0.0.1:${ports.http}`;
  // A setting may depend on the ports picked: e.g. SFU_MEDIA_TCP_PORT: (ports) => ports.spareTcp.
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === 'function') settings[key] = String(value(ports));
  }
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const logFd = fs.openSync(logFile, 'a');

  const jar = path.resolve(REPO_DIR, process.env.SFU_JAR || 'sfu-server/target/sfu-server.jar');
  if (!fs.existsSync(jar)) throw new Error(`server jar not found: ${jar} (build it, or set SFU_JAR)`);
  const command = 'java';
  // The node runs with Netty's leak detector at paranoid; stop() fails the test on a leak report.
  // Assertions on: a worker-owned object touched from the wrong thread fails the test.
  const args = ['-ea', '-Dio.netty.leakDetection.level=paranoid', '-jar', jar];
  const proc = spawn(command, args, {
    cwd: REPO_DIR,
    env: {
      ...process.env,
      SFU_HTTP_PORT: String(ports.http),
      SFU_MEDIA_PORT: String(ports.media),
      SFU_DEV: 'true',
      ...settings,
    },
    stdio: ['ignore', logFd, logFd],
    detached: true, // its own process group, killed as a whole
  });
  fs.closeSync(logFd);
  let exited = null;
  const exitPromise = new Promise((resolve) => proc.once('exit', (code, signal) => {
    exited = { code, signal };
    resolve();
  }));

  const server = {
    name,
    baseUrl: `http://127.0.0.1:${ports.http}`,
    httpPort: ports.http,
    mediaPort: ports.media,
    mediaPorts: Array.from({ length: workers }, (_, i) => ports.media + i),
    workers,
    ports,
    logFile,
    proc,
    logTail: (lines = 80) => tail(logFile, lines),
    /** Sends SIGTERM (a drain) and returns {code, signal, ms} once the node exits, or null after timeoutMs. */
    async terminate(timeoutMs = 30_000) {
      const start = Date.now();
      if (!exited) killGroup(proc.pid, 'SIGTERM');
      const done = await Promise.race([exitPromise.then(() => true), sleep(timeoutMs).then(() => false)]);
      return done ? { ...exited, ms: Date.now() - start } : null;
    },
    /** The node dies at once (SIGKILL), as a crashed or cut-off machine. */
    async kill() {
      if (!exited) {
        killGroup(proc.pid, 'SIGKILL');
        await Promise.race([exitPromise, sleep(5_000)]);
      }
    },
    async stop() {
      if (!exited) {
        killGroup(proc.pid, 'SIGTERM');
        const stopped = await Promise.race([exitPromise.then(() => true), sleep(5_000).then(() => false)]);
        if (!stopped) {
          killGroup(proc.pid, 'SIGKILL');
          await Promise.race([exitPromise, sleep(2_000)]);
        }
      }
      const log = fs.readFileSync(logFile, 'utf8');
      if (log.includes('LEAK:')) {
        throw new Error(`the node reported a Netty buffer leak; log ${logFile}:\n${server.logTail(200)}`);
      }
    },
  };

  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`server exited early (${JSON.stringify(exited)}); log ${logFile}:\n${server.logTail()}`);
    }
    try {
      const res = await fetch(`${server.baseUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) return server;
      lastError = `HTTP ${res.status}`;
    } catch (e) {
      lastError = e.cause?.code ?? e.message;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  await server.stop();
  throw new Error(`GET /health not 200 after ${HEALTH_TIMEOUT_MS} ms (last: ${lastError}); log ${logFile}:\n${server.logTail()}`);
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch (e) {
    if (e.code !== 'ESRCH') throw e;
  }
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The node's Prometheus text parsed into {`name{labels}`: value}. */
export async function scrapeMetrics(server) {
  const res = await fetch(`${server.baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const values = {};
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Browser and participants

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/lib/chromium/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * Opens the demo page in a fresh browser context. `room` and `name` go into the URL unless `form` is true.
 * Returns {name, context, page, consoleErrors, pageErrors, stats(), state(), close()}.
 */
export async function openParticipant(browser, server, { room, name, form = false, video = '640x480', viewport, params = {} }) {
  const context = await browser.newContext({ viewport: viewport ?? { width: 1024, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_TIMEOUT_MS);
  const participant = {
    name,
    context,
    page,
    consoleErrors: [],
    pageErrors: [],
    closed: false,
    stats: () => page.evaluate(() => window.demo.stats()),
    publishStats: () => page.evaluate(() => window.demo.publishStats()),
    state: () => page.evaluate(() => ({
      connection: window.demo.room?.state ?? null,
      participantId: window.demo.room?.participantId ?? null,
      participants: [...(window.demo.room?.participants.values() ?? [])].map((p) => ({ participantId: p.participantId, identity: p.identity })),
      tiles: window.demo.tiles(),
      events: window.demo.events.slice(-30),
    })),
    async close() {
      if (participant.closed) return;
      participant.closed = true;
      await context.close().catch(() => {});
    },
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error') participant.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => participant.pageErrors.push(String(err?.stack ?? err)));
  // The camera size: 640x480 (one layer) unless a test asks for more; 1280x720 is sent as three simulcast layers.
  const url = form ? `${server.baseUrl}/?${new URLSearchParams({ video })}`
    : `${server.baseUrl}/?${new URLSearchParams({ room, name, video, ...params })}`;
  await page.goto(url, { waitUntil: 'load' });
  return participant;
}

// ---------------------------------------------------------------------------------------------
// Waiting

/**
 * Polls `probe` every 500 ms until `check(value)` is true; gives up after timeoutMs with the last value.
 * @returns the value that passed
 */
export async function waitFor(what, probe, check, { timeoutMs = WAIT_TIMEOUT_MS } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastError = null;
  for (;;) {
    try {
      last = await probe();
      lastError = null;
      if (check(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(POLL_INTERVAL_MS);
  }
  const detail = lastError ? `last error: ${lastError.message}` : `last value: ${JSON.stringify(last, null, 1)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
}

/** The stats entry of `kind` that `participant` receives from `identity`, or undefined. */
export function entryFrom(stats, identity, kind) {
  return stats.find((s) => s.identity === identity && s.kind === kind);
}

/** Waits until `participant` decodes video and receives audio from every identity in `from`. */
export function waitForMediaFrom(participant, from, opts) {
  return waitFor(
    `${participant.name} to decode video and receive audio from ${from.join(', ')}`,
    () => participant.stats(),
    (stats) => from.every((id) => (entryFrom(stats, id, 'video')?.framesDecoded ?? 0) > 0
      && (entryFrom(stats, id, 'audio')?.packetsReceived ?? 0) > 0),
    opts,
  );
}

/** Waits until video frames and audio packets from each of `from` increase past the values in `before`. */
export function waitForMediaRising(participant, from, before, { minFrames = 1, minPackets = 1, ...opts } = {}) {
  return waitFor(
    `${participant.name}'s media from ${from.join(', ')} to keep flowing`,
    () => participant.stats(),
    (stats) => from.every((id) => {
      const v0 = entryFrom(before, id, 'video')?.framesDecoded ?? 0;
      const a0 = entryFrom(before, id, 'audio')?.packetsReceived ?? 0;
      return (entryFrom(stats, id, 'video')?.framesDecoded ?? 0) >= v0 + minFrames
        && (entryFrom(stats, id, 'audio')?.packetsReceived ?? 0) >= a0 + minPackets;
    }),
    opts,
  );
}

// ---------------------------------------------------------------------------------------------
// Suite: a server and a browser per test file

/**
 * Starts a server and a browser; returns an environment whose `stop()` tears both down and whose
 * `guard(fn)` wraps a test body so a failure prints the server log and the pages' state.
 */
export async function startSuite(name, { env = {} } = {}) {
  const server = await startServer({ name, env });
  let browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await server.stop();
    throw e;
  }
  const participants = [];
  const suite = {
    server,
    browser,
    participants,
    async join(opts) {
      const p = await openParticipant(browser, server, opts);
      participants.push(p);
      return p;
    },
    guard(fn) {
      return async (t) => {
        try {
          await fn(t);
        } catch (e) {
          await suite.report(e);
          throw e;
        }
      };
    },
    async report(error) {
      const lines = [`\n===== ${name} failed: ${error?.message ?? error}`];
      for (const p of participants) {
        if (p.closed) continue;
        const state = await Promise.race([p.state().catch((e) => `unavailable: ${e.message}`), sleep(3_000).then(() => 'timeout')]);
        lines.push(`--- ${p.name}: ${JSON.stringify(state)}`);
        if (p.pageErrors.length) lines.push(`    page errors: ${p.pageErrors.join(' | ')}`);
        if (p.consoleErrors.length) lines.push(`    console errors: ${p.consoleErrors.slice(-10).join(' | ')}`);
      }
      lines.push(`--- server log ${server.logFile} (last lines):`, server.logTail(120), '=====');
      console.error(lines.join('\n'));
    },
    async stop() {
      for (const p of participants) await p.close();
      await browser?.close().catch(() => {});
      await server.stop();
    },
  };
  return suite;
}

// ---------------------------------------------------------------------------------------------
// Cluster: several nodes joined by the cascade

/**
 * The demo page of node `id` of `cluster`. With `listNodes`, the page is given the cluster's nodes (its own
 * first) as where to go if its node is lost; without, it asks its node (GET /nodes).
 */
export function openOnNode(browser, cluster, id, { room, name, listNodes = false, params = {} }) {
  const own = cluster.nodes[id];
  const others = Object.entries(cluster.nodes).filter(([x]) => x !== id).map(([, s]) => s.baseUrl);
  const nodes = listNodes ? { nodes: [own.baseUrl, ...others].join(',') } : {};
  return openParticipant(browser, own, { room, name, params: { ...nodes, ...params } });
}

/** Runs nft (nftables) with `args` and returns its output. Only where {@link canFirewall} says so. */
export function nft(...args) {
  return execFileSync('nft', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/**
 * True where a test may change firewall rules: nft works and the tests run in run.sh's own loopback-only
 * network namespace (as root), never on the machine's own rules.
 */
export function canFirewall() {
  if (process.env.E2E_NETNS !== '1') return false;
  try {
    nft('list', 'tables');
    return true;
  } catch {
    return false;
  }
}

export const CLUSTER_SECRET = 'e2e-cluster-secret-0123456789abcdef0123456789';

/**
 * A TCP relay on loopback that holds every chunk `delayMs` in each direction, in order (a long or badly routed path
 * between two nodes' control channels; the kernel here has no netem). `delayMs` may be changed while it runs; a
 * chunk never overtakes the one before it. `target(port)` sets where it connects. Returns {port, delayMs, target,
 * close()}.
 */
export async function startDelayProxy({ delayMs = 0 } = {}) {
  let targetPort = 0;
  const sockets = new Set();
  const pipe = (from, to, proxy) => {
    const queue = []; // [due, chunk], in arrival order: one timer drains it, so no chunk overtakes another
    let timer = null;
    let closed = false;
    const drain = () => {
      timer = null;
      while (queue.length && queue[0][0] <= Date.now()) {
        const [, chunk] = queue.shift();
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length) timer = setTimeout(drain, queue[0][0] - Date.now());
      else if (closed) to.destroy();
    };
    from.on('data', (chunk) => {
      queue.push([Date.now() + proxy.delayMs, chunk]);
      if (!timer) drain();
    });
    from.on('close', () => { closed = true; if (!timer) drain(); });
    from.on('error', () => {});
  };
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    sockets.add(inbound); sockets.add(outbound);
    inbound.on('close', () => sockets.delete(inbound));
    outbound.on('close', () => sockets.delete(outbound));
    pipe(inbound, outbound, proxy);
    pipe(outbound, inbound, proxy);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = {
    port: server.address().port,
    delayMs,
    target(port) { targetPort = port; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/**
 * Starts one node per id, each configured with the others as peers (static list, shared secret).
 * Returns {nodes: {id: server}, stop()}. `env` is added to every node's environment, `envOf(id)` to one's;
 * `peerHost(self, other)` is the address `self` dials `other`'s control channel at (127.0.0.1; another loopback
 * address lets a firewall rule cut one pair only, the dialed node then binding 0.0.0.0); `peerAddress(self, other,
 * port)`, when given, the whole `host:port` instead (a delay proxy in between, say). Of each pair, the node whose
 * id sorts first dials.
 */
export async function startCluster(ids, { env = {}, name = 'cluster', envOf = () => ({}), peerHost = () => '127.0.0.1', peerAddress = null } = {}) {
  const clusterPorts = {};
  for (const id of ids) clusterPorts[id] = await freeTcpPort();
  const addressOf = (self, id) => (peerAddress ? peerAddress(self, id, clusterPorts[id]) : `${peerHost(self, id)}:${clusterPorts[id]}`);
  const peersOf = (self) => ids.filter((id) => id !== self).map((id) => `${id}@${addressOf(self, id)}`).join(',');
  // One after the other: nodes warming up side by side on a small machine would each take too long.
  const started = [];
  for (const id of ids) {
    started.push(await startServer({
      name: `${name}-${id}`,
      env: {
        SFU_NODE_ID: id, SFU_REGION: id, SFU_CLUSTER_SECRET: CLUSTER_SECRET, SFU_CLUSTER_PORT: String(clusterPorts[id]),
        SFU_CLUSTER_PEERS: peersOf(id), SFU_WARMUP_PACKETS: '3000', SFU_PUBLIC_URL: 'auto', ...env, ...envOf(id),
      },
    }).then((value) => ({ status: 'fulfilled', value }), (reason) => ({ status: 'rejected', reason })));
    if (started.at(-1).status === 'rejected') break;
  }
  const nodes = {};
  started.forEach((r, i) => { if (r.status === 'fulfilled') nodes[ids[i]] = r.value; });
  const cluster = {
    nodes,
    clusterPorts,
    async stop() {
      for (const s of Object.values(nodes)) await s.stop();
    },
    logs: (lines = 60) => Object.values(nodes).map((s) => `--- ${s.name} log:\n${s.logTail(lines)}`).join('\n'),
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await cluster.stop();
    throw failed.reason;
  }
  // Every node has every other as a peer up (each logs it).
  await waitFor('every node to see its peers', () => ids.map((id) => fs.readFileSync(nodes[id].logFile, 'utf8')),
    (logs) => logs.every((log, i) => ids.every((other) => other === ids[i] || log.includes(`cluster: peer ${other} (`))),
    { timeoutMs: 30_000 });
  return cluster;
}

/**
 * A cluster and a browser for one test file: `start()` in `before`, `stop()` in `after` (closes the pages, the
 * browser, the nodes, and the nft table if one was made). `open(id, opts)` joins a page on node `id`;
 * `admin(id, path)` reads the admin API with `env.SFU_ADMIN_KEY`; `block(...rules)` drops what each rule matches
 * (nft words after `add rule inet TABLE input`) in a table of its own, `unblock()` lifts them. With `table`,
 * `usable` says whether this process may change the firewall (else the caller skips).
 */
export function clusterFixture(ids, { table = null, ...options } = {}) {
  const f = {
    cluster: null,
    browser: null,
    pages: [],
    usable: table ? canFirewall() : true,
    async start() {
      if (!f.usable) return;
      f.cluster = await startCluster(ids, options);
      f.browser = await launchBrowser();
    },
    async stop() {
      for (const p of f.pages) await p.close();
      await f.browser?.close();
      await f.cluster?.stop();
      if (table && f.usable) f.unblock();
    },
    async open(id, opts) {
      const page = await openOnNode(f.browser, f.cluster, id, opts);
      f.pages.push(page);
      return page;
    },
    async admin(id, urlPath) {
      const res = await fetch(`${f.cluster.nodes[id].baseUrl}${urlPath}`,
        { headers: { authorization: `Bearer ${options.env?.SFU_ADMIN_KEY}` } });
      return res.json();
    },
    block(...rules) {
      nft('add', 'table', 'inet', table);
      nft('add', 'chain', 'inet', table, 'input', '{ type filter hook input priority 0 ; policy accept ; }');
      for (const r of rules) nft('add', 'rule', 'inet', table, 'input', ...r);
    },
    unblock() {
      try { nft('delete', 'table', 'inet', table); } catch { /* not there */ }
    },
  };
  return f;
}
