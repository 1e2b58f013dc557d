// Loss on the way to and from the node is repaired, audio and video: the node NACKs the publishing browser for
// what it lost on the way in, and answers the subscribing browser's NACKs from its cache for what was lost on the
// way out (for audio because the client library negotiates NACK for Opus, which browsers do not offer themselves).
// Loss is made with nftables in the test's own network namespace (run.sh's loopback-only namespace as root).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canFirewall, nft, scrapeMetrics, sleep, startSuite, waitFor, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

const usable = canFirewall();
let suite;
before(async () => { if (usable) suite = await startSuite('loss-repair'); });
after(async () => {
  if (usable) {
    try { nft('delete', 'table', 'inet', 'e2eloss'); } catch { /* not made */ }
  }
  await suite?.stop();
});

const sum = (m, name) => Object.entries(m).filter(([k]) => k.startsWith(name)).reduce((a, [, v]) => a + v, 0);

test('audio and video survive 5 % loss each way: NACKs answered both ways, frames keep coming', { timeout: 150_000, skip: !usable && 'needs nft inside the e2e network namespace (root)' }, async (t) => {
  await suite.guard(async (tc) => {
    const alice = await suite.join({ room: 'lossy', name: 'alice' });
    const bob = await suite.join({ room: 'lossy', name: 'bob' });
    await waitForMediaFrom(alice, ['bob']);
    await waitForMediaFrom(bob, ['alice']);

    // The client library's connection quality: alice's media reaches bob cleanly before the loss.
    const qualityOfAlice = () => bob.page.evaluate(() => {
      const room = window.demo.room;
      const alice = [...room.participants.values()].find((p) => p.identity === 'alice');
      return room.connectionQuality(alice.participantId);
    });
    await waitFor('bob to rate alice\'s connection excellent', qualityOfAlice, (q) => q === 'excellent', { timeoutMs: 15_000 });

    const ports = suite.server.mediaPorts.join(', ');
    nft('add', 'table', 'inet', 'e2eloss');
    // Dropped on arrival (input hook), as the network would: a drop on output would fail the sender's sendto.
    nft('add', 'chain', 'inet', 'e2eloss', 'in', '{ type filter hook input priority 0 ; }');
    // Both directions: datagrams to the node's media ports and from them.
    nft('add', 'rule', 'inet', 'e2eloss', 'in', 'udp', 'dport', `{ ${ports} }`, 'numgen', 'random', 'mod', '100', '<', '5', 'drop');
    nft('add', 'rule', 'inet', 'e2eloss', 'in', 'udp', 'sport', `{ ${ports} }`, 'numgen', 'random', 'mod', '100', '<', '5', 'drop');

    const before = await bob.stats();
    const m0 = await scrapeMetrics(suite.server);
    await sleep(12_000);
    await waitForMediaRising(bob, ['alice'], before, { minFrames: 100, minPackets: 100 });
    const m1 = await scrapeMetrics(suite.server);
    const nacksToPublishers = sum(m1, 'sfu_nack_sent_total') - sum(m0, 'sfu_nack_sent_total');
    const resent = sum(m1, 'sfu_retransmitted_total') - sum(m0, 'sfu_retransmitted_total');
    const bobVideo = (await bob.stats()).find((s) => s.identity === 'alice' && s.kind === 'video');
    const bobAudio = (await bob.stats()).find((s) => s.identity === 'alice' && s.kind === 'audio');
    const alicePub = (await alice.publishStats()).find((s) => s.kind === 'video');
    const alicePubAudio = (await alice.publishStats()).find((s) => s.kind === 'audio');
    tc.diagnostic(`12 s at 5 % loss each way: node NACKed publishers for ${nacksToPublishers} packets, resent ${resent}; `
      + `bob NACKed ${bobVideo.nackCount} times, lost ${bobVideo.packetsLost}; alice retransmitted ${alicePub.retransmittedPacketsSent}`);
    tc.diagnostic(`audio: bob NACKed ${bobAudio.nackCount} times, lost ${bobAudio.packetsLost} of ${bobAudio.packetsReceived}; `
      + `alice was NACKed ${alicePubAudio.nackCount} times, retransmitted ${alicePubAudio.retransmittedPacketsSent}`);
    assert.ok(nacksToPublishers > 0, 'the node asked the publishers for what it lost');
    assert.ok(alicePub.nackCount > 0 && alicePub.retransmittedPacketsSent > 0, 'alice answered the node\'s NACKs');
    assert.ok(bobVideo.nackCount > 0, 'bob asked the node for what he lost');
    assert.ok(resent > 0, 'the node answered bob from its cache');
    // Audio too: the client library turns NACK on for Opus, so the node asks alice for what it lost of her audio
    // and answers bob's NACKs for it; what bob still misses is the loss of both a packet and its resend.
    assert.ok(alicePubAudio.retransmittedPacketsSent > 0, 'alice resent the audio the node asked for');
    assert.ok(bobAudio.nackCount > 0, 'bob asked the node for the audio he lost');
    assert.ok(bobAudio.packetsLost < 0.02 * bobAudio.packetsReceived,
      `bob's audio is repaired: ${bobAudio.packetsLost} lost of ${bobAudio.packetsReceived} at 5 % loss each way`);
    const lossyQuality = await waitFor('bob to rate alice\'s connection below excellent', qualityOfAlice,
      (q) => q === 'good' || q === 'poor', { timeoutMs: 10_000 });
    tc.diagnostic(`bob rates alice's connection ${lossyQuality} at 5 % loss`);
    await waitFor('bob\'s video still decoding', () => bob.stats(),
      (s) => (s.find((x) => x.identity === 'alice' && x.kind === 'video')?.framesDecoded ?? 0) > bobVideo.framesDecoded + 30);
  })(t);
});
