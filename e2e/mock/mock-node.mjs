// A stand-in node for developing the client library and the e2e tests while the Java server is not ready.
// It speaks the signaling protocol of docs/PROTOCOL.md over a real WebSocket and serves the web/ files, but
// its media plane is a headless Chromium page ("brain") that terminates every publish PC and forwards the
// received tracks into each subscriber's subscribe PC. Tokens are unsigned. NOT a reference implementation:
// it only exists so the browser side can be exercised end to end (`SFU_MOCK=1 ./run.sh`).
//
// Env: SFU_HTTP_PORT, SFU_MEDIA_PORT (a UDP socket that only counts what it receives), CHROMIUM.
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { WebSocketServer } from 'ws';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB_ROOT = path.resolve(HERE, '../../sfu-signaling/src/main/resources/web');
const HTTP_PORT = Number(process.env.SFU_HTTP_PORT || 7880);
const MEDIA_PORT = Number(process.env.SFU_MEDIA_PORT || 7882);
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };

const log = (...args) => console.log(new Date().toISOString(), ...args);
let droppedPackets = 0;
let ready = false; // /health answers 200 once the media plane is up

// ---------------------------------------------------------------------------------------------
// Media plane in a browser page

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
});
const brain = await (await browser.newContext()).newPage();
brain.on('console', (m) => log('brain:', m.text()));

