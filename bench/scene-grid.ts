/**
 * A grid of chosen photos, one per row: gray input | colorized | original, each at the
 * same height with its own aspect (docs/general-scenes.jpg). The photos are colorized
 * exactly as `colorgan colorize` does (gray version of the photo, seed 0).
 *
 *   node --import tsx bench/scene-grid.ts --out docs/general-scenes.jpg [--model DIR]
 *        [--height 180] FILE...
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadModel } from '../src/infer/node.js';
import { colorizeImage } from '../src/infer/colorizer.js';
import { decodeImage } from '../src/data/decode.js';
import { grayscaleRgb, type RgbImage } from '../src/color/yuv.js';

const { values: v, positionals: files } = parseArgs({
  options: { out: { type: 'string' }, model: { type: 'string' }, height: { type: 'string', default: '180' } },
  allowPositionals: true,
});
if (!v.out || files.length === 0) throw new Error('usage: scene-grid.ts --out FILE.jpg [--model DIR] FILE...');
const H = Number(v.height);
const GAP = 6;
const model = await loadModel(v.model);

async function scaled(img: RgbImage): Promise<{ w: number; data: Buffer }> {
  const w = Math.round((img.width * H) / img.height);
  const data = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, H)
    .raw()
    .toBuffer();
  return { w, data };
}

const rows: { w: number; data: Buffer }[][] = [];
for (const f of files) {
  const original = await decodeImage(f);
  const gray = grayscaleRgb(original);
  const { rgb } = colorizeImage(model, gray);
  rows.push(await Promise.all([gray, rgb, original].map(scaled)));
}
const width = Math.max(...rows.map((r) => r.reduce((a, c) => a + c.w, 0) + GAP * (r.length + 1)));
const height = rows.length * (H + GAP) + GAP;
const canvas = Buffer.alloc(width * height * 3, 255);
rows.forEach((r, ri) => {
  let x0 = GAP;
  const y0 = GAP + ri * (H + GAP);
  for (const cell of r) {
    for (let y = 0; y < H; y++) cell.data.copy(canvas, ((y0 + y) * width + x0) * 3, y * cell.w * 3, (y + 1) * cell.w * 3);
    x0 += cell.w + GAP;
  }
});
await sharp(canvas, { raw: { width, height, channels: 3 } })
  .jpeg({ quality: 88 })
  .toFile(v.out);
console.log(`${v.out}: ${rows.length} rows (gray | ${model.source} | original), ${width}×${height}`);
