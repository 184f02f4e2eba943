/**
 * The body of one pool worker thread (pool.ts): its own TensorFlow.js backend and model,
 * colorizing one photo at a time. A message in is a task; a message out is its result or
 * its error, classified so that the HTTP service and the queue worker can answer each kind
 * (bad photo, bad option, anything else).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ImageDecodeError, describeBackend, initBackend, loadModel, planColorize } from '../index.js';
import type { PoolTask, WorkerMessage, WorkerSetup, TaskError } from './pool.js';

const setup = workerData as WorkerSetup;
const port = parentPort;
if (!port) throw new Error('pool-worker.ts runs only as a worker thread (src/service/pool.ts)');

function classify(err: unknown): TaskError {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  if (err instanceof ImageDecodeError) return { kind: err.problem, message: err.reason };
  if (err instanceof TypeError || err instanceof RangeError) return { kind: 'bad-option', message };
  return { kind: 'internal', message };
}

async function run(task: PoolTask): Promise<WorkerMessage> {
  const t0 = performance.now();
  const { samples, model, ...options } = task.options;
  const colorizer = await loadModel(model);
  const planned = await planColorize(Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength), samples ?? 1, {
    ...options,
    model: colorizer,
    name: task.name,
  });
  const outputs: Uint8Array[] = [];
  for await (const out of planned.outputs()) outputs.push(ownBuffer(await out.value()));
  return { type: 'done', id: task.id, outputs, plan: planned.plan.kind, seconds: (performance.now() - t0) / 1000 };
}

/** Bytes that own their whole ArrayBuffer, so it can be transferred (a pooled Buffer's slab cannot). */
function ownBuffer(b: Buffer): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

async function main(): Promise<void> {
  try {
    const info = await initBackend({ threads: setup.threads });
    await loadModel(setup.model); // the default model is loaded before the first task arrives
    port?.postMessage({ type: 'ready', backend: describeBackend(info) } satisfies WorkerMessage);
  } catch (err) {
    port?.postMessage({ type: 'fatal', message: String((err as Error)?.message ?? err).split('\n')[0] } satisfies WorkerMessage);
    return;
  }
  port?.on('message', (task: PoolTask) => {
    run(task).then(
      (msg) => port.postMessage(msg, msg.type === 'done' ? msg.outputs.map((o) => o.buffer as ArrayBuffer) : []),
      (err) => port.postMessage({ type: 'failed', id: task.id, error: classify(err) } satisfies WorkerMessage),
    );
  });
}

void main();
