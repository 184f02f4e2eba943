/**
 * Reading a model folder's checked colorgan.json (its file names: metadata.ts). No TensorFlow.js
 * here, so `colorgan web` and the web app's Vite config can read a model folder cheaply
 * (io.ts, which loads and saves the networks, re-exports it).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { METADATA_JSON, parseMetadata, type ModelMetadata } from './metadata.js';

/** A model folder's colorgan.json, checked: a bad one fails with one line naming the file and the field. */
export async function readMetadata(dir: string): Promise<ModelMetadata> {
  const p = path.join(dir, METADATA_JSON);
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(p, 'utf8'));
  } catch (err) {
    throw new Error(`${p}: cannot read model metadata (${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]})`);
  }
  try {
    return parseMetadata(json);
  } catch (err) {
    throw new Error(`${p}: ${(err as Error).message}`);
  }
}
