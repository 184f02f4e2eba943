/** The generator's direct output as an RGB image at model size (its own Y with its U,V). */
import { uvFromNet, yFromNet, yuvToRgbBuffer, type RgbImage } from '../color/yuv.js';

export function rawRgb(yNet: Float32Array, uvNet: Float32Array, size: number): RgbImage {
  const n = size * size;
  const y = new Float32Array(n), u = new Float32Array(n), v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = yFromNet(yNet[i]);
    u[i] = uvFromNet(uvNet[2 * i]);
    v[i] = uvFromNet(uvNet[2 * i + 1]);
  }
  return { width: size, height: size, data: yuvToRgbBuffer(y, u, v) };
}
