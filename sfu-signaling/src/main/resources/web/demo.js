// Demo page for the Cascade SFU: joins ?room=R&name=N (or asks for them), publishes camera and microphone,
// and shows one tile per participant. Built only on the public client library in sdk/cascade-sfu.js.
import { Room, discoverNodes } from './sdk/cascade-sfu.js';

const $ = (id) => document.getElementById(id);
const ui = {
  grid: $('grid'),
  joinView: $('join-view'),
  joinForm: $('join-form'),
  joinRoom: $('join-room'),
  joinName: $('join-name'),
  joinButton: $('join-button'),
  leftView: $('left-view'),
  leftTitle: $('left-title'),
  leftDetail: $('left-detail'),
  rejoinButton: $('rejoin-button'),
  controls: $('controls'),
  micButton: $('mic-button'),
  cameraButton: $('camera-button'),
  leaveButton: $('leave-button'),
  status: $('status'),
  statusText: $('status-text'),
  count: $('participant-count'),
  countValue: $('participant-count-value'),
  roomName: $('room-name'),
  toast: $('toast'),
  tileTemplate: $('tile-template'),
};

const STATUS_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Not connected',
};

let room = null;
let session = null; // {roomName, name}
const tiles = new Map(); // participantId (or 'local') -> tile element
// ?video=WxH sets the camera size (default 1280x720: the client library sends it in three simulcast layers);
// ?adaptive=0 turns off asking the node for the layer that fits each tile.
const pageParams = new URLSearchParams(location.search);
const captureSize = (() => {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(pageParams.get('video') ?? '');
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 1280, height: 720 };
})();
const adaptiveStream = pageParams.get('adaptive') !== '0';
const events = []; // what happened, for tests and debugging: [{t, event, ...}]

// ---------------------------------------------------------------------------------------------
// Tiles

function initials(name) {
  return (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => w[0]).join('').toUpperCase() || '?';
}

function createTile(key, name, { local = false } = {}) {
  const tile = ui.tileTemplate.content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = key;
  tile.classList.toggle('local', local);
  tile.classList.add('no-video');
  tile.querySelector('.name').textContent = local ? `${name} (you)` : name;
  tile.querySelector('.avatar').textContent = initials(name);
  const video = tile.querySelector('video');
  video.muted = local; // never play our own microphone back
  if (local) ui.grid.prepend(tile);
  else ui.grid.append(tile);
  tiles.set(key, tile);
  layout();
  return tile;
}

function removeTile(key) {
  const tile = tiles.get(key);
  if (!tile) return;
  const video = tile.querySelector('video');
  tile._stopObserving?.();
  video.srcObject = null;
  tile.remove();
  tiles.delete(key);
  layout();
}

function layout() {
  ui.grid.dataset.count = String(tiles.size);
  const people = room && room.state !== 'disconnected' ? room.participants.size + 1 : 0;
  ui.countValue.textContent = String(people);
  ui.count.hidden = people === 0;
}

function attachStream(tile, stream) {
  const video = tile.querySelector('video');
  if (video.srcObject !== stream) video.srcObject = stream;
  const hasLiveVideo = stream.getVideoTracks().some((t) => t.readyState === 'live');
  const videoMuted = tile.dataset.videoMuted === 'true';
  tile.classList.toggle('no-video', !hasLiveVideo || videoMuted);
  video.play().catch(() => askForAudioGesture());
}

let gestureListener = null;
function askForAudioGesture() {
  if (gestureListener) return;
  showToast('Click anywhere to turn on sound.');
  gestureListener = () => {
    for (const v of document.querySelectorAll('video')) v.play().catch(() => {});
    document.removeEventListener('click', gestureListener);
    gestureListener = null;
    hideToast();
  };
  document.addEventListener('click', gestureListener);
}

