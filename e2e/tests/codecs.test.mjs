// A node configured for one video codec: the browsers publish it and decode each other's video, for each of
// H264, VP9 and AV1 (VP8, the default, is what every other test uses). VP9 and AV1 come from a 1280x720 camera
// in three simulcast layers (the client library sets scalabilityMode L1T3 on each), and a thumbnail gets the low
// one.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { entryFrom, startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

let suite;
after(async () => { await suite?.stop(); });

const receivedCodec = (p) => p.page.evaluate(async () => {
  const stats = [...(await window.demo.room._subscriber.getStats()).values()];
  const inbound = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
  return stats.find((s) => s.id === inbound.codecId)?.mimeType;
});

for (const codec of ['H264', 'VP9', 'AV1']) {
  test(`with codecs.video = [${codec}] two participants decode each other's ${codec} video`, { timeout: 120_000 }, async (t) => {
    await suite?.stop();
    suite = await startSuite(`codec-${codec.toLowerCase()}`, { env: { SFU_VIDEO_CODECS: codec } });
    await suite.guard(async (tc) => {
      const video = codec === 'H264' ? '640x480' : '1280x720';
      const alice = await suite.join({ room: codec, name: 'alice', video });
      const bob = await suite.join({ room: codec, name: 'bob', video });
      await waitForMediaFrom(alice, ['bob'], { timeoutMs: 40_000 });
      await waitForMediaFrom(bob, ['alice'], { timeoutMs: 40_000 });
      assert.equal(await receivedCodec(alice), `video/${codec}`);
      assert.equal(await receivedCodec(bob), `video/${codec}`);
      const got = await waitFor(`bob to decode alice's ${codec} at its full size`,
        async () => entryFrom(await bob.stats(), 'alice', 'video'),
        (v) => v && v.frameHeight === (codec === 'H264' ? 480 : 720), { timeoutMs: 40_000 });
      tc.diagnostic(`${codec}: bob decodes alice at ${got.frameWidth}x${got.frameHeight}`);
      if (codec !== 'H264') {
        const layers = (await alice.publishStats()).filter((x) => x.kind === 'video' && x.rid && x.packetsSent > 0);
        assert.equal(layers.length, 3, `three ${codec} layers: ${JSON.stringify(layers)}`);
        // bob shows alice as a thumbnail: the low layer (taken as 180 lines: the node reads only VP8's size).
        await bob.page.evaluate(() => { document.querySelectorAll('.tile:not(.local) video').forEach((v) => { v.style.height = '100px'; }); });
        const small = await waitFor('bob to get the low layer', async () => entryFrom(await bob.stats(), 'alice', 'video'),
          (v) => v && v.frameHeight > 0 && v.frameHeight <= 180, { timeoutMs: 30_000 });
        tc.diagnostic(`${codec}: bob's thumbnail of alice is ${small.frameWidth}x${small.frameHeight}`);
      }
    })(t);
  });
}
