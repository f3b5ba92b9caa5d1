// A piscina worker thread: runs research jobs (files are parsed once per thread and cached).
import { threadId } from 'node:worker_threads';
import { runJob, type JobOutcome, type RunJob } from './jobs.ts';

export default function run(job: RunJob): JobOutcome {
  return runJob(job, `thread-${threadId}`);
}