function setRemoteMuted(participantId, kind, muted) {
  const tile = tiles.get(participantId);
  if (!tile) return;
  if (kind === 'audio') {
    tile.querySelector('.mic-off').hidden = !muted;
  } else if (kind === 'video') {
    tile.dataset.videoMuted = String(muted);
    const stream = tile.querySelector('video').srcObject;
    tile.classList.toggle('no-video', muted || !stream || stream.getVideoTracks().length === 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Status, toasts, views

let toastTimer = null;
function showToast(text, ms = 0) {
  ui.toast.textContent = text;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  if (ms > 0) toastTimer = setTimeout(hideToast, ms);
}
function hideToast() {
  ui.toast.hidden = true;
}

function setStatus(state) {
  ui.status.dataset.state = state;
  ui.statusText.textContent = STATUS_TEXT[state] ?? state;
}

function showView(view) {
  ui.joinView.hidden = view !== 'join';
  ui.leftView.hidden = view !== 'left';
  ui.grid.hidden = view !== 'call';
  ui.controls.hidden = view !== 'call';
}

function updateControls() {
  const micMuted = room?.isMuted('audio') ?? false;
  const camMuted = room?.isMuted('video') ?? false;
  ui.micButton.setAttribute('aria-pressed', String(micMuted));
  ui.micButton.title = micMuted ? 'Unmute microphone' : 'Mute microphone';
  ui.cameraButton.setAttribute('aria-pressed', String(camMuted));
  ui.cameraButton.title = camMuted ? 'Turn camera on' : 'Turn camera off';
  const local = tiles.get('local');
  if (local) {
    local.querySelector('.mic-off').hidden = !micMuted;
    local.dataset.videoMuted = String(camMuted);
    local.classList.toggle('no-video', camMuted || !room?.localStream?.getVideoTracks().length);
  }
}

// ---------------------------------------------------------------------------------------------
// Joining and leaving

/** A development token from the node at `nodeUrl` (each node of a development cluster has its own key). */
async function fetchToken(nodeUrl, roomName, name) {
  const params = new URLSearchParams({ room: roomName, identity: name, name });
  const res = await fetch(new URL(`/token?${params}`, nodeUrl), { cache: 'no-store' });
  if (!res.ok) throw new Error(`GET /token answered ${res.status}`);
  const body = await res.json();
  if (!body.token) throw new Error('GET /token returned no token');
  return body.token;
}

function record(event, detail = {}) {
  events.push({ t: Date.now(), event, ...detail });
  if (events.length > 500) events.shift();
}

function wireRoom(r) {
  r.on('connectionStateChanged', (state) => {
    record('connectionStateChanged', { state });
    setStatus(state);
    if (state === 'reconnecting') showToast('Connection lost, reconnecting…');
    if (state === 'connected') hideToast();
    layout();
  });
  r.on('participantJoined', (p) => {
    record('participantJoined', { participantId: p.participantId, identity: p.identity });
    const label = p.node ? `${p.name || p.identity} @ ${p.node}` : (p.name || p.identity);
    const tile = tiles.get(p.participantId) ?? createTile(p.participantId, label);
    for (const t of p.tracks) if (t.muted) setRemoteMuted(p.participantId, t.kind, true);
    tile.dataset.identity = p.identity;
    layout();
  });
  r.on('node', ({ url, node }) => {
    record('node', { url, node });
    ui.roomName.title = node ? `on node ${node} (${url})` : url;
  });
  r.on('moving', ({ from, to, reason }) => {
    record('moving', { from, to, reason });
    showToast(`Moving to ${to ?? 'another node'}${reason ? ` (${reason})` : ''}…`);
  });
  r.on('participantLeft', (participantId) => {
    record('participantLeft', { participantId });
    removeTile(participantId);
  });
  r.on('trackSubscribed', ({ participantId, trackId, kind, stream }) => {
    record('trackSubscribed', { participantId, trackId, kind });
    const p = r.participants.get(participantId);
    const tile = tiles.get(participantId) ?? createTile(participantId, p?.name || participantId);
    const published = p?.tracks.find((t) => t.trackId === trackId);
    if (published) setRemoteMuted(participantId, kind, !!published.muted);
    attachStream(tile, stream);
    if (kind === 'video' && adaptiveStream) {
      // The node sends the simulcast layer that fills the tile, and nothing while it is hidden.
      tile._stopObserving?.();
      tile._stopObserving = r.observeVideo(trackId, tile.querySelector('video'));
    }
  });
  r.on('trackUnsubscribed', ({ participantId, trackId, kind }) => {
    record('trackUnsubscribed', { participantId, trackId, kind });
    const tile = tiles.get(participantId);
    const stream = tile?.querySelector('video').srcObject;
    if (tile && stream) attachStream(tile, stream);
  });
  r.on('trackMuted', ({ participantId, trackId, muted }) => {
    record('trackMuted', { participantId, trackId, muted });
    const t = r.participants.get(participantId)?.tracks.find((x) => x.trackId === trackId);
    if (t) setRemoteMuted(participantId, t.kind, muted);
  });
  r.on('activeSpeakers', ({ dominant, speakers }) => {
    record('activeSpeakers', { dominant, speakers });
    for (const [key, tile] of tiles) {
      const id = key === 'local' ? r.participantId : key;
      tile.classList.toggle('speaking', id === dominant);
    }
  });
  r.on('connectionQualityChanged', ({ participantId, quality }) => {
    record('connectionQualityChanged', { participantId, quality });
    const tile = tiles.get(participantId === r.participantId ? 'local' : participantId);
    if (tile) tile.dataset.quality = quality;
  });
  r.on('error', ({ code, message }) => {
    record('error', { code, message });
    if (code === 'replaced') {
      endCall('You joined this room from another tab or device.', 'Disconnected');
    } else if (code === 'invalid_token' || code === 'token_expired') {
      endCall(`The node refused the token (${code}).`, 'Could not join');
    } else {
      showToast(`${code}: ${message}`, 6000);
    }
  });
}

async function join(roomName, name) {
  session = { roomName, name };
  showView('call');
  hideToast();
  ui.roomName.textContent = `# ${roomName}`;
  ui.roomName.hidden = false;
  document.title = `${roomName} · Cascade SFU`;
  setStatus('connecting');

  // In a cluster, the other nodes are where the call moves if this one is lost or drains. ?nodes=URL,URL names
  // them; otherwise the page's node lists them. ?pick=nearest lets the library join the nearest instead of this one;
  // ?pick=members the node with the least expected latency to the room's members (rankByMembers).
  const given = pageParams.get('nodes')?.split(',').map((u) => u.trim()).filter(Boolean);
  const nodes = given?.length ? given : await discoverNodes(location.origin);
  room = new Room({ reconnect: true, nodes: nodes.length > 1 ? nodes : undefined, nearest: ['nearest', 'members'].includes(pageParams.get('pick')), choose: pageParams.get('pick') === 'members' ? 'members' : 'nearest' });
  wireRoom(room);
  try {
    await room.connect((nodeUrl) => fetchToken(nodeUrl, roomName, name));
    createTile('local', name, { local: true });
    const stream = await room.publish({ audio: true, video: { width: captureSize.width, height: captureSize.height } });
    attachStream(tiles.get('local'), stream);
    updateControls();
    record('published');
  } catch (e) {
    console.warn('demo: joining failed', e);
    record('joinFailed', { code: e.code, message: e.message });
    if (room.state === 'connected') {
      // Joined but could not capture or publish: stay as a viewer.
      showToast(`Could not publish camera and microphone: ${e.message}`);
    } else {
      await room.leave();
      endCall(`Could not join: ${e.message}`, 'Could not join');
    }
  }
}

function endCall(detail, title = 'You left the room') {
  for (const key of [...tiles.keys()]) removeTile(key);
  ui.leftTitle.textContent = title;
  ui.leftDetail.textContent = detail;
  ui.roomName.hidden = true;
  setStatus('disconnected');
  layout();
  showView('left');
}

// ---------------------------------------------------------------------------------------------
// Controls

ui.micButton.addEventListener('click', () => {
  if (!room) return;
  room.setMuted('audio', !room.isMuted('audio'));
  updateControls();
});
ui.cameraButton.addEventListener('click', () => {
  if (!room) return;
  room.setMuted('video', !room.isMuted('video'));
  updateControls();
});
ui.leaveButton.addEventListener('click', async () => {
  await room?.leave();
  endCall(`You left # ${session?.roomName}.`);
});
ui.rejoinButton.addEventListener('click', () => {
  if (session) join(session.roomName, session.name);
  else showView('join');
});
ui.joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const roomName = ui.joinRoom.value.trim();
  const name = ui.joinName.value.trim();
  if (!roomName || !name) return;
  const url = new URL(location.href);
  url.searchParams.set('room', roomName);
  url.searchParams.set('name', name);
  history.replaceState(null, '', url);
  join(roomName, name);
});
window.addEventListener('pagehide', () => room?.leave());

// ---------------------------------------------------------------------------------------------
// Test hooks: window.demo.room and per remote track receive statistics.

async function stats() {
  const pc = room?._subscriber;
  if (!pc) return [];
  const midByTrackId = new Map();
  for (const t of pc.getTransceivers()) if (t.mid != null) midByTrackId.set(t.receiver.track.id, t.mid);
  const report = await pc.getStats();
  const out = [];
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    const mid = s.mid ?? midByTrackId.get(s.trackIdentifier);
    const remote = room.remoteTracks.get(mid);
    if (!remote) return;
    out.push({
      participantId: remote.participantId,
      identity: room.participants.get(remote.participantId)?.identity ?? null,
      trackId: remote.trackId,
      mid,
      kind: s.kind ?? remote.kind,
      framesDecoded: s.framesDecoded ?? 0,
      packetsReceived: s.packetsReceived ?? 0,
      bytesReceived: s.bytesReceived ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      packetsLost: s.packetsLost ?? 0,
      nackCount: s.nackCount ?? 0,
    });
  });
  return out;
}

