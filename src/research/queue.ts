// Research runs across machines: the sweep puts its runs on a BullMQ queue (job id = run id, so a
// run added twice is one job), `skipper worker` processes execute them on a thread pool, and the
// results come back through the queue into the sweep's results file (idempotent by run id). A worker
// killed mid-run stops renewing its job's lock; BullMQ's stalled-job check puts the job back.
import { hostname } from 'node:os';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { errorMessage } from '../core/errors.ts';
import { createPoolExecutor, type Executor, type JobOutcome, type RunJob } from './jobs.ts';
import { counted } from '../core/format.ts';

export const QUEUE_NAME = 'skipper-research';
/** How long the sweep waits for a lost Redis to come back before it stops (resumable). */
const REDIS_GRACE_MS = 10_000;

function redisUrl(url: string): string {
  if (!/^rediss?:\/\/[^/]+/.test(url)) throw new Error(`--queue ${url}: expected redis://host:port`);
  return url;
}

/** A connection that reports being down instead of queueing commands forever. */
function connect(url: string, onState: (up: boolean, why: string) => void): Redis {
  const r = new Redis(redisUrl(url), {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: 5000,
    retryStrategy: (n) => Math.min(n * 200, 2000),
  });
  r.on('ready', () => onState(true, 'ready'));
  r.on('error', (e: Error) => onState(false, e.message));
  r.on('close', () => onState(false, 'connection closed'));
  return r;
}

async function reach(r: Redis, url: string): Promise<void> {
  let why = '';
  const onError = (e: Error) => (why ||= e.message);
  r.on('error', onError);
  try {
    await Promise.race([
      r.connect().then(() => r.ping()),
      new Promise((_, rej) => setTimeout(() => rej(new Error('no answer within 5 s')), 5000).unref()),
    ]);
  } catch (e) {
    r.disconnect();
    throw new Error(`cannot reach Redis at ${url}: ${why || errorMessage(e)}`);
  } finally {
    r.off('error', onError);
  }
}

export class QueueExecutor implements Executor {
  readonly name: string;
  private downSince = 0;
  private lastWhy = '';

  private constructor(
    private readonly graceMs: number,
    private readonly url: string,
    private readonly conn: Redis,
    private readonly evConn: Redis,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    this.name = `queue(${url})`;
  }

  static async connect(url: string, opts: { graceMs?: number } = {}): Promise<QueueExecutor> {
    const ref: { self?: QueueExecutor } = {};
    const state = (up: boolean, why: string) => ref.self?.onState(up, why);
    const conn = connect(url, state);
    await reach(conn, url);
    const evConn = connect(url, state);
    await reach(evConn, url);
    const queue = new Queue(QUEUE_NAME, { connection: conn });
    const events = new QueueEvents(QUEUE_NAME, { connection: evConn });
    queue.on('error', () => {}); // reported through the connection's state
    events.on('error', () => {});
    await events.waitUntilReady();
    ref.self = new QueueExecutor(opts.graceMs ?? REDIS_GRACE_MS, url, conn, evConn, queue, events);
    return ref.self;
  }

  private onState(up: boolean, why: string): void {
    if (up) this.downSince = 0;
    else {
      this.lastWhy = why;
      if (this.downSince === 0) this.downSince = performance.now();
    }
  }

