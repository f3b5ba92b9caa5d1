// Research runs as jobs, and the executors that run them: in this process, on a worker-thread pool,
// or (queue.ts) on BullMQ workers anywhere. Every executor runs the same function: runJob.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { errorMessage } from '../core/errors.ts';
import { isModelStrategy } from '../models/wire.ts';
import { runConfigBacktest, type RunConfigOptions, type RunResult } from './run-config.ts';

export interface RunJob extends RunConfigOptions {
  runId: string;
}

export interface JobOutcome {
  runId: string;
  result?: RunResult;
  /** The run failed (bad data, a config the engine refuses…): the message, and no result. */
  error?: string;
  elapsedMs: number;
  worker: string;
}

export function runJob(job: RunJob, worker: string): JobOutcome {
  const t0 = performance.now();
  try {
    const result = runConfigBacktest(job);
    return { runId: job.runId, result, elapsedMs: performance.now() - t0, worker };
  } catch (e) {
    return { runId: job.runId, error: errorMessage(e), elapsedMs: performance.now() - t0, worker };
  }
}

/** runJob for any strategy: a model/ensemble config loads its models (onnxruntime) in this thread. */
export async function runAnyJob(job: RunJob, worker: string): Promise<JobOutcome> {
  if (!isModelStrategy(job.config.strategy.name)) return runJob(job, worker);
  const t0 = performance.now();
  try {
    const { runModelConfigBacktest } = await import('./model-run.ts');
    const { models: _m, ...result } = await runModelConfigBacktest(job);
    return { runId: job.runId, result, elapsedMs: performance.now() - t0, worker };
  } catch (e) {
    return { runId: job.runId, error: errorMessage(e), elapsedMs: performance.now() - t0, worker };
  }
}

export interface Executor {
  readonly name: string;
  /** Run the jobs; `onDone` hears each outcome as it arrives (in any order). */
  run(jobs: readonly RunJob[], onDone: (o: JobOutcome) => void): Promise<void>;
  close(): Promise<void>;
}

/** One run after another in this process (tests, single runs). */
export class InlineExecutor implements Executor {
  readonly name = 'inline';
  async run(jobs: readonly RunJob[], onDone: (o: JobOutcome) => void): Promise<void> {
    for (const j of jobs) {
      onDone(await runAnyJob(j, 'main'));
      await new Promise<void>((r) => setImmediate(r)); // let progress output and signals through
    }
  }
  async close(): Promise<void> {}
}

/** Worker threads: one per core by default. */
export const defaultWorkers = (): number => Math.max(1, availableParallelism());

/** Running the compiled build (dist/), not the TypeScript sources through tsx. */
const compiled = import.meta.url.endsWith('.js');

/** A worker module of this folder: the compiled .js next to this file, or the .ts source through tsx. */
export function workerModule(name = 'pool-worker'): { filename: string; execArgv: string[] } {
  const filename = new URL(`./${name}.${compiled ? 'js' : 'ts'}`, import.meta.url).href;
  // tsx resolved from here, not from the working directory (the CLI runs from anywhere).
  const tsx = compiled ? '' : pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { filename, execArgv: compiled ? [] : ['--import', tsx] };
}

/**
 * A pool with a thread on every core leaves V8's background compiler threads no core of their own: a
 * run then waits in unoptimised code for its functions to be compiled. With V8 compiling in each
 * worker's own thread instead, the 64-set sweep on 2 cores and 2 threads went from 3.75 M to 4.0 M
 * candles/s (bench/research.ts, 4 runs each); on 1 thread of 2 cores, background compiling is the
 * faster (2.3 M against 2.1 M), so it stays. V8 reads the flag when an isolate starts: it changes the
 * pool's threads, made after it, not this thread. Set at run time because a Worker's execArgv takes
 * no V8 flags; only the research processes (the CLI, `skipper worker`) make such a pool, never the bot.
 */
function compileInEachThread(): void {
  setFlagsFromString('--no-concurrent-recompilation');
}

/**
 * A piscina worker-thread pool of `size` threads. Each thread is a V8 isolate of its own: its young
 * generation is capped like the bot's (`--max-semi-space-size=8` ≈ 24 MB), and at most a few jobs per
 * thread wait in the queue. With V8's default young generation and a 1,000-run sweep queued at once
 * the process reached 250 MB; capped, ~215 MB (a 20-run sweep: ~170 MB).
 */
export async function createPoolExecutor(size: number): Promise<Executor> {
  if (size >= availableParallelism()) compileInEachThread();
  const { Piscina } = await import('piscina');
  const { filename, execArgv } = workerModule();
  const pool = new Piscina<RunJob, JobOutcome>({
    filename,
    execArgv,
    minThreads: size,
    maxThreads: size,
    idleTimeout: 60_000,
    resourceLimits: { maxYoungGenerationSizeMb: 24 },
  });
  const inFlight = 4 * size;
  return {
    name: `pool(${size})`,
    async run(jobs, onDone) {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < jobs.length) {
          const j = jobs[next++]!;
          // From the sources (tsx) a worker thread's import() of model-run.ts fails (Node 20's module hooks
          // do not reach a worker's dynamic imports): model jobs run on this thread there. dist/ pools them.
          if (!compiled && isModelStrategy(j.config.strategy.name)) {
            onDone(await runAnyJob(j, 'main'));
            continue;
          }
          await pool.run(j).then(onDone, (e: unknown) => onDone({ runId: j.runId, error: errorMessage(e), elapsedMs: 0, worker: 'pool' }));
        }
      };
      await Promise.all(Array.from({ length: Math.min(inFlight, jobs.length) }, lane));
    },
    close: () => pool.destroy(),
  };
}
