// Bandwidth estimation toward a subscriber: when its downlink is squeezed (htb in the test's own network
// namespace), the node's estimate from the browser's transport-cc feedback falls and the subscriber moves down a
// layer; when the limit lifts, the node probes (padding on rtx) and moves it back up.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { entryFrom, sleep, startSuite, waitFor, waitForMediaFrom } from '../lib/harness.mjs';

function tc(...args) {
  execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The shaper: htb on lo, everything in an unlimited class 1:10 but what a filter sends to class 1:20. */
function addShaper() {
  tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '10');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '10gbit');
}

function canShape() {
  if (process.env.E2E_NETNS !== '1') return false; // never touch the machine's own interfaces
  try {
    addShaper();
    // Installed only for the squeeze: until then the call runs on a plain loopback.
    tc('qdisc', 'del', 'dev', 'lo', 'root');
    return true;
  } catch {
    return false;
  }
}

const usable = canShape();
let suite;
before(async () => { if (usable) suite = await startSuite('bandwidth'); });
after(async () => {
  if (usable) {
    try { tc('qdisc', 'del', 'dev', 'lo', 'root'); } catch { /* gone */ }
  }
  await suite?.stop();
});

const limit = (rate) => tc('class', 'change', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', rate,
  'ceil', rate, 'burst', '16kb');

test('a squeezed subscriber moves down a layer, and back up when the limit lifts', { timeout: 200_000, skip: !usable && 'needs tc htb inside the e2e network namespace (root)' }, async (t) => {
  await suite.guard(async (tcx) => {
    const alice = await suite.join({ room: 'bwe', name: 'alice', video: '1280x720' });
    // On two busy cores Chromium's CPU adaptation would scale the camera down (then no layer is 720 lines tall):
    // keep the resolution, give up frame rate instead. What the test measures is the node's layer choice.
    const kept = await alice.page.evaluate(async () => {
      for (let i = 0; i < 50 && !window.demo?.room?._publisher; i++) await new Promise((r) => setTimeout(r, 100));
      const sender = window.demo.room._publisher.getSenders().find((s) => s.track?.kind === 'video');
      if (!sender) return 'no video sender';
      try {
        const p = sender.getParameters();
        p.degradationPreference = 'maintain-resolution';
        await sender.setParameters(p);
        return sender.getParameters().degradationPreference ?? 'not reported';
      } catch (e) {
        return `not set: ${e.message}`;
      }
    });
    const carol = await suite.join({ room: 'bwe', name: 'carol', viewport: { width: 1280, height: 900 } });
    await waitForMediaFrom(carol, ['alice'], { timeoutMs: 40_000 });
    tcx.diagnostic(`alice's degradation preference: ${kept}`);
    const video = async () => entryFrom(await carol.stats(), 'alice', 'video');
    try {
      await waitFor('carol to get the top layer', video, (v) => v?.frameHeight === 720, { timeoutMs: 90_000 });
    } catch (e) {
      // The precondition, not the claim: on a loaded 2-core machine the publisher's encoder may not reach its
      // top layer at all. Said loudly, and the squeeze is not tried (a known flake, see the issue note).
      const sent = (await alice.publishStats()).map((x) => x.kind === 'transport'
        ? { estimate: x.availableOutgoingBitrate } : { rid: x.rid, height: x.frameHeight, sent: x.packetsSent });
      tcx.diagnostic(`SKIPPED the squeeze: ${e.message.slice(0, 300)}; alice sends ${JSON.stringify(sent)}`);
      t.skip('carol never reached the top layer (loaded machine)');
      return;
    }

    // Only what the node sends carol's subscribe PC goes through the limited class.
    const port = await carol.page.evaluate(async () => {
      const stats = await window.demo.room._subscriber.getStats();
      // The selected pair, as the transport names it; older builds only flag it nominated.
      let selected;
      stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) selected = s.selectedCandidatePairId; });
      let pair = selected && stats.get(selected);
      if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && (s.nominated || s.state === 'succeeded') && !pair) pair = s; });
      return pair ? stats.get(pair.localCandidateId)?.port : undefined;
    });
    assert.ok(port > 0, `carol's subscribe PC has a selected candidate pair: ${port}`);
    addShaper();
    tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32',
      'match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'dport', String(port), '0xffff', 'flowid', '1:20');

    limit('600kbit');
    const squeezedAt = Date.now();
    const down = await waitFor('carol to move down under 600 kbit/s', video, (v) => v && v.frameHeight > 0 && v.frameHeight <= 360,
      { timeoutMs: 20_000 });
    const downMs = Date.now() - squeezedAt;
    tcx.diagnostic(`600 kbit/s: down to ${down.frameHeight} lines after ${downMs} ms`);
    await sleep(4_000);
    const held = await video();
    assert.ok(held.frameHeight <= 360, `stays down while squeezed: ${held.frameHeight}`);
    assert.ok(held.framesDecoded > down.framesDecoded + 20, 'and keeps decoding');

    limit('10gbit');
    const liftedAt = Date.now();
    const up = await waitFor('carol to move back up', video, (v) => v?.frameHeight === 720, { timeoutMs: 40_000 });
    const upMs = Date.now() - liftedAt;
    tcx.diagnostic(`limit lifted: back to ${up.frameHeight} lines after ${upMs} ms`);
    assert.ok(downMs <= 4_000, `down within 4 s (stats lag included): ${downMs} ms`);
    assert.ok(upMs <= 15_000, `up within 15 s: ${upMs} ms`);
    for (const p of [alice, carol]) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  })(t);
});
