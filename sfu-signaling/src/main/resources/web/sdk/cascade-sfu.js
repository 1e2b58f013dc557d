// cascade-sfu.js: browser client for a Cascade SFU node (signaling protocol version 1, docs/PROTOCOL.md).
//
// One Room is one participant in one room: a WebSocket to the node, a publish PeerConnection offered
// by this client (sendonly), and a subscribe PeerConnection offered by the node. ES module, no dependencies.
// The API and events are documented in docs/CLIENT.md.

const PROTOCOL_VERSION = 1;
const PING_INTERVAL_MS = 10_000;
// The node closes a socket silent for 30 s; if we hear nothing for as long, the link is dead.
const SILENCE_TIMEOUT_MS = 30_000;
const ICE_GATHERING_TIMEOUT_MS = 2_000;
const ADAPTIVE_DEBOUNCE_MS = 250;
const QUALITY_INTERVAL_MS = 2_000; // connection quality is judged over this much of the statistics // observeVideo: size and visibility changes within this are sent as one
const RECONNECT_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 10_000];
// Errors after which joining again with the same token cannot succeed.
const FATAL_ERRORS = new Set(['replaced', 'invalid_token', 'token_expired', 'unsupported_protocol', 'removed', 'room_closed']);
// Errors of a join after which another node of the cluster may take us.
const MOVE_ON_ERRORS = new Set(['connection_failed', 'draining', 'server_shutting_down']);

const PC_CONFIG = Object.freeze({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: [] });

/** Error carrying the protocol's error `code`. */
export class SfuError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'SfuError';
    this.code = code;
  }
}

/** Minimal event emitter: on/off/once/emit. A throwing listener does not stop the others. */
class Emitter {
  #listeners = new Map();

  on(event, fn) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(fn);
    return this;
  }

  off(event, fn) {
    this.#listeners.get(event)?.delete(fn);
    return this;
  }

  once(event, fn) {
    const wrapper = (...args) => { this.off(event, wrapper); fn(...args); };
    return this.on(event, wrapper);
  }

  emit(event, ...args) {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try {
        fn(...args);
      } catch (e) {
        console.error(`cascade-sfu: listener for '${event}' threw`, e);
      }
    }
  }
}

function defaultUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/** The WebSocket URL of a node given by its base URL (`http(s)://host:port`). */
export function webSocketUrl(nodeUrl) {
  const u = new URL(nodeUrl, location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = '/ws';
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** The base URL (`http(s)://host:port`) of a node given by its WebSocket URL. */
function baseUrlOf(wsUrl) {
  const u = new URL(wsUrl, location.href);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  return u.origin;
}

const NODE_PROBE_TIMEOUT_MS = 2_000;

/**
 * Measures the round trip to each node (the median of `samples` `GET /health`, answered by any node that accepts
 * participants) and returns `[{url, rttMs}]`, nearest first; nodes that do not answer 200 (down, draining) are
 * left out. `nodes` are base URLs (`https://sfu-us-east.example.com`).
 */
export async function rankNodes(nodes, { samples = 3, timeoutMs = NODE_PROBE_TIMEOUT_MS } = {}) {
  const probe = async (url) => {
    const times = [];
    for (let i = 0; i < samples; i++) {
      const start = performance.now();
      try {
        const res = await fetch(new URL('/health', url), { cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) return null;
        await res.text();
      } catch {
        return null;
      }
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return { url: new URL(url, location.href).origin, rttMs: times[Math.floor(times.length / 2)] };
  };
  const ranked = (await Promise.all([...new Set(nodes)].map(probe))).filter(Boolean);
  return ranked.sort((a, b) => a.rttMs - b.rttMs);
}

/**
 * The nodes of the cluster a node belongs to, as it lists them at `GET /nodes` (itself first, then the peers it
 * knows with a public URL); just `[nodeUrl]` if it lists none.
 */
export async function discoverNodes(nodeUrl) {
  try {
    const res = await fetch(new URL('/nodes', nodeUrl), { cache: 'no-store', signal: AbortSignal.timeout(NODE_PROBE_TIMEOUT_MS) });
    if (res.ok) {
      const body = await res.json();
      const urls = (body.nodes ?? []).map((n) => n.url).filter((u) => typeof u === 'string' && u);
      if (urls.length) return [...new Set([new URL(nodeUrl, location.href).origin, ...urls])];
    }
  } catch {
    // a node without a cluster, or unreachable: it alone
  }
  return [new URL(nodeUrl, location.href).origin];
}

/** The `room` claim of a join token (JWT), or null; read only to ask nodes where the room's members are. */
function roomOfToken(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))).room ?? null;
  } catch {
    return null;
  }
}