function brainSetup() {
  const waitGathering = (pc) => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(resolve, 3000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
  const publishers = new Map(); // pid -> pc
  const tracks = new Map(); // trackId -> MediaStreamTrack
  const subscribers = new Map(); // pid -> {pc, byTrackId: Map(trackId -> {transceiver, participantId, kind})}
  window.brain = {
    async unlockHostCandidates() {
      // Without a media permission Chromium hides host addresses behind mDNS names.
      const s = await navigator.mediaDevices.getUserMedia({ audio: true });
      s.getTracks().forEach((t) => t.stop());
    },
    async publish(pid, sdp) {
      let pc = publishers.get(pid);
      if (!pc) {
        pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        publishers.set(pid, pc);
      }
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await waitGathering(pc);
      const out = [];
      for (const t of pc.getTransceivers()) {
        if (!t.mid || !t.receiver.track) continue;
        const trackId = `TR_${pid}_${t.mid}`;
        tracks.set(trackId, t.receiver.track);
        if (t.receiver.track.kind === 'audio') {
          // Chromium decodes remote audio only while something plays it out.
          const sink = new Audio();
          sink.srcObject = new MediaStream([t.receiver.track]);
          sink.play().catch((e) => console.log('audio sink', e.message));
        }
        out.push({ trackId, kind: t.receiver.track.kind, mid: t.mid, muted: false, codec: t.receiver.track.kind === 'audio' ? 'opus' : 'vp8' });
      }
      return { sdp: pc.localDescription.sdp, tracks: out };
    },
    async subscribeOffer(pid, wanted) {
      let sub = subscribers.get(pid);
      if (!sub) {
        sub = { pc: new RTCPeerConnection({ bundlePolicy: 'max-bundle' }), byTrackId: new Map() };
        subscribers.set(pid, sub);
      }
      const wantedIds = new Set(wanted.map((w) => w.trackId));
      for (const [trackId, entry] of [...sub.byTrackId]) {
        if (wantedIds.has(trackId)) continue;
        entry.transceiver.direction = 'inactive';
        await entry.transceiver.sender.replaceTrack(null);
        sub.byTrackId.delete(trackId);
      }
      for (const w of wanted) {
        if (sub.byTrackId.has(w.trackId)) continue;
        const track = tracks.get(w.trackId);
        if (!track) continue;
        const used = new Set([...sub.byTrackId.values()].map((e) => e.transceiver));
        let transceiver = sub.pc.getTransceivers().find((t) => !used.has(t) && t.direction === 'inactive'
          && t.receiver.track.kind === w.kind);
        if (transceiver) {
          await transceiver.sender.replaceTrack(track);
          transceiver.direction = 'sendonly';
        } else {
          transceiver = sub.pc.addTransceiver(track, { direction: 'sendonly' });
        }
        sub.byTrackId.set(w.trackId, { transceiver, participantId: w.participantId, kind: w.kind });
      }
      await sub.pc.setLocalDescription(await sub.pc.createOffer());
      await waitGathering(sub.pc);
      const list = [...sub.byTrackId].map(([trackId, e]) => ({ mid: e.transceiver.mid, participantId: e.participantId, trackId, kind: e.kind }));
      return { sdp: sub.pc.localDescription.sdp, tracks: list };
    },
    async subscribeAnswer(pid, sdp) {
      await subscribers.get(pid)?.pc.setRemoteDescription({ type: 'answer', sdp });
    },
    close(pid) {
      publishers.get(pid)?.close();
      publishers.delete(pid);
      subscribers.get(pid)?.pc.close();
      subscribers.delete(pid);
      for (const id of [...tracks.keys()]) if (id.startsWith(`TR_${pid}_`)) tracks.delete(id);
    },
  };
}

// Brain calls run one at a time: simple, and plenty for a handful of participants.
let brainQueue = Promise.resolve();
function brainCall(fn, ...args) {
  const result = brainQueue.then(() => brain.evaluate(fn, args));
  brainQueue = result.catch(() => {});
  return result;
}

// ---------------------------------------------------------------------------------------------
// Signaling

const rooms = new Map(); // room -> Map(pid -> participant)
let nextId = 1;

function participantInfo(p) {
  return { participantId: p.pid, identity: p.identity, name: p.name, tracks: p.tracks };
}

function send(p, msg) {
  if (p.ws.readyState === 1) p.ws.send(JSON.stringify(msg));
}

function broadcast(p, msg) {
  for (const other of rooms.get(p.room)?.values() ?? []) if (other !== p) send(other, msg);
}

function scheduleSubscribe(p) {
  if (p.gone) return;
  if (p.awaitingAnswer || p.offering) { p.dirty = true; return; }
  const wanted = [];
  for (const other of rooms.get(p.room)?.values() ?? []) {
    if (other === p) continue;
    for (const t of other.tracks) wanted.push({ participantId: other.pid, trackId: t.trackId, kind: t.kind });
  }
  if (wanted.length === 0 && !p.hasSubscriber) return;
  p.hasSubscriber = true;
  p.offering = true;
  p.dirty = false;
  brainCall((args) => window.brain.subscribeOffer(...args), p.pid, wanted).then((offer) => {
    p.offering = false;
    if (p.gone) return;
    p.awaitingAnswer = true;
    send(p, { type: 'subscribe_offer', sdp: offer.sdp, version: ++p.version, tracks: offer.tracks });
  }).catch((e) => { p.offering = false; log('subscribe offer failed', e.message); });
}

function leave(p) {
  if (p.gone) return;
  p.gone = true;
  rooms.get(p.room)?.delete(p.pid);
  broadcast(p, { type: 'participant_left', participantId: p.pid });
  brainCall((args) => window.brain.close(...args), p.pid).catch(() => {});
  for (const other of rooms.get(p.room)?.values() ?? []) scheduleSubscribe(other);
  log(`participant ${p.pid} (${p.identity}) left ${p.room}`);
}

async function onMessage(ws, state, msg) {
  const reply = (m) => ws.send(JSON.stringify(msg.id != null ? { ...m, id: msg.id } : m));
  const error = (code, message) => reply({ type: 'error', code, message });
  if (msg.type === 'ping') return reply({ type: 'pong' });
  if (!state.p && msg.type !== 'join') return error('not_joined', 'join first');
  switch (msg.type) {
    case 'join': {
      if (state.p) return error('already_joined', 'already joined');
      let claims;
      try {
        claims = JSON.parse(Buffer.from(String(msg.token).split('.')[1], 'base64url').toString());
      } catch {
        error('invalid_token', 'bad token');
        return ws.close();
      }
      const room = rooms.get(claims.room) ?? new Map();
      rooms.set(claims.room, room);
      for (const old of room.values()) {
        if (old.identity === claims.sub) {
          send(old, { type: 'error', code: 'replaced', message: 'joined elsewhere' });
          old.ws.close();
          leave(old);
        }
      }
      const p = { pid: `PA_${nextId++}`, identity: claims.sub, name: claims.name || claims.sub, room: claims.room, ws, tracks: [], version: 0 };
      state.p = p;
      reply({ type: 'joined', protocol: 1, room: p.room, participantId: p.pid, identity: p.identity,
        grants: { publish: true, subscribe: true }, participants: [...room.values()].map(participantInfo) });
      room.set(p.pid, p);
      broadcast(p, { type: 'participant_joined', participant: participantInfo(p) });
      log(`participant ${p.pid} (${p.identity}) joined ${p.room}`);
      return scheduleSubscribe(p);
    }
    case 'publish_offer': {
      const p = state.p;
      const answer = await brainCall((args) => window.brain.publish(...args), p.pid, msg.sdp);
      const fresh = answer.tracks.filter((t) => !p.tracks.some((x) => x.trackId === t.trackId));
      p.tracks = answer.tracks;
      reply({ type: 'publish_answer', sdp: answer.sdp, tracks: answer.tracks });
      for (const t of fresh) broadcast(p, { type: 'track_published', participantId: p.pid, track: t });
      for (const other of rooms.get(p.room).values()) if (other !== p) scheduleSubscribe(other);
      return;
    }
    case 'subscribe_answer': {
      const p = state.p;
      await brainCall((args) => window.brain.subscribeAnswer(...args), p.pid, msg.sdp);
      p.awaitingAnswer = false;
      if (p.dirty) scheduleSubscribe(p);
      return;
    }
    case 'mute': {
      const t = state.p.tracks.find((x) => x.trackId === msg.trackId);
      if (!t) return error('unknown_track', msg.trackId);
      t.muted = !!msg.muted;
      return broadcast(state.p, { type: 'track_muted', participantId: state.p.pid, trackId: t.trackId, muted: t.muted });
    }
    case 'leave':
      leave(state.p);
      return ws.close();
    default:
      return error('unknown_type', msg.type);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP, WebSocket, UDP

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/health') {
    res.statusCode = ready ? 200 : 503;
    return res.end(ready ? 'ok' : 'starting');
  }
  if (url.pathname === '/metrics') {
    res.setHeader('content-type', 'text/plain');
    return res.end(`# mock node\nsfu_packets_dropped_total{reason="mock"} ${droppedPackets}\n`);
  }
  if (url.pathname === '/__brain') return res.end('<!doctype html><title>brain</title>');
  if (url.pathname === '/token') {
    const claims = { sub: url.searchParams.get('identity'), room: url.searchParams.get('room'), name: url.searchParams.get('name') };
    const token = ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'mock'].join('.');
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify({ token }));
  }
  const file = path.join(WEB_ROOT, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
  if (!file.startsWith(WEB_ROOT) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.statusCode = 404;
    return res.end('not found');
  }
  res.setHeader('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream');
  fs.createReadStream(file).pipe(res);
});

const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 256 * 1024 });
wss.on('connection', (ws) => {
  const state = { p: null, queue: Promise.resolve() };
  ws.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(String(data));
    } catch {
      return ws.send(JSON.stringify({ type: 'error', code: 'bad_json', message: 'not JSON' }));
    }
    state.queue = state.queue.then(() => onMessage(ws, state, msg)).catch((e) => {
      log('error handling', msg.type, e.message);
      ws.send(JSON.stringify({ type: 'error', code: 'internal', message: e.message, id: msg.id }));
    });
  });
  ws.on('close', () => { if (state.p) leave(state.p); });
});

const udp = dgram.createSocket('udp4');
udp.on('message', () => { droppedPackets++; });
udp.bind(MEDIA_PORT, '0.0.0.0');

server.listen(HTTP_PORT, '0.0.0.0', async () => {
  await brain.goto(`http://127.0.0.1:${HTTP_PORT}/__brain`);
  await brain.evaluate(brainSetup);
  await brain.evaluate(() => window.brain.unlockHostCandidates());
  ready = true;
  log(`mock node listening on http ${HTTP_PORT}, udp ${MEDIA_PORT}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    await browser.close().catch(() => {});
    process.exit(0);
  });
}