/** What this page's own published tracks sent: per kind, packets, NACKs received and retransmissions. */
async function publishStats() {
  const pc = room?._publisher;
  if (!pc) return [];
  const out = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate != null) {
      // The browser's bandwidth estimate toward the node (from the node's transport-cc feedback).
      out.push({ kind: 'transport', availableOutgoingBitrate: s.availableOutgoingBitrate });
      return;
    }
    if (s.type !== 'outbound-rtp') return;
    out.push({
      kind: s.kind,
      rid: s.rid ?? null,
      frameHeight: s.frameHeight ?? 0,
      bytesSent: s.bytesSent ?? 0,
      packetsSent: s.packetsSent ?? 0,
      nackCount: s.nackCount ?? 0,
      retransmittedPacketsSent: s.retransmittedPacketsSent ?? 0,
    });
  });
  return out;
}

window.demo = {
  get room() { return room; },
  stats,
  publishStats,
  events,
  tiles: () => [...ui.grid.querySelectorAll('.tile')].map((t) => ({
    participantId: t.dataset.participantId,
    identity: t.dataset.identity ?? null,
    name: t.querySelector('.name').textContent,
  })),
};

// ---------------------------------------------------------------------------------------------
// Start

const params = new URLSearchParams(location.search);
const initialRoom = params.get('room');
const initialName = params.get('name');
if (initialRoom && initialName) {
  join(initialRoom, initialName);
} else {
  if (initialRoom) ui.joinRoom.value = initialRoom;
  if (initialName) ui.joinName.value = initialName;
  showView('join');
  ui.joinName.focus();
}
