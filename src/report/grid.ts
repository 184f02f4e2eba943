/**
 * Image grids like the paper's figures (gray | original | generator output | sharpened),
 * rendered with sharp: cells are pasted into one RGB buffer, column titles are an SVG
 * overlay (librsvg inside sharp draws the text).
 */
import sharp from 'sharp';
import type { RgbImage } from '../color/yuv.js';
import { escapeMarkup } from '../util/text.js';

export interface GridOptions {
  /** Column titles, one per image in a row. */
  titles: string[];
  /** Cell side in pixels; every image is resized (bilinear when enlarging, so raw model output shows its own resolution). */
  cell?: number;
  gap?: number;
  /** Optional label drawn in the bottom-left of each row's first cell. */
  rowLabels?: string[];
}

const HEADER = 26;

async function toCell(img: RgbImage, cell: number): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(cell, cell, { fit: 'fill', kernel: img.width < cell ? 'linear' : 'lanczos3' })
    .raw()
    .toBuffer();
}

export async function renderGrid(rows: RgbImage[][], opts: GridOptions): Promise<Buffer> {
  const cell = opts.cell ?? 128;
  const gap = opts.gap ?? 4;
  const cols = opts.titles.length;
  const width = cols * cell + (cols + 1) * gap;
  const height = HEADER + rows.length * (cell + gap) + gap;
  const canvas = Buffer.alloc(width * height * 3, 255);
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < cols; c++) {
      const px = await toCell(rows[r][c], cell);
      const x0 = gap + c * (cell + gap);
      const y0 = HEADER + r * (cell + gap);
      for (let y = 0; y < cell; y++) px.copy(canvas, ((y0 + y) * width + x0) * 3, y * cell * 3, (y + 1) * cell * 3);
    }
  }
  const texts = opts.titles
    .map(
      (t, c) =>
        `<text x="${gap + c * (cell + gap) + cell / 2}" y="18" text-anchor="middle" font-family="sans-serif" font-size="13" fill="#222">${escapeMarkup(t)}</text>`,
    )
    .concat(
      (opts.rowLabels ?? []).map(
        (l, r) =>
          `<text x="${gap + 3}" y="${HEADER + r * (cell + gap) + cell - 5}" font-family="sans-serif" font-size="10" fill="#fff" stroke="#000" stroke-width="0.4">${escapeMarkup(l)}</text>`,
      ),
    )
    .join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts}</svg>`);
  return sharp(canvas, { raw: { width, height, channels: 3 } })
    .composite([{ input: svg, top: 0, left: 0 }])
    .png()
    .toBuffer();
}