  /**
   * Every outcome comes through one 'completed' and one 'failed' listener for the whole batch:
   * `job.waitUntilFinished` would add a listener to the Queue per waiting job (more than 10 jobs:
   * a MaxListenersExceededWarning on every sweep).
   */
  async run(jobs: readonly RunJob[], onDone: (o: JobOutcome) => void): Promise<void> {
    if (jobs.length === 0) return;
    const waiting = new Set(jobs.map((j) => j.runId));
    const removals: Array<Promise<unknown>> = [];
    let allDone: () => void = () => {};
    const finished = new Promise<void>((resolve) => (allDone = resolve));
    const settle = (out: JobOutcome): void => {
      if (!waiting.delete(out.runId)) return; // another sweep's job, or heard twice
      onDone(out);
      removals.push(this.queue.remove(out.runId).catch(() => 0)); // stored in the results file: Redis need not keep it
      if (waiting.size === 0) allDone();
    };
    const failed = (runId: string, why: string): JobOutcome => ({ runId, error: why, elapsedMs: 0, worker: 'queue' });
    const onCompleted = (e: { jobId: string; returnvalue: unknown }) => settle({ ...(e.returnvalue as JobOutcome), runId: e.jobId });
    const onFailed = (e: { jobId: string; failedReason: string }) => settle(failed(e.jobId, e.failedReason));
    this.events.on('completed', onCompleted);
    this.events.on('failed', onFailed);
    let watchdog: NodeJS.Timeout | undefined;
    const lost = new Promise<never>((_, reject) => {
      watchdog = setInterval(() => {
        if (this.downSince && performance.now() - this.downSince > this.graceMs)
          reject(
            new Error(
              `lost the connection to Redis at ${this.url} (${this.lastWhy}); the runs finished so far are saved: run the same command again to resume`,
            ),
          );
      }, 500);
    });
    try {
      await Promise.race([
        this.queue.addBulk(
          jobs.map((j) => ({ name: 'run', data: j, opts: { jobId: j.runId, attempts: 3, removeOnComplete: false, removeOnFail: false } })),
        ),
        lost,
      ]);
      // A job id already on the queue is not added again: one that finished before we listened
      // (a sweep killed before it collected it) is read back here.
      await Promise.race([Promise.all([...waiting].map((id) => this.collectFinished(id, settle, failed))), lost]);
      await Promise.race([finished, lost]);
      await Promise.all(removals);
    } finally {
      clearInterval(watchdog);
      this.events.off('completed', onCompleted);
      this.events.off('failed', onFailed);
    }
  }

  private async collectFinished(
    id: string,
    settle: (o: JobOutcome) => void,
    failed: (runId: string, why: string) => JobOutcome,
  ): Promise<void> {
    const state = await this.queue.getJobState(id);
    if (state !== 'completed' && state !== 'failed') return;
    const job = await Job.fromId<RunJob, JobOutcome>(this.queue, id);
    if (!job) return;
    settle(state === 'completed' ? { ...job.returnvalue, runId: id } : failed(id, job.failedReason));
  }

  /** Both connections are ours: BullMQ does not close a connection it was handed. */
  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.conn.disconnect();
    this.evConn.disconnect();
  }
}

export interface QueueWorkerOptions {
  url: string;
  concurrency: number;
  lockMs: number;
  /** Resolves when the worker should stop (default: SIGINT/SIGTERM). */
  until?: Promise<void>;
}

/** `skipper worker`: take runs from the queue, run them on a thread pool, hand the results back. */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<void> {
  const conn = connect(o.url, (up, why) => {
    if (!up) process.stderr.write(`worker: Redis ${why}; retrying\n`);
  });
  await reach(conn, o.url);
  const pool = await createPoolExecutor(o.concurrency);
  const me = `${hostname()}:${process.pid}`;
  const worker = new Worker<RunJob, JobOutcome>(
    QUEUE_NAME,
    async (job) => {
      let out: JobOutcome | undefined;
      await pool.run([job.data], (x) => (out = x));
      process.stdout.write(`run ${job.data.runId} ${out?.error ? `failed: ${out.error}` : 'done'}\n`);
      return { ...out!, worker: me };
    },
    {
      connection: conn,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: Math.max(1000, Math.floor(o.lockMs / 2)),
      maxStalledCount: 10,
    },
  );
  worker.on('error', () => {});
  await worker.waitUntilReady();
  process.stdout.write(`worker ${me}: ${counted(o.concurrency, 'thread')} on ${o.url}, queue ${QUEUE_NAME}\n`);
  await (o.until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }));
  await worker.close();
  await pool.close();
  conn.disconnect();
}
