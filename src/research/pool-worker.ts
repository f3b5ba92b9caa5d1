// A piscina worker thread: runs research jobs (files are parsed once per thread and cached).
import { threadId } from 'node:worker_threads';
import { runAnyJob, type JobOutcome, type RunJob } from './jobs.ts';

export default function run(job: RunJob): Promise<JobOutcome> {
  return runAnyJob(job, `thread-${threadId}`);
}
