// Random datagrams at the media port during a call neither stop the call nor the node.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, test } from 'node:test';
import { sleep, startSuite, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('garbage'); });
after(async () => { await suite?.stop(); });

/** Datagrams whose first byte lands in each demultiplexing range of RFC 7983, plus plain random ones. */
function garbageDatagrams(count) {
  const ranges = [
    [0x00, 0xff], // anything
    [0x00, 0x03], // STUN
    [0x14, 0x3f], // DTLS
    [0x80, 0xbf], // RTP / RTCP
  ];
  const out = [];
  for (let i = 0; i < count; i++) {
    const [lo, hi] = ranges[i % ranges.length];
    const length = 1 + crypto.randomInt(1200);
    const buf = crypto.randomBytes(length);
    buf[0] = lo + crypto.randomInt(hi - lo + 1);
    if (i % 8 === 2 && length >= 20) buf.writeUInt32BE(0x2112a442, 4); // STUN magic cookie, bogus rest
    out.push(buf);
  }
  return out;
}

async function sendAll(port, datagrams) {
  const socket = dgram.createSocket('udp4');
  try {
    for (let i = 0; i < datagrams.length; i++) {
      await new Promise((resolve, reject) => socket.send(datagrams[i], port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      if (i % 100 === 99) await sleep(10); // ~2000 datagrams in a fraction of a second, without overrunning buffers
    }
  } finally {
    socket.close();
  }
}

test('garbage datagrams at the media port do not disturb a call', { timeout: 120_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'garbage', name: 'alice' });
    const bob = await suite.join({ room: 'garbage', name: 'bob' });
    await waitForMediaFrom(alice, ['bob']);
    await waitForMediaFrom(bob, ['alice']);

    for (const port of suite.server.mediaPorts) await sendAll(port, garbageDatagrams(2000));
    const aliceAfter = await alice.stats();
    const bobAfter = await bob.stats();
    await waitForMediaRising(alice, ['bob'], aliceAfter, { minFrames: 20, minPackets: 20 });
    await waitForMediaRising(bob, ['alice'], bobAfter, { minFrames: 20, minPackets: 20 });

    const health = await fetch(`${suite.server.baseUrl}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200, 'GET /health after the garbage');
    const metrics = await fetch(`${suite.server.baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(metrics.status, 200, 'GET /metrics after the garbage');
    const text = await metrics.text();
    assert.match(text, /sfu_packets_dropped/, 'metrics expose sfu_packets_dropped');
  })(t);
});