/**
 * Ranks nodes by the expected latency to the other members of a room: for node n, the round trip to n plus the
 * mean, over the room's members, of n's measured round trip to the member's node (0 for members on n itself).
 * With no one in the room yet (or nothing known), that is the round trip to n alone: nearest first.
 *
 * @param {{url: string, rttMs: number}[]} ranked the nodes as {@link rankNodes} measured them
 * @param {string|function(string): Promise<string>} token a join token for the room, or a function of a node's
 *   base URL returning one: each node is asked `GET /nodes?room=&token=` for its round trips to the others and,
 *   from the nearest, how many members each node holds
 * @returns {Promise<{url: string, rttMs: number, expectedMs: number, members: number}[]>} best first
 */
export async function rankByMembers(ranked, token) {
  if (ranked.length < 2) return ranked.map((n) => ({ ...n, expectedMs: n.rttMs, members: 0 }));
  const ask = async ({ url }) => {
    try {
      const t = typeof token === 'function' ? await token(url) : token;
      const room = roomOfToken(t);
      if (!room) return null;
      const res = await fetch(new URL(`/nodes?room=${encodeURIComponent(room)}&token=${encodeURIComponent(t)}`, url),
        { cache: 'no-store', signal: AbortSignal.timeout(NODE_PROBE_TIMEOUT_MS) });
      return res.ok ? await res.json() : null;
    } catch {
      return null;
    }
  };
  return scoreByMembers(ranked, await Promise.all(ranked.map(ask)));
}

/**
 * The arithmetic of {@link rankByMembers}: `answers[i]` is node i's `GET /nodes?room=` body (or null when it did
 * not answer). A node whose link to a member's node is unknown is ranked after every node that has one.
 */
