'use strict';
/**
 * A Bull (npm `bull`, pinned in package.json) queue workflow, run against a Redis-compatible
 * server: `node workload.js PORT [HOST]`. crates/server/tests/client_bull.rs runs it against a
 * multi-shard darter; it passes unchanged against redis-server 7.0.
 *
 * Why Bull: every queue operation is a Lua script (ioredis defineCommand: EVALSHA, falling back
 * to EVAL on NOSCRIPT), and the scripts touch keys they never declare in KEYS. They receive the
 * queue's key prefix in ARGV and build job keys from it, e.g.
 *   - addJob-6.lua: `local jobIdKey = ARGV[1] .. jobId` then HMSET jobIdKey ... (the job hash is
 *     not among its six KEYS; neither is the debounce key ARGV[12]);
 *   - moveToActive-8.lua: `local jobKey = ARGV[1] .. jobId` and `jobKey .. ':lock'` (SET PX) and,
 *     with a rate limiter groupKey, `KEYS[6] .. ':' .. group` and `... ':limited'`;
 *   - moveStalledJobsToWait-7.lua, cleanJobsInSet-3.lua, obliterate-2.lua, removeJobs-8.lua
 *     (which SCANs for `prefix .. pattern` inside the script), retryJobs-5.lua: all HGET/DEL job
 *     hashes and their `:lock` / `:logs` keys built from ARGV prefixes.
 * Those are exactly the scripts a server that locks only the declared keys (Dragonfly's default)
 * refuses, so this workload exercises undeclared-key scripting on a sharded server.
 *
 * Phases (each on its own queue name, with several Queue instances, hence several connections
 * each: client, subscriber, blocking BRPOPLPUSH client):
 *   basic     310 jobs (add, addBulk, custom ids added twice) processed by 3 instances with
 *             concurrency 4; each job processed exactly once; return values; global events;
 *             job.finished(); getJobCounts; getCompleted; CLIENT SETNAME/LIST via getWorkers
 *   priority  jobs with priorities processed in priority order (FIFO within a priority)
 *   delayed   delayed jobs wait their delay; a far-delayed job promoted
 *   retry     attempts with fixed/exponential backoff, permanent failures (failedReason,
 *             stacktrace), job.retry(), queue.retryJobs()
 *   remove    removeOnComplete true / N, removeOnFail, job.remove(), queue.removeJobs(pattern)
 *   pause     global pause/resume (paused list), local pause/resume
 *   progress  job.progress, job.log/getJobLogs, job.update, global:progress events
 *   stalled   a job taken and abandoned (lock expires) is moved back to wait and processed
 *   repeat    a repeatable job (every N ms, limit 3) runs 3 times; removeRepeatable
 *   limiter   rate limiter with a groupKey (per-group limiter keys built inside the script)
 *   metrics   completed-job metrics
 *   clean     clean(grace, type, limit), empty(), obliterate({force}) leaves no key behind
 *
 * Any mismatch, queue 'error' event or hang (per-phase watchdog) prints
 * `bull workload FAILED [phase]: ...` and exits 1; success prints `bull workload OK` and exits 0.
 */

const assert = require('assert');
const Queue = require('bull');
const Redis = require('ioredis');

const port = Number(process.argv[2] || process.env.REDIS_PORT || 6379);
const host = process.argv[3] || '127.0.0.1';
const PREFIX = `bulltest${process.pid}x${Date.now() % 100000}`;
const PHASE_LIMIT_MS = Number(process.env.BULL_PHASE_LIMIT_MS || 30000);

let phase = 'setup';
const queues = [];
const errors = [];

function fail(msg) {
  console.error(`bull workload FAILED [${phase}]: ${msg}`);
  process.exit(1);
}

process.on('unhandledRejection', err => fail(`unhandled rejection: ${err && err.stack}`));
process.on('uncaughtException', err => fail(`uncaught exception: ${err && err.stack}`));

