// A node configured for H264 only: the browsers publish H264 and decode each other's H264.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSuite, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
before(async () => { suite = await startSuite('h264', { env: { SFU_VIDEO_CODECS: 'H264' } }); });
after(async () => { await suite?.stop(); });

test('with codecs.video = [H264] two participants decode each other\'s H264 video', { timeout: 90_000 }, async (t) => {
  await suite.guard(async () => {
    const alice = await suite.join({ room: 'h264', name: 'alice' });
    const bob = await suite.join({ room: 'h264', name: 'bob' });
    await waitForMediaFrom(alice, ['bob']);
    await waitForMediaFrom(bob, ['alice']);
    const codec = await alice.page.evaluate(async () => {
      const report = await window.demo.room._subscriber.getStats();
      const stats = [...report.values()];
      const inbound = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
      return stats.find((s) => s.id === inbound.codecId)?.mimeType;
    });
    assert.equal(codec, 'video/H264');
  })(t);
});