export function scoreByMembers(ranked, answers) {
  const originOf = (u) => { try { return new URL(u).origin; } catch { return null; } };
  // Members per node: from the nearest node that answered (it knows every peer's count for the room).
  const counts = new Map();
  const counted = answers.find((a) => a?.nodes);
  for (const n of counted?.nodes ?? []) {
    if (n.participants > 0) counts.set(originOf(n.url), n.participants);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const scored = ranked.map((n, i) => {
    let link = 0;
    if (total > 0) {
      const row = new Map((answers[i]?.nodes ?? []).map((m) => [originOf(m.url), m.rttMs]));
      let sum = 0;
      for (const [origin, members] of counts) {
        const rtt = origin === originOf(n.url) ? 0 : row.get(origin);
        sum += members * (typeof rtt === 'number' && rtt >= 0 ? rtt : Infinity); // no link known: not via n
      }
      link = sum / total;
    }
    return { ...n, expectedMs: n.rttMs + link, members: counts.get(originOf(n.url)) ?? 0 };
  });
  return scored.sort((a, b) => a.expectedMs - b.expectedMs || a.rttMs - b.rttMs);
}

/** Resolves once ICE gathering is complete, or after timeoutMs (the node is ICE-lite and does not need our candidates). */
function iceGatheringDone(pc, timeoutMs = ICE_GATHERING_TIMEOUT_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function check() { if (pc.iceGatheringState === 'complete') done(); }
    function done() {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * Simulcast for a camera track of at least 960x540 (unless turned off): three layers, lowest first (the node takes
 * the offer's order as lowest first), each half the size of the next, with bitrate caps that leave the top layer
 * most of the room.
 */
function defaultVideoEncodings(track, options) {
  if (!options.simulcast) return null;
  const { width = 0, height = 0 } = track.getSettings?.() ?? {};
  if (Math.max(width, height) < 960 || Math.min(width, height) < 540) return null;
  return [
    // scalabilityMode: without it Chromium sends VP9 and AV1 as one SVC stream on the first rid only.
    { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
    { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
    { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_700_000, scalabilityMode: 'L1T3' },
  ];
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The SDP with generic NACK (RFC 4585) on Opus in every audio section that lacks it: browsers support NACK for
 * audio but offer it for video only, and the node resends lost audio to subscribers (and asks publishers for it)
 * only where both sides negotiated it. With `requiredIn` (the remote offer), only where that offered it too.
 */
function withOpusNack(sdp, requiredIn = null) {
  const sections = sdp.split(/\r\n(?=m=)/);
  for (let i = 1; i < sections.length; i++) {
    if (!sections[i].startsWith('m=audio')) continue;
    const rtpmap = /\r\na=rtpmap:(\d+) opus\/48000[^\r\n]*/i.exec(sections[i]);
    if (!rtpmap) continue;
    const line = `a=rtcp-fb:${rtpmap[1]} nack`;
    if (`${sections[i]}\r\n`.includes(`\r\n${line}\r\n`)) continue;
    if (requiredIn !== null && !requiredIn.includes(`\r\n${line}\r\n`)) continue;
    sections[i] = sections[i].replace(rtpmap[0], `${rtpmap[0]}\r\n${line}`);
  }
  return sections.join('\r\n');
}

/** setLocalDescription with `munged`, or with `description` as made if the browser refuses the change. */
async function setLocalMunged(pc, description, munged) {
  if (munged === description.sdp) return pc.setLocalDescription(description);
  try {
    await pc.setLocalDescription({ type: description.type, sdp: munged });
  } catch (e) {
    console.warn(`cascade-sfu: the browser refused NACK for audio (${e.message}); audio goes without it`);
    await pc.setLocalDescription(description);
  }
}

/**
 * A participant's session in one room.
 *
 * Lifecycle: new Room() -> connect(token) -> publish() (optional) -> leave().
 * With `reconnect` on, an unexpected loss of the socket (or of a PeerConnection) starts a new session with
 * the same token: remote participants are reported as left, then joined again from the new `joined`
 * message, and the local tracks are published again.
 *
 * With `nodes` (the base URLs of a cluster's nodes), connect() measures the round trip to each and joins the
 * nearest that accepts participants; when that node is lost (or tells us to move, as a draining node does), the
 * session moves to the next nearest and the call resumes there. The token may then be a function of the node's
 * base URL, for clusters where each node issues its own tokens. With `choose: 'members'`, the node is the one
 * with the least expected latency to the room's other members ({@link rankByMembers}), not only to us.
 */
export class Room extends Emitter {
  /**
   * @param {object} [options]
   * @param {string} [options.url] WebSocket URL of the node; default ws(s)://<page host>/ws
   * @param {boolean} [options.reconnect=true] rejoin automatically after an unexpected disconnect
   * @param {string[]} [options.nodes] base URLs of the cluster's nodes: join the nearest, move on when it is lost
   * @param {boolean} [options.nearest=true] with `nodes`: rank them by round trip; false keeps the given order
   * @param {'nearest'|'members'} [options.choose='nearest'] with `nodes`: join the nearest node, or the one that
   *   minimises the expected latency to the room's other members (round trip to the node plus its links to theirs)
   */
  constructor(options = {}) {
    super();
    this.url = options.url || (options.nodes?.length ? webSocketUrl(options.nodes[0]) : defaultUrl());
    this.reconnect = options.reconnect !== false;
    /** The cluster's nodes as given (base URLs); empty for a single node. */
    this.nodes = [...(options.nodes ?? [])];
    this.nearest = options.nearest !== false;
    this.choose = options.choose === 'members' ? 'members' : 'nearest';
    /** The nodes ranked by the last measurement, nearest first: [{url, rttMs}]. */
    this.rankedNodes = [];
    /** The id of the node we are joined to (null outside a cluster). */
    this.node = null;

    /** @type {'disconnected'|'connecting'|'connected'|'reconnecting'} */
    this.state = 'disconnected';
    this.participantId = null;
    this.identity = null;
    this.roomName = null;
    this.grants = null;
    /** participantId -> {participantId, identity, name, tracks} (everyone but us) */
    this.participants = new Map();
    /** mid of the subscribe PC -> {mid, participantId, trackId, kind, track, stream} for every active section */
    this.remoteTracks = new Map();
    /** The MediaStream returned by publish(), or null. */
    this.localStream = null;
    /** Our published tracks as the node acknowledged them: [{trackId, kind, mid, ...}] */
    this.localTracks = [];

    // Raw PeerConnections, exposed for tests and statistics.
    this._publisher = null;
    this._subscriber = null;
    this._ws = null;

    this._token = null;
    this._requestSeq = 0;
    this._pending = new Map(); // request id -> {resolve, reject}
    this._publishOptions = null; // what publish() was asked for, to republish after a reconnect
    this._mutedKinds = { audio: false, video: false };
    this._subscribeQueue = Promise.resolve();
    this._participantStreams = new Map(); // participantId -> MediaStream of its subscribed tracks
    this._pingTimer = null;
    this._lastHeardMs = 0;
    this._reconnectAttempt = 0;
    this._reconnectTimer = null;
    this._failedUrls = new Set(); // WebSocket URLs that failed since the last successful join
    this._movingTo = null; // a node the server told us to move to
    this._closedByUser = false;
    this._session = 0; // bumped on every (re)connect; callbacks of older sessions are ignored
    this._trackSettings = new Map(); // trackId -> last track_settings sent (JSON), to send only changes
    this._quality = new Map(); // participantId (ours included) -> 'excellent'|'good'|'poor'|'lost'
    this._qualityCounters = new Map(); // stats id -> {received, lost} at the last look
    this._qualityTimer = null;
  }

  /**
   * How well media from `participantId` reaches us (for ours: how well ours reaches the node), from the last
   * {@link QUALITY_INTERVAL_MS} of statistics: 'excellent' (under 2 % loss, jitter under 30 ms, round trip
   * under 300 ms), 'good' (under 8 % loss), 'poor', or 'lost' (nothing arrived though something should have);
   * null before it is known.
   */
  connectionQuality(participantId) {
    return this._quality.get(participantId) ?? null;
  }

  // ---------------------------------------------------------------------------------------------
  // Public API

  /**
   * Joins the room with a JWT (or, with `nodes`, a function `(nodeUrl) => Promise<JWT>` called for each node
   * joined). With `nodes`, joins the nearest node that answers, trying the others in turn.
   * @returns {Promise<{participantId: string, participants: object[]}>}
   */
  async connect(token) {
    if (this.state === 'connected' || this.state === 'connecting') {
      throw new SfuError('already_joined', 'connect() called twice');
    }
    clearTimeout(this._reconnectTimer); // an explicit connect() supersedes a pending reconnect
    this._teardownSession();
    this._token = token;
    this._closedByUser = false;
    this._reconnectAttempt = 0;
    this._setState('connecting');
    this._failedUrls.clear();
    try {
      if (this.nodes.length) {
        this.rankedNodes = this.nearest
          ? await rankNodes(this.nodes)
          : this.nodes.map((n) => ({ url: new URL(n, location.href).origin, rttMs: null }));
        if (this.nearest && this.choose === 'members') {
          this.rankedNodes = await rankByMembers(this.rankedNodes, token);
        }
        let lastError = new SfuError('connection_failed', 'no node of the cluster answers');
        for (const { url } of this.rankedNodes) {
          this.url = webSocketUrl(url);
          try {
            return await this._openSession();
          } catch (e) {
            lastError = e;
            this._teardownSession();
            if (!(e instanceof SfuError) || !MOVE_ON_ERRORS.has(e.code)) throw e;
            this._failedUrls.add(this.url);
          }
        }
        throw lastError;
      }
      return await this._openSession();
    } catch (e) {
      this._teardownSession();
      this._setState('disconnected');
      throw e;
    }
  }

  /**
   * Captures media with getUserMedia (or takes `options.stream`) and publishes it on the publish PC.
   * @param {object} [options] {audio, video} as for getUserMedia (`video: {width, height}` are ideal values),
   *   or {stream: MediaStream}; `videoEncodings` is passed to addTransceiver as sendEncodings. Without it, a
   *   camera of at least 960x540 is sent in three simulcast layers (a quarter, half and full size; each
   *   subscriber gets the one that fits how it shows the video); `simulcast: false` sends one.
   * @returns {Promise<MediaStream>} the local stream
   */
  async publish(options = { audio: true, video: true }) {
    if (this.state !== 'connected') throw new SfuError('not_joined', 'publish() before connect()');
    if (this._publisher) throw new SfuError('already_published', 'publish() called twice');
    let stream = options.stream;
    if (!stream) {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: options.audio ?? true,
        video: options.video ?? true,
      });
    }
    this.localStream = stream;
    this._publishOptions = { videoEncodings: options.videoEncodings, simulcast: options.simulcast !== false };
    for (const track of stream.getTracks()) {
      if (this._mutedKinds[track.kind]) track.enabled = false;
    }
    await this._publishTracks(this._session);
    return stream;
  }

  /** Mutes or unmutes our audio or video: disables the local track and tells the node. */
  setMuted(kind, muted) {
    if (kind !== 'audio' && kind !== 'video') throw new TypeError(`kind must be 'audio' or 'video', not ${kind}`);
    this._mutedKinds[kind] = !!muted;
    for (const track of this.localStream?.getTracks() ?? []) {
      if (track.kind === kind) track.enabled = !muted;
    }
    for (const t of this.localTracks) {
      if (t.kind === kind) this._send({ type: 'mute', trackId: t.trackId, muted: !!muted });
    }
  }

  /**
   * Tells the node what this client wants of a remote video: `{enabled}` false pauses it (nothing is sent);
   * `{quality: 'low'|'medium'|'high'}` caps its simulcast layer; `{height}` (device pixels) asks for the smallest
   * layer that fills that height. Kept until changed, across the node's renegotiations.
   */
  setTrackSettings(trackId, { enabled = true, quality = 'high', height = 0 } = {}) {
    const settings = { enabled: !!enabled, quality, height: Math.max(0, Math.min(8192, Math.round(height || 0))) };
    const key = JSON.stringify(settings);
    if (this._trackSettings.get(trackId) === key) return;
    this._trackSettings.set(trackId, key);
    this._send({ type: 'track_settings', trackId, ...settings });
  }

  /**
   * Adaptive stream: follows how `element` shows the remote video `trackId` and keeps the node's choice in line:
   * the layer that fills the element's height in device pixels, and nothing while the element is hidden or off
   * screen. Returns a function that stops following.
   */
  observeVideo(trackId, element) {
    let visible = true;
    let timer = null;
    const update = () => {
      timer = null;
      const shown = visible && element.isConnected && element.clientHeight > 0 && !document.hidden;
      const height = Math.round(element.clientHeight * (globalThis.devicePixelRatio || 1));
      this.setTrackSettings(trackId, { enabled: shown, height });
    };
    const schedule = () => {
      if (timer == null) timer = setTimeout(update, ADAPTIVE_DEBOUNCE_MS);
    };
    const resize = typeof ResizeObserver === 'function' ? new ResizeObserver(schedule) : null;
    resize?.observe(element);
    const intersect = typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => {
        visible = entries.some((e) => e.isIntersecting);
        schedule();
      })
      : null;
    intersect?.observe(element);
    document.addEventListener('visibilitychange', schedule);
    schedule();
    return () => {
      clearTimeout(timer);
      resize?.disconnect();
      intersect?.disconnect();
      document.removeEventListener('visibilitychange', schedule);
    };
  }

  /** Whether our audio or video is muted. */
  isMuted(kind) {
    return !!this._mutedKinds[kind];
  }

  /** Leaves the room, closes both PeerConnections and stops the local tracks. */
  async leave() {
    this._closedByUser = true;
    clearTimeout(this._reconnectTimer);
    this._send({ type: 'leave' });
    this._teardownSession();
    this._forgetRemoteState();
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
    this.localStream = null;
    this._publishOptions = null;
    this._setState('disconnected');
  }

  // ---------------------------------------------------------------------------------------------
  // Session: socket, join, publish

  /** Opens a socket, joins, and (after a reconnect) republishes. Rejects if any step fails. */
  async _openSession() {
    const session = ++this._session;
    const ws = new WebSocket(this.url);
    this._ws = ws;

    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new SfuError('connection_failed', `cannot open ${this.url}`));
      ws.onclose = () => reject(new SfuError('connection_failed', `cannot open ${this.url}`));
    });
    ws.onmessage = (ev) => this._onSocketMessage(session, ev);
    ws.onclose = (ev) => this._onSocketClose(session, ev);
    ws.onerror = () => {}; // a close event follows

    this._lastHeardMs = Date.now();
    this._pingTimer = setInterval(() => this._keepAlive(session), PING_INTERVAL_MS);
    this._qualityTimer = setInterval(() => this._judgeQuality(session).catch(() => {}), QUALITY_INTERVAL_MS);

    this._trackSettings.clear(); // a new session: the node knows none of them
    const token = typeof this._token === 'function' ? await this._token(baseUrlOf(this.url)) : this._token;
    if (session !== this._session) throw new SfuError('aborted', 'session replaced');
    const joined = await this._request({ type: 'join', token, protocol: PROTOCOL_VERSION });
    if (session !== this._session) throw new SfuError('aborted', 'session replaced');
    this._failedUrls.clear();
    this._movingTo = null;
    this.node = joined.node ?? null;
    this._iceServers = Array.isArray(joined.iceServers) ? joined.iceServers : [];
    this.emit('node', { url: baseUrlOf(this.url), node: this.node });
    this.participantId = joined.participantId;
    this.identity = joined.identity;
    this.roomName = joined.room;
    this.grants = joined.grants;
    for (const p of joined.participants ?? []) this._addParticipant(p);
    this._reconnectAttempt = 0;
    this._setState('connected');

    if (this.localStream && this._publishOptions) {
      // Reconnect: the same local tracks go out on a new publish PC.
      this._publishTracks(session).catch((e) => this._fail(session, 'publish_failed', e));
    }
    return { participantId: this.participantId, participants: [...this.participants.values()] };
  }

  async _publishTracks(session) {
    const pc = new RTCPeerConnection(this._pcConfig());
    this._publisher = pc;
    this._watchPeerConnection(session, pc, 'publish');
    for (const track of this.localStream.getTracks()) {
      const init = { direction: 'sendonly', streams: [this.localStream] };
      if (track.kind === 'video') {
        const encodings = this._publishOptions.videoEncodings ?? defaultVideoEncodings(track, this._publishOptions);
        if (encodings) init.sendEncodings = encodings;
      }
      pc.addTransceiver(track, init);
    }
    const offer = await pc.createOffer();
    await setLocalMunged(pc, offer, withOpusNack(offer.sdp));
    await iceGatheringDone(pc);
    const answer = await this._request({ type: 'publish_offer', sdp: pc.localDescription.sdp });
    if (session !== this._session) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this.localTracks = answer.tracks ?? [];
    // Tell the node about mutes made before the tracks had ids (or carried over from the last session).
    for (const t of this.localTracks) {
      if (this._mutedKinds[t.kind]) this._send({ type: 'mute', trackId: t.trackId, muted: true });
    }
  }

  /** The PeerConnection configuration: the node's TURN servers (from `joined`), if it has any. */
  _pcConfig() {
    return { ...PC_CONFIG, iceServers: this._iceServers ?? [] };
  }

  _watchPeerConnection(session, pc, role) {
    pc.addEventListener('connectionstatechange', () => {
      if (session !== this._session || pc.connectionState !== 'failed') return;
      this._fail(session, 'media_failed', new Error(`${role} PeerConnection failed`));
    });
  }

  /** Reports an error; with reconnect on, a broken session is started over. */
  _fail(session, code, error) {
    if (session !== this._session) return;
    this.emit('error', { code, message: error?.message ?? String(error) });
    if (this.reconnect && !this._closedByUser && this.state === 'connected') {
      this._ws?.close(4000, code);
      this._onSocketClose(session, { code: 4000, reason: code });
    }
  }

  _request(msg) {
    const id = `r${++this._requestSeq}`;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, type: msg.type });
      if (!this._send({ ...msg, id })) {
        this._pending.delete(id);
        reject(new SfuError('not_connected', 'socket is not open'));
      }
    });
  }

  _send(msg) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return false;
    this._ws.send(JSON.stringify(msg));
    return true;
  }

  _keepAlive(session) {
    if (session !== this._session) return;
    if (Date.now() - this._lastHeardMs > SILENCE_TIMEOUT_MS) {
      this._ws?.close(4001, 'silence');
      return;
    }
    this._send({ type: 'ping' });
  }

  // ---------------------------------------------------------------------------------------------
  // Incoming messages

  _onSocketMessage(session, ev) {
    if (session !== this._session) return;
    this._lastHeardMs = Date.now();
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      console.warn('cascade-sfu: ignoring a frame that is not JSON');
      return;
    }
    switch (msg.type) {
      case 'joined': return this._resolveRequest(msg, 'join');
      case 'publish_answer': return this._resolveRequest(msg, 'publish_offer');
      case 'subscribe_offer':
        this._subscribeQueue = this._subscribeQueue
          .then(() => this._onSubscribeOffer(session, msg))
          .catch((e) => this._fail(session, 'subscribe_failed', e));
        return;
      case 'participant_joined': return this._addParticipant(msg.participant);
      case 'participant_left': return this._removeParticipant(msg.participantId);
      case 'track_published': return this._onTrackPublished(msg);
      case 'track_unpublished': return this._onTrackUnpublished(msg);
      case 'track_muted': return this._onTrackMuted(msg);
      case 'active_speakers': return this._onActiveSpeakers(msg);
      case 'error': return this._onError(msg);
      case 'reconnect': return this._onReconnectHint(session, msg);
      case 'pong': return;
      default: console.debug('cascade-sfu: ignoring message', msg.type);
    }
  }

  _resolveRequest(msg, requestType) {
    let entry = msg.id != null ? this._pending.get(msg.id) : undefined;
    let id = msg.id;
    if (!entry) {
      // A node that does not echo ids: answer the oldest request of that type.
      for (const [k, v] of this._pending) {
        if (v.type === requestType) { entry = v; id = k; break; }
      }
    }
    if (!entry) return;
    this._pending.delete(id);
    entry.resolve(msg);
  }

  _onError(msg) {
    const error = new SfuError(msg.code, msg.message);
    const entry = msg.id != null ? this._pending.get(msg.id) : undefined;
    if (entry) {
      this._pending.delete(msg.id);
      entry.reject(error);
    } else if (FATAL_ERRORS.has(msg.code)) {
      // Fatal errors end the session: fail whatever is still waiting.
      for (const [, v] of this._pending) v.reject(error);
      this._pending.clear();
    }
    if (FATAL_ERRORS.has(msg.code)) this._closedByUser = true; // no reconnect can help
    if (MOVE_ON_ERRORS.has(msg.code)) this._failedUrls.add(this.url); // this node is stopping: the next one
    this.emit('error', { code: msg.code, message: msg.message ?? msg.code });
  }

  /** The node asks us to move (it is draining): to the node it names, or the next nearest we know. */
  _onReconnectHint(session, msg) {
    if (session !== this._session || !this.reconnect || this._closedByUser) return;
    const here = this.url;
    let target = null;
    try {
      if (typeof msg.url === 'string' && msg.url) target = webSocketUrl(msg.url);
    } catch {
      target = null;
    }
    this._failedUrls.add(here);
    this._movingTo = target && target !== here ? target : null;
    if (this._movingTo && !this.nodes.some((n) => webSocketUrl(n) === this._movingTo)) {
      this.nodes.push(baseUrlOf(this._movingTo));
    }
    this.emit('moving', { from: baseUrlOf(here), to: this._movingTo ? baseUrlOf(this._movingTo) : null, reason: msg.reason ?? null });
    this._ws?.close(1000, 'moving');
    this._onSocketClose(session, { code: 4002, reason: 'moving' });
  }

  /**
   * The node to try next: one the server named, else (with `nodes`) the nearest that has not failed since the last
   * join, else the same one.
   */
  _nextUrl() {
    if (this._movingTo) return this._movingTo;
    if (!this.nodes.length) return this.url;
    const order = this.rankedNodes.length ? this.rankedNodes.map((n) => n.url) : this.nodes;
    for (const n of [...order, ...this.nodes]) {
      const url = webSocketUrl(n);
      if (!this._failedUrls.has(url)) return url;
    }
    this._failedUrls.clear(); // every node failed once: go round again
    return webSocketUrl(order[0] ?? this.nodes[0]);
  }

  _onSocketClose(session, ev) {
    if (session !== this._session) return;
    this._session++; // ignore anything that still arrives for the old session
    const error = new SfuError('connection_closed', `socket closed (${ev?.code ?? ''} ${ev?.reason ?? ''})`.trim());
    for (const [, v] of this._pending) v.reject(error);
    this._pending.clear();
    this._teardownSession();
    this._forgetRemoteState();
    // While connecting or reconnecting, the failing _openSession() call handles the loss.
    if (this.state !== 'connected') return;
    if (this.reconnect && !this._closedByUser) {
      this._scheduleReconnect();
    } else {
      this._setState('disconnected');
    }
  }

  _scheduleReconnect() {
    this._setState('reconnecting');
    const next = this._nextUrl();
    // Another node (a move, or the next one after a failure) is tried at once; the same node after a backoff.
    const delayMs = next !== this.url && this._failedUrls.has(this.url)
      ? 0
      : RECONNECT_DELAYS_MS[Math.min(this._reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)];
    this._reconnectAttempt++;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = setTimeout(async () => {
      if (this._closedByUser) return;
      this.url = next;
      try {
        await this._openSession();
      } catch (e) {
        if (e instanceof SfuError && MOVE_ON_ERRORS.has(e.code)) this._failedUrls.add(this.url);
        if (this._movingTo === this.url) this._movingTo = null; // the named node failed: fall back to our own choice
        this._teardownSession();
        if (this._closedByUser || (e instanceof SfuError && FATAL_ERRORS.has(e.code))) {
          this._setState('disconnected');
        } else {
          this._scheduleReconnect();
        }
      }
    }, delayMs);
  }

  /** Closes the socket and both PeerConnections of the current session. Local tracks are kept. */
  _teardownSession() {
    clearInterval(this._pingTimer);
    this._pingTimer = null;
    clearInterval(this._qualityTimer);
    this._qualityTimer = null;
    this._qualityCounters.clear();
    if (this._ws) {
      this._ws.onclose = null;
      this._ws.onmessage = null;
      if (this._ws.readyState === WebSocket.OPEN || this._ws.readyState === WebSocket.CONNECTING) this._ws.close(1000);
      this._ws = null;
    }
    this._publisher?.close();
    this._publisher = null;
    this._subscriber?.close();
    this._subscriber = null;
    this._subscribeQueue = Promise.resolve();
    this.localTracks = [];
  }

  /** Reports every remote track as unsubscribed and every participant as left. */
  _forgetRemoteState() {
    for (const mid of [...this.remoteTracks.keys()]) this._unsubscribeMid(mid);
    for (const id of [...this.participants.keys()]) this._removeParticipant(id);
    this.participantId = null;
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('connectionStateChanged', state);
  }

  // ---------------------------------------------------------------------------------------------
  // Connection quality

  async _judgeQuality(session) {
    const judged = new Map(); // participantId -> worst quality seen on its streams
    const worse = (id, q) => {
      const order = ['excellent', 'good', 'poor', 'lost'];
      if (!judged.has(id) || order.indexOf(q) > order.indexOf(judged.get(id))) judged.set(id, q);
    };
    const grade = (loss, jitterS, rttS) => (loss < 0.02 && jitterS < 0.03 && rttS < 0.3 ? 'excellent'
      : loss < 0.08 ? 'good' : 'poor');
    if (this._subscriber) {
      const midByTrack = new Map();
      for (const t of this._subscriber.getTransceivers()) if (t.mid != null) midByTrack.set(t.receiver.track.id, t.mid);
      (await this._subscriber.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const remote = this.remoteTracks.get(s.mid ?? midByTrack.get(s.trackIdentifier));
        if (!remote) return;
        const muted = this.participants.get(remote.participantId)?.tracks.find((x) => x.trackId === remote.trackId)?.muted;
        const before = this._qualityCounters.get(s.id);
        this._qualityCounters.set(s.id, { received: s.packetsReceived ?? 0, lost: s.packetsLost ?? 0 });
        if (!before) return;
        const received = (s.packetsReceived ?? 0) - before.received;
        const lost = Math.max(0, (s.packetsLost ?? 0) - before.lost);
        if (received === 0) {
          if (!muted && remote.kind === 'audio') worse(remote.participantId, 'lost');
          return;
        }
        worse(remote.participantId, grade(lost / (received + lost), s.jitter ?? 0, 0));
      });
    }
    if (this._publisher && this.participantId) {
      (await this._publisher.getStats()).forEach((s) => {
        if (s.type !== 'remote-inbound-rtp') return; // what the node reports of our streams
        worse(this.participantId, grade(s.fractionLost ?? 0, s.jitter ?? 0, s.roundTripTime ?? 0));
      });
    }
    if (session !== this._session) return;
    for (const [participantId, quality] of judged) {
      if (this._quality.get(participantId) === quality) continue;
      this._quality.set(participantId, quality);
      this.emit('connectionQualityChanged', { participantId, quality });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Participants and tracks

  _addParticipant(p) {
    if (!p?.participantId || p.participantId === this.participantId) return;
    const known = this.participants.get(p.participantId);
    const participant = {
      participantId: p.participantId,
      identity: p.identity,
      name: p.name || p.identity,
      node: p.node ?? null, // the cluster node the participant is connected to, when it is not this one
      tracks: [...(p.tracks ?? [])],
    };
    this.participants.set(p.participantId, participant);
    if (!known) this.emit('participantJoined', participant);
  }

  _removeParticipant(participantId) {
    // Its tracks end now; the next subscribe_offer marks their sections inactive.
    for (const [mid, t] of [...this.remoteTracks]) {
      if (t.participantId === participantId) this._unsubscribeMid(mid);
    }
    this._participantStreams.delete(participantId);
    if (this.participants.delete(participantId)) this.emit('participantLeft', participantId);
  }

  _onTrackPublished({ participantId, track }) {
    const p = this.participants.get(participantId);
    if (!p || !track) return;
    p.tracks = p.tracks.filter((t) => t.trackId !== track.trackId).concat([track]);
  }

  _onTrackUnpublished({ participantId, trackId }) {
    const p = this.participants.get(participantId);
    if (p) p.tracks = p.tracks.filter((t) => t.trackId !== trackId);
  }

  /** Who speaks, loudest first, and the dominant speaker (hysteresis on the node); ids may include ours. */
  _onActiveSpeakers({ dominant, speakers }) {
    this.dominantSpeaker = dominant ?? null;
    this.activeSpeakers = Array.isArray(speakers) ? speakers : [];
    this.emit('activeSpeakers', { dominant: this.dominantSpeaker, speakers: this.activeSpeakers });
  }

  _onTrackMuted({ participantId, trackId, muted }) {
    const p = this.participants.get(participantId);
    const t = p?.tracks.find((x) => x.trackId === trackId);
    if (t) t.muted = muted;
    this.emit('trackMuted', { participantId, trackId, muted });
  }

  // ---------------------------------------------------------------------------------------------
  // Subscribe PC: offered by the node

  async _onSubscribeOffer(session, msg) {
    if (session !== this._session) return;
    if (!this._subscriber) {
      this._subscriber = new RTCPeerConnection(this._pcConfig());
      this._watchPeerConnection(session, this._subscriber, 'subscribe');
    }
    const pc = this._subscriber;
    await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    if (session !== this._session) return;

    // Map sections to tracks by mid; the node's list names every active section.
    const wanted = new Map();
    for (const t of msg.tracks ?? []) wanted.set(String(t.mid), t);
    for (const [mid, current] of [...this.remoteTracks]) {
      const next = wanted.get(mid);
      if (!next || next.trackId !== current.trackId || next.participantId !== current.participantId) {
        this._unsubscribeMid(mid);
      }
    }
    const answer = await pc.createAnswer();
    await setLocalMunged(pc, answer, withOpusNack(answer.sdp, msg.sdp));
    if (session !== this._session) return;
    for (const [mid, t] of wanted) {
      if (this.remoteTracks.has(mid)) continue;
      const transceiver = pc.getTransceivers().find((x) => x.mid === mid);
      if (!transceiver) {
        console.warn(`cascade-sfu: subscribe_offer names mid ${mid} that is not in its SDP`);
        continue;
      }
      this._subscribeMid(mid, t, transceiver.receiver.track);
    }
    await iceGatheringDone(pc);
    if (session !== this._session) return;
    this._send({ type: 'subscribe_answer', sdp: pc.localDescription.sdp, version: msg.version });
  }

  _subscribeMid(mid, { participantId, trackId, kind }, track) {
    if (!this.participants.has(participantId)) {
      // The node announced the track before the participant: keep a placeholder.
      this._addParticipant({ participantId, identity: participantId, tracks: [] });
    }
    let stream = this._participantStreams.get(participantId);
    if (!stream) {
      stream = new MediaStream();
      this._participantStreams.set(participantId, stream);
    }
    stream.addTrack(track);
    const entry = { mid, participantId, trackId, kind: kind || track.kind, track, stream };
    this.remoteTracks.set(mid, entry);
    this.emit('trackSubscribed', { participantId, trackId, kind: entry.kind, track, stream });
  }

  _unsubscribeMid(mid) {
    const entry = this.remoteTracks.get(mid);
    if (!entry) return;
    this.remoteTracks.delete(mid);
    entry.stream.removeTrack(entry.track);
    this.emit('trackUnsubscribed', { participantId: entry.participantId, trackId: entry.trackId, kind: entry.kind });
  }
}

export default Room;