function eq(actual, expected, what) {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (_) {
    fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function check(cond, what) {
  if (!cond) fail(what);
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

// Polls `pred` until it holds; past the limit fails the run, or returns false when `soft` (the
// caller then reports what it saw).
async function waitFor(what, pred, limitMs = PHASE_LIMIT_MS, soft = false) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) {
      if (soft) return false;
      fail(`timed out waiting for ${what}`);
    }
    await sleep(20);
  }
}

function newQueue(name, opts = {}) {
  const q = new Queue(name, { redis: { host, port }, prefix: PREFIX, ...opts });
  q.on('error', err => errors.push(`${name}: ${err && err.stack}`));
  queues.push(q);
  return q;
}

function noErrors() {
  if (errors.length) fail(`queue 'error' events:\n${errors.join('\n')}`);
}

const ZERO = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0, paused: 0 };

async function counts(q) {
  return q.getJobCounts();
}

async function waitCounts(q, expected, what) {
  const want = { ...ZERO, ...expected };
  let last;
  await waitFor(`${what}: counts ${JSON.stringify(want)}`, async () => {
    last = await counts(q);
    return JSON.stringify(last) === JSON.stringify(want);
  }, PHASE_LIMIT_MS, true);
  eq(last, want, `${what}: getJobCounts`);
}

// --- phases ------------------------------------------------------------------------------------

async function basic() {
  const N_ADD = 200;
  const N_BULK = 100;
  const N_CUSTOM = 10;
  const total = N_ADD + N_BULK + N_CUSTOM;
  const qs = [newQueue('basic'), newQueue('basic'), newQueue('basic')];
  const seen = new Map();
  const byWorker = [0, 0, 0];
  let globalCompleted = 0;
  qs[2].on('global:completed', () => globalCompleted++);
  await qs[2].isReady();

  // Producers first, then workers: the jobs are waiting when processing starts.
  const added = await Promise.all(
    Array.from({ length: N_ADD }, (_, i) => qs[i % 3].add({ n: i }))
  );
  const bulk = await qs[1].addBulk(
    Array.from({ length: N_BULK }, (_, i) => ({ data: { n: N_ADD + i } }))
  );
  const custom = [];
  for (let i = 0; i < N_CUSTOM; i++) {
    custom.push(await qs[0].add({ n: N_ADD + N_BULK + i }, { jobId: `custom-${i}` }));
  }
  // Adding an existing custom id again does not create a second job.
  const again = await qs[2].add({ n: -1 }, { jobId: 'custom-3' });
  eq(String(again.id), 'custom-3', 'duplicate custom id: returned id');
  const ids = added.concat(bulk, custom).map(j => String(j.id));
  eq(new Set(ids).size, total, 'distinct job ids');
  await waitCounts(qs[0], { waiting: total }, 'before processing');
  eq(await qs[0].count(), total, 'count()');

  qs.forEach((q, w) =>
    q.process(4, async job => {
      seen.set(String(job.id), (seen.get(String(job.id)) || 0) + 1);
      byWorker[w]++;
      await sleep(job.data.n % 3);
      return { doubled: job.data.n * 2, worker: w };
    })
  );
  const fin = await custom[5].finished();
  eq(fin.doubled, (N_ADD + N_BULK + 5) * 2, 'job.finished() return value');

  await waitCounts(qs[0], { completed: total }, 'after processing');
  eq(seen.size, total, 'jobs processed');
  for (const [id, n] of seen) if (n !== 1) fail(`job ${id} processed ${n} times`);
  check(byWorker.filter(n => n > 0).length >= 2, `work spread over instances: ${byWorker}`);
  for (const [i, id] of ids.entries()) {
    const job = await qs[i % 3].getJob(id);
    check(job, `job ${id} missing`);
    eq(job.returnvalue && job.returnvalue.doubled, job.data.n * 2, `job ${id} return value`);
    check(job.finishedOn >= job.processedOn, `job ${id} finishedOn >= processedOn`);
    eq(await job.getState(), 'completed', `job ${id} state`);
  }
  eq((await qs[1].getJob('custom-3')).data.n, N_ADD + N_BULK + 3, 'custom-3 kept its first data');
  eq((await qs[1].getCompleted(0, 9)).length, 10, 'getCompleted(0, 9)');
  eq(await qs[1].getCompletedCount(), total, 'getCompletedCount');
  await waitFor('global:completed events', () => globalCompleted === total);

  // Processing instances name their blocking connection (CLIENT SETNAME) and find themselves
  // in CLIENT LIST.
  const workers = await qs[0].getWorkers();
  eq(workers.length, 3, 'getWorkers() (CLIENT LIST entries named by CLIENT SETNAME)');
  eq(workers[0].name, 'basic', 'worker name');
  noErrors();
  return qs;
}

