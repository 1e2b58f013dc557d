// A room whose members sit on two media workers: every browser decodes every other's streams, and each stream
// crosses the pipe between the workers once, however many subscribers are behind it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { scrapeMetrics, sleep, startSuite, waitForMediaFrom, waitForMediaRising } from '../lib/harness.mjs';

let suite;
before(async () => {
  suite = await startSuite('workers', { env: { SFU_MEDIA_WORKERS: '2', SFU_PLACEMENT_SPREAD: 'true' } });
});
after(async () => { await suite?.stop(); });

const counter = (m, name, worker) => m[`${name}{worker="${worker}"}`] ?? 0;

test('members on two workers see each other and each stream crosses the pipe once', { timeout: 150_000 }, async (t) => {
  await suite.guard(async (tc) => {
    const names = ['alice', 'bob', 'carol', 'dave'];
    const people = [];
    for (const name of names) people.push(await suite.join({ room: 'span', name }));
    const first = [];
    for (const p of people) first.push(await waitForMediaFrom(p, names.filter((n) => n !== p.name), { timeoutMs: 40_000 }));
    for (let i = 0; i < people.length; i++) {
      await waitForMediaRising(people[i], names.filter((n) => n !== people[i].name), first[i], { minFrames: 10, minPackets: 20 });
    }

    // Spread placement puts members on both workers (which one each gets depends on the load it sees at the join).
    const log = await import('node:fs').then((fs) => fs.readFileSync(suite.server.logFile, 'utf8'));
    const workerOf = {};
    for (const name of names) {
      const id = log.match(new RegExp(`participant=(\\S+) identity=${name} joined`))?.[1];
      assert.ok(id, `${name} joined`);
      workerOf[name] = Number(log.match(new RegExp(`participant=${id} publish transport connected \\(worker (\\d)\\)`))?.[1]);
    }
    tc.diagnostic(`workers: ${JSON.stringify(workerOf)}`);
    for (const w of [0, 1]) {
      assert.ok(Object.values(workerOf).includes(w), `someone on worker ${w}: ${JSON.stringify(workerOf)}`);
    }

    // Over a window: what crossed into worker 1 is what worker 0's publishers sent, once (two subscribers
    // behind the pipe would double it if the node sent a copy per subscriber).
    const m0 = await scrapeMetrics(suite.server);
    await sleep(5_000);
    const m1 = await scrapeMetrics(suite.server);
    const delta = (name, w) => counter(m1, name, w) - counter(m0, name, w);
    const inOnWorker0 = delta('sfu_worker_datagrams_in_total', 0);
    const pipedTo1 = delta('sfu_worker_pipe_rtp_in_total', 1);
    const pipedTo0 = delta('sfu_worker_pipe_rtp_in_total', 0);
    const inOnWorker1 = delta('sfu_worker_datagrams_in_total', 1);
    tc.diagnostic(`5 s: worker 0 read ${inOnWorker0} datagrams, ${pipedTo1} RTP crossed to worker 1; `
      + `worker 1 read ${inOnWorker1}, ${pipedTo0} crossed to worker 0`);
    // A datagram is counted when its worker reads it, a crossing when the other worker takes it off the pipe:
    // the two counters of one scrape can be a queue's worth apart (more on a starved machine), never a copy
    // per subscriber apart (that would double the count).
    const SKEW = 40;
    assert.ok(inOnWorker0 > 200 && inOnWorker1 > 200, `media flows on both workers: ${inOnWorker0}, ${inOnWorker1}`);
    assert.ok(pipedTo1 <= inOnWorker0 * 1.02 + SKEW, `at most one copy per packet crossed to worker 1: ${pipedTo1} of ${inOnWorker0}`);
    assert.ok(pipedTo1 >= inOnWorker0 * 0.6, `worker 0's streams crossed to worker 1: ${pipedTo1} of ${inOnWorker0}`);
    assert.ok(pipedTo0 <= inOnWorker1 * 1.02 + SKEW && pipedTo0 >= inOnWorker1 * 0.6, `and back: ${pipedTo0} of ${inOnWorker1}`);
    for (const w of [0, 1]) {
      assert.ok((m1[`sfu_worker_busy{worker="${w}"}`] ?? -1) >= 0, `busy fraction of worker ${w} exported`);
    }
    assert.ok(Object.keys(m1).some((k) => k.startsWith('sfu_pipe_queue_depth{')), 'pipe queue depth exported');
    for (const p of people) assert.deepEqual(p.pageErrors, [], `${p.name} has no uncaught page errors`);
  })(t);
});
