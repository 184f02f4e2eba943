/** A model's colorgan.json is checked when read: the bundled ones pass, each kind of damage is one line naming the file and the field. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { readMetadata } from '../src/models/io.js';
import { checkColorizer, checkRefineStage, generatorMetadata } from '../src/models/metadata.js';

const MODELS = path.join(import.meta.dirname, '..', 'models');
let tmp: string;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-metadata-'));
});

test('model metadata is checked when read: one line naming the file and the field', async () => {
  for (const name of ['general', 'sky']) {
    const meta = await readMetadata(path.join(MODELS, name));
    assert.equal(meta.format, 'colorgan-generator');
  }
  const good = JSON.parse(await fs.readFile(path.join(MODELS, 'general', 'colorgan.json'), 'utf8'));
  const cases: [string, object, string][] = [
    ['size', { ...good, config: { ...good.config, size: '64' } }, 'config.size must be an integer >= 16, got "64"'],
    ['arch', { ...good, config: { ...good.config, arch: 'resnet' } }, 'config.arch must be one of baseline, advanced, unet, refine, got "resnet"'],
    ['format', { ...good, format: 'keras' }, 'format must be "colorgan-generator" or "colorgan-discriminator", got "keras"'],
    ['version', { ...good, formatVersion: 2 }, 'formatVersion must be 1, got 2'],
    ['upsample', { ...good, inference: { upsample: 'nearest' } }, 'inference.upsample must be "bilinear" or "guided", got "nearest"'],
    ['saturation', { ...good, inference: { saturation: 5 } }, 'inference.saturation must be a number from 0 to 4, got 5'],
    [
      'training',
      { ...good, training: { ...good.training, epochs: [1] } },
      'training.epochs must be a string, number, boolean or list of strings, got an array',
    ],
    ['sources', { ...good, training: { ...good.training, sources: { a: 'many' } } }, 'training.sources.a must be a number, got "many"'],
    ['metrics', { ...good, metrics: { valL1: null } }, 'metrics.valL1 must be a number, got null'],
    ['missing', { ...good, colorEncoding: undefined }, 'colorEncoding must be a string, got nothing'],
    ['not an object', [1, 2], 'the metadata must be a JSON object, got an array'],
  ];
  for (const [name, json, msg] of cases) {
    const dir = path.join(tmp, `meta-${name.replace(/ /g, '-')}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'colorgan.json'), JSON.stringify(json));
    await assert.rejects(readMetadata(dir), (e: unknown) => {
      assert.equal((e as Error).message, `${path.join(dir, 'colorgan.json')}: ${msg}`, name);
      return true;
    });
  }
});

test('a folder listed as a refinement stage must be one; a stage is not a colorizer (the checks Node and the web app share)', () => {
  const base = generatorMetadata({ arch: 'unet', size: 64, ngf: 8, ndf: 8, zDim: 4, bnMomentum: 0.9 });
  const stage = generatorMetadata({ arch: 'refine', size: 128, ngf: 8, ndf: 8, zDim: 1, bnMomentum: 0.9 });
  checkRefineStage(stage, 'm/refine-1', 'm/colorgan.json');
  assert.throws(
    () => checkRefineStage(base, 'm/refine-1', 'm/colorgan.json'),
    (e: Error) => e.message === 'm/refine-1: listed as a refinement stage in m/colorgan.json, but its config.arch is "unet"',
  );
  assert.throws(
    () => checkRefineStage({ ...stage, format: 'colorgan-discriminator' }, 'm/refine-1', 'm/colorgan.json'),
    /^Error: m\/refine-1: listed as a refinement stage in m\/colorgan\.json, but its format is "colorgan-discriminator"$/,
  );
  checkColorizer(base, 'm');
  assert.throws(() => checkColorizer(stage, 'm/refine-1'), /^Error: m\/refine-1: a refinement stage, not a colorizer/);
});