async function priority() {
  const q = newQueue('priority');
  const n = 30;
  for (let i = 0; i < n; i++) {
    await q.add({ i, p: (i * 7) % 5 + 1 }, { priority: (i * 7) % 5 + 1 });
  }
  await waitCounts(q, { waiting: n }, 'prioritized jobs waiting');
  const per = await q.getCountsPerPriority([1, 2, 3, 4, 5]);
  eq(per, { 1: 6, 2: 6, 3: 6, 4: 6, 5: 6 }, 'getCountsPerPriority');
  const order = [];
  q.process(1, async job => {
    order.push(job.data);
  });
  await waitCounts(q, { completed: n }, 'prioritized jobs done');
  const expected = Array.from({ length: n }, (_, i) => ({ i, p: (i * 7) % 5 + 1 })).sort(
    (a, b) => a.p - b.p || a.i - b.i
  );
  eq(order, expected, 'processing order by priority');
  noErrors();
}

async function delayed() {
  const [producer, worker] = [newQueue('delayed'), newQueue('delayed')];
  const delays = [300, 400, 500, 600, 700];
  const jobs = [];
  for (const d of delays) jobs.push(await producer.add({ d }, { delay: d }));
  const far = await producer.add({ d: 60000 }, { delay: 60000 });
  await waitCounts(producer, { delayed: delays.length + 1 }, 'delayed jobs');
  eq(await far.getState(), 'delayed', 'far job state');
  const done = new Map();
  worker.process(3, async job => {
    done.set(String(job.id), Date.now());
  });
  await far.promote();
  await waitCounts(producer, { completed: delays.length + 1 }, 'delayed jobs done');
  for (const [i, j] of jobs.entries()) {
    const job = await producer.getJob(j.id);
    check(
      job.processedOn - job.timestamp >= delays[i] - 5,
      `job delayed ${delays[i]}ms processed after ${job.processedOn - job.timestamp}ms`
    );
  }
  check(done.has(String(far.id)), 'promoted job processed');
  noErrors();
}

