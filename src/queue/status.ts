/** What a queue holds: counts by state, the recent completion rate, the failures and their reasons. */
import type { Queue } from 'bullmq';
import type { ColorizeJobData } from './jobs.js';

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** All of the above. */
  total: number;
}

export async function queueCounts(queue: Queue<ColorizeJobData>): Promise<QueueCounts> {
  const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
  const waiting = (c.waiting ?? 0) + (c.prioritized ?? 0);
  const counts = { waiting, active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
  return { ...counts, total: counts.waiting + counts.active + counts.delayed + counts.completed + counts.failed };
}

/**
 * Jobs completed per second, from the finish times of the last `sample` completed jobs
 * (all workers together), or null with fewer than two.
 */
export async function completionRate(queue: Queue<ColorizeJobData>, sample = 200): Promise<number | null> {
  const jobs = await queue.getCompleted(0, sample - 1);
  const times = jobs.map((j) => j.finishedOn ?? 0).filter((t) => t > 0);
  if (times.length < 2) return null;
  const span = (Math.max(...times) - Math.min(...times)) / 1000;
  return span > 0 ? (times.length - 1) / span : null;
}

export interface FailedJob {
  id: string;
  input: string;
  reason: string;
  attempts: number;
}

export async function failedJobs(queue: Queue<ColorizeJobData>, limit = 1000): Promise<FailedJob[]> {
  const jobs = await queue.getFailed(0, limit - 1);
  return jobs.map((j) => ({
    id: String(j.id),
    input: String(j.data?.input ?? '?'),
    reason: String(j.failedReason ?? '').split('\n')[0],
    attempts: j.attemptsMade,
  }));
}

/** Put the failed jobs back in the queue; returns how many. */
export async function retryFailed(queue: Queue<ColorizeJobData>): Promise<number> {
  const n = (await queue.getJobCounts('failed')).failed ?? 0;
  if (n > 0) await queue.retryJobs({ state: 'failed', count: 1000 });
  return n;
}
