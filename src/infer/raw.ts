/** The generator's direct output as an RGB image on the model grid (its own Y with its U,V). */
import { gridDims, type GridSize } from './sharpen.js';
import { uvFromNet, yFromNet, yuvToRgbBuffer, type RgbImage } from '../color/yuv.js';

export function rawRgb(yNet: Float32Array, uvNet: Float32Array, grid: GridSize): RgbImage {
  const { gw, gh } = gridDims(grid);
  const n = gw * gh;
  const y = new Float32Array(n),
    u = new Float32Array(n),
    v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = yFromNet(yNet[i]);
    u[i] = uvFromNet(uvNet[2 * i]);
    v[i] = uvFromNet(uvNet[2 * i + 1]);
  }
  return { width: gw, height: gh, data: yuvToRgbBuffer(y, u, v) };
}