async function retry() {
  const [producer, w1, w2] = [newQueue('retry'), newQueue('retry'), newQueue('retry')];
  let allow = false;
  const failedEvents = [];
  producer.on('global:failed', id => failedEvents.push(String(id)));
  await producer.isReady();
  const handler = async job => {
    if (job.data.failTimes === 'always' && !allow) throw new Error(`boom ${job.attemptsMade}`);
    if (job.attemptsMade < job.data.failTimes) throw new Error(`boom ${job.attemptsMade}`);
    return `ok after ${job.attemptsMade}`;
  };
  const a = await producer.add({ failTimes: 2 }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
  const b = await producer.add(
    { failTimes: 2 },
    { attempts: 3, backoff: { type: 'exponential', delay: 50 } }
  );
  const c = await producer.add({ failTimes: 'always' }, { attempts: 2, backoff: 50 });
  const d = await producer.add({ failTimes: 'always' });
  const e = [];
  for (let i = 0; i < 3; i++) e.push(await producer.add({ failTimes: 'always' }));
  w1.process(2, handler);
  w2.process(2, handler);
  await waitCounts(producer, { completed: 2, failed: 5 }, 'after attempts');
  for (const j of [a, b]) {
    const job = await producer.getJob(j.id);
    eq(job.returnvalue, 'ok after 2', `retried job ${j.id} return value`);
    eq(job.attemptsMade, 2, `retried job ${j.id} attemptsMade`);
    eq(job.stacktrace.length, 2, `retried job ${j.id} stacktrace entries`);
  }
  const cj = await producer.getJob(c.id);
  eq(cj.failedReason, 'boom 1', 'failedReason after 2 attempts');
  eq(cj.attemptsMade, 2, 'attemptsMade after 2 attempts');
  eq(cj.stacktrace.length, 2, 'stacktrace after 2 attempts');
  eq(await cj.getState(), 'failed', 'permanently failed state');
  const dj = await producer.getJob(d.id);
  eq(dj.failedReason, 'boom 0', 'failedReason without attempts');
  // Published on the final failure only, not on the failed attempts that are retried.
  await waitFor('global:failed events', () => failedEvents.length === 5);
  eq(
    failedEvents.sort(),
    [c, d, ...e].map(j => String(j.id)).sort(),
    'global:failed job ids'
  );
  eq(
    (await producer.getFailed()).map(j => String(j.id)).sort(),
    [c, d, ...e].map(j => String(j.id)).sort(),
    'getFailed'
  );

  allow = true;
  await dj.retry();
  await waitCounts(producer, { completed: 3, failed: 4 }, 'after job.retry()');
  eq((await producer.getJob(d.id)).returnvalue, 'ok after 1', 'retried job return value');
  await producer.retryJobs({ count: 2 });
  await waitCounts(producer, { completed: 7 }, 'after queue.retryJobs()');
  noErrors();
}

async function remove() {
  const [q, w] = [newQueue('remove'), newQueue('remove')];
  let completed = 0;
  let failed = 0;
  w.on('completed', () => completed++);
  w.on('failed', () => failed++);
  w.process(4, async job => {
    if (job.data.fail) throw new Error('nope');
    return job.data.i;
  });
  const gone = [];
  for (let i = 0; i < 5; i++) gone.push(await q.add({ i }, { removeOnComplete: true }));
  await waitFor('removeOnComplete:true jobs', () => completed === 5);
  for (const j of gone) eq(await q.getJob(j.id), null, `removeOnComplete job ${j.id}`);
  await waitCounts(q, {}, 'after removeOnComplete:true');

  for (let i = 0; i < 10; i++) await q.add({ i }, { removeOnComplete: 3 });
  await waitFor('removeOnComplete:3 jobs', () => completed === 15);
  await waitCounts(q, { completed: 3 }, 'after removeOnComplete:3');

  for (let i = 0; i < 4; i++) await q.add({ i, fail: true }, { removeOnFail: true });
  await waitFor('removeOnFail jobs', () => failed === 4);
  await waitCounts(q, { completed: 3 }, 'after removeOnFail');

  // Jobs removed while waiting: one by one, then by id pattern.
  await w.pause(true);
  const one = await q.add({ i: 1 }, { jobId: 'rm-one' });
  for (let i = 0; i < 6; i++) await q.add({ i }, { jobId: `rm-pat-${i}` });
  await q.add({ i: 99 }, { jobId: 'keep-me' });
  await waitCounts(q, { completed: 3, waiting: 8 }, 'before removals');
  await one.remove();
  eq(await q.getJob('rm-one'), null, 'job.remove()');
  await q.removeJobs('rm-pat-*');
  await waitCounts(q, { completed: 3, waiting: 1 }, 'after removeJobs(pattern)');
  eq((await q.getWaiting()).map(j => String(j.id)), ['keep-me'], 'remaining job');
  await w.resume(true);
  await waitCounts(q, { completed: 4 }, 'remaining job processed');
  noErrors();
}

async function pause() {
  const [q1, q2] = [newQueue('pause'), newQueue('pause')];
  let processed = 0;
  const handler = async () => {
    processed++;
  };
  q1.process(2, handler);
  q2.process(2, handler);
  await q1.pause();
  eq(await q2.isPaused(), true, 'globally paused');
  for (let i = 0; i < 20; i++) await q2.add({ i });
  await sleep(300);
  eq(processed, 0, 'jobs processed while paused');
  await waitCounts(q1, { paused: 20 }, 'globally paused');
  await q2.resume();
  eq(await q1.isPaused(), false, 'resumed');
  await waitCounts(q1, { completed: 20 }, 'after global resume');

  await Promise.all([q1.pause(true), q2.pause(true)]);
  eq(await q1.isPaused(true), true, 'locally paused');
  for (let i = 0; i < 5; i++) await q1.add({ i });
  await sleep(200);
  await waitCounts(q1, { completed: 20, waiting: 5 }, 'locally paused');
  await Promise.all([q1.resume(true), q2.resume(true)]);
  await waitCounts(q1, { completed: 25 }, 'after local resume');
  eq(processed, 25, 'jobs processed');
  noErrors();
}

async function progress() {
  const [q, w] = [newQueue('progress'), newQueue('progress')];
  const seen = [];
  q.on('global:progress', (id, p) => seen.push([String(id), p]));
  await q.isReady();
  w.process(2, async job => {
    await job.progress(25);
    await job.log(`first line of ${job.id}`);
    await job.progress(50);
    await job.log(`second line of ${job.id}`);
    await job.update({ ...job.data, touched: true });
    return 'done';
  });
  const jobs = [];
  for (let i = 0; i < 4; i++) jobs.push(await q.add({ i }));
  await waitCounts(q, { completed: 4 }, 'progress jobs');
  for (const j of jobs) {
    const job = await q.getJob(j.id);
    eq(job.progress(), 50, `job ${j.id} progress`);
    eq(job.data, { i: job.data.i, touched: true }, `job ${j.id} updated data`);
    const logs = await q.getJobLogs(j.id);
    eq(logs, { logs: [`first line of ${j.id}`, `second line of ${j.id}`], count: 2 }, 'logs');
    eq((await q.getJobLogs(j.id, 1, 1)).logs, [`second line of ${j.id}`], 'log range');
  }
  await waitFor('global:progress events', () => seen.length === 8);
  noErrors();
}

async function stalled() {
  const settings = { lockDuration: 300, stalledInterval: 200, maxStalledCount: 1 };
  const thief = newQueue('stalled', { settings });
  const job = await thief.add({ x: 1 });
  // Takes the job without processing it: the lock is never renewed and expires.
  const taken = await thief.getNextJob();
  eq(String(taken.id), String(job.id), 'taken job');
  eq(await job.getState(), 'active', 'taken job state');
  const rescuer = newQueue('stalled', { settings });
  const stalledIds = [];
  rescuer.on('stalled', j => stalledIds.push(String(j.id)));
  rescuer.process(1, async j => `rescued ${j.data.x}`);
  await waitCounts(rescuer, { completed: 1 }, 'stalled job completed');
  eq(stalledIds, [String(job.id)], "'stalled' events");
  eq((await rescuer.getJob(job.id)).returnvalue, 'rescued 1', 'rescued return value');
  noErrors();
}

async function repeat() {
  const q = newQueue('repeat');
  let runs = 0;
  q.process(async () => {
    runs++;
  });
  await q.add({ r: 1 }, { repeat: { every: 150, limit: 3 } });
  await waitFor('3 repeats', () => runs === 3);
  const repeatable = await q.getRepeatableJobs();
  eq(repeatable.length, 1, 'getRepeatableJobs');
  eq(Number(repeatable[0].every), 150, 'repeatable every');
  await sleep(500);
  eq(runs, 3, 'runs after the limit');
  await q.removeRepeatable({ every: 150, limit: 3 });
  eq(await q.getRepeatableCount(), 0, 'getRepeatableCount after removeRepeatable');
  noErrors();
}

async function limiter() {
  const limit = { max: 4, duration: 400, groupKey: 'tenant' };
  const [q, w] = [newQueue('limiter', { limiter: limit }), newQueue('limiter', { limiter: limit })];
  const times = { a: [], b: [] };
  const handler = async job => {
    times[job.data.tenant].push(Date.now());
  };
  q.process(4, handler);
  w.process(4, handler);
  const start = Date.now();
  for (let i = 0; i < 10; i++) {
    await q.add({ tenant: 'a', i });
    await q.add({ tenant: 'b', i });
  }
  await waitCounts(q, { completed: 20 }, 'rate limited jobs');
  // 10 jobs at 4 per 400ms per tenant need at least two more windows after the first.
  const elapsed = Math.max(...times.a) - start;
  check(elapsed >= 700, `tenant a's 10 jobs finished after ${elapsed}ms (limit 4 per 400ms)`);
  noErrors();
}

async function metrics() {
  const q = newQueue('metrics', { metrics: { maxDataPoints: 10 } });
  await q.isReady();
  // Data points are per minute: a previous point three minutes ago makes the first completion
  // push three points (three, or four if a minute boundary passes during the phase).
  await q.client.hset(q.toKey('metrics:completed'), 'prevTS', Date.now() - 180000, 'prevCount', 0);
  q.process(4, async () => 1);
  for (let i = 0; i < 20; i++) await q.add({ i });
  await waitCounts(q, { completed: 20 }, 'metrics jobs');
  const m = await q.getMetrics('completed');
  eq(m.meta.count, 20, 'completed metrics count');
  check(m.count >= 3 && m.count <= 4 && m.data.length === m.count, `metrics data: ${JSON.stringify(m)}`);
  noErrors();
}

async function clean(basicQueues) {
  const q = basicQueues[0];
  const before = await q.getCompletedCount();
  const cleaned = await q.clean(0, 'completed', 100);
  eq(cleaned.length, 100, 'clean(0, completed, 100)');
  eq(await q.getCompletedCount(), before - 100, 'completed after clean with limit');
  for (const id of cleaned.slice(0, 5)) eq(await q.getJob(id), null, `cleaned job ${id}`);
  const rest = await q.clean(0, 'completed');
  eq(rest.length, before - 100, 'clean(0, completed)');

  const e = newQueue('empty');
  const waiting = [];
  for (let i = 0; i < 5; i++) waiting.push(await e.add({ i }));
  await e.empty();
  await waitCounts(e, {}, 'after empty()');
  eq(await e.getJob(waiting[0].id), null, 'emptied waiting job');
  await e.add({ i: 9 }, { delay: 60000 });
  const grace = await e.clean(60000, 'delayed');
  eq(grace.length, 0, 'clean within the grace period');
  await sleep(5); // clean(0) takes jobs strictly older than now
  eq((await e.clean(0, 'delayed')).length, 1, 'clean(0, delayed)');
  await waitCounts(e, {}, 'after clean(0, delayed)');

  // Obliterate every queue of the run; nothing under the prefix remains.
  const names = [...new Set(queues.map(x => x.name))];
  for (const name of names) {
    const owner = queues.find(x => x.name === name);
    await owner.obliterate({ force: true });
  }
  await Promise.all(queues.map(x => x.close()));
  const admin = new Redis({ host, port, lazyConnect: true });
  await admin.connect();
  let left = [];
  // Lock and limiter keys carry a TTL and may linger until they expire.
  await waitFor('keys left after obliterate', async () => {
    left = (await admin.keys(`${PREFIX}:*`)).sort();
    return left.length === 0;
  }, 3000, true);
  await admin.quit();
  eq(left, [], 'keys left after obliterate');
}

async function main() {
  const run = async (name, f, ...args) => {
    phase = name;
    const t = Date.now();
    const timer = setTimeout(
      () => fail(`phase did not finish within ${PHASE_LIMIT_MS + 5000}ms`),
      PHASE_LIMIT_MS + 5000
    );
    const r = await f(...args);
    clearTimeout(timer);
    console.log(`bull workload: ${name} ok (${Date.now() - t}ms)`);
    return r;
  };
  const basicQueues = await run('basic', basic);
  await run('priority', priority);
  await run('delayed', delayed);
  await run('retry', retry);
  await run('remove', remove);
  await run('pause', pause);
  await run('progress', progress);
  await run('stalled', stalled);
  await run('repeat', repeat);
  await run('limiter', limiter);
  await run('metrics', metrics);
  await run('clean', clean, basicQueues);
  noErrors();
  console.log('bull workload OK');
  process.exit(0);
}

main().catch(err => fail(err && err.stack));
