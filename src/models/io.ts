/**
 * Models on disk: the standard TF.js layers format (model.json + weights.bin, loadable by
 * any TF.js, including the browser app) plus our metadata in colorgan.json.
 * Folders are written to a temp folder and renamed into place, so a reader never sees a
 * half-written model. A model is serialized once (modelFiles) and the same bytes can be
 * written to several folders. Metadata is checked when read (readMetadata, folder.ts).
 */
import * as tf from '../util/tf.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MODEL_JSON, WEIGHTS_BIN, METADATA_JSON, type ModelMetadata } from './metadata.js';
import { tempPathFor, writeError } from '../util/atomic.js';

export { MODEL_JSON, WEIGHTS_BIN, METADATA_JSON } from './metadata.js';
export { readMetadata } from './folder.js';

/** Serialize to {model.json, weights.bin} contents. */
export async function serializeModel(model: tf.LayersModel): Promise<{ modelJson: string; weights: Uint8Array }> {
  let out: { modelJson: string; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const weightData = a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]);
      const json = {
        modelTopology: a.modelTopology,
        format: 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: a.weightSpecs }],
      };
      out = { modelJson: JSON.stringify(json), weights: new Uint8Array(weightData ?? new ArrayBuffer(0)) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!out) throw new Error('model.save produced nothing');
  return out;
}

/** Write a folder of files atomically: fill a temp folder, then rename it over `dir`. */
export async function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const tmp = tempPathFor(dir);
  try {
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await fs.mkdir(tmp);
  } catch (err) {
    throw writeError(dir, err);
  }
  try {
    for (const [name, data] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(tmp, name)), { recursive: true });
      await fs.writeFile(path.join(tmp, name), data);
    }
    const old = `${tmp}.old`;
    const hadOld = await fs.rename(dir, old).then(
      () => true,
      () => false,
    );
    await fs.rename(tmp, dir);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw writeError(dir, err);
  }
}

/** A model folder's files by name: model.json, weights.bin and (with metadata) colorgan.json. */
export type ModelFiles = Record<string, string | Uint8Array>;

/** Serialize a model (and its metadata) once; write the result with writeDirAtomic, to as many folders as needed. */
export async function modelFiles(model: tf.LayersModel, meta?: ModelMetadata): Promise<ModelFiles> {
  const { modelJson, weights } = await serializeModel(model);
  const files: ModelFiles = { [MODEL_JSON]: modelJson, [WEIGHTS_BIN]: weights };
  if (meta) files[METADATA_JSON] = `${JSON.stringify(meta, null, 2)}\n`;
  return files;
}

/** The same files under a sub-folder (`generator/model.json`, …). */
export function inFolder(files: ModelFiles, folder: string): ModelFiles {
  return Object.fromEntries(Object.entries(files).map(([name, data]) => [`${folder}/${name}`, data]));
}

export async function saveModel(model: tf.LayersModel, dir: string, meta: ModelMetadata): Promise<void> {
  await writeDirAtomic(dir, await modelFiles(model, meta));
}

/** Load model.json + weights from a folder (Node). */
export async function loadModelFromDir(dir: string): Promise<tf.LayersModel> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(await fs.readFile(jsonPath, 'utf8'));
  } catch (err) {
    throw new Error(`${jsonPath}: cannot read model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(await fs.readFile(path.join(dir, p)));
  }
  const total = buffers.reduce((s, b) => s + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    weightData.set(b, off);
    off += b.byteLength;
  }
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: weightData.buffer }));
}
