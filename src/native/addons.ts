/**
 * The optional native addons' loader (Node only; the ground floor: it knows where
 * `native/build.mjs` puts the addons and why one is missing, nothing of what they do).
 * Each user declares the part of an addon's interface it calls: backend/native.ts the
 * oneDNN convolutions, infer/native-pixels.ts the pixel loops and the streaming paths.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';

/** The addons and what building each one needs (for the reason it is absent). */
const ADDONS = {
  colorgan_dnnl: 'needs g++ and libdnnl-dev',
  colorgan_jpeg: 'needs g++ and libjpeg62-turbo-dev',
  colorgan_vips: 'needs g++ and the devDependency @img/sharp-libvips-dev',
} as const;

export type AddonName = keyof typeof ADDONS;

/** Where `native/build.mjs` puts an addon, or '' if it was not built. */
function addonPath(name: AddonName): string {
  let root: string;
  try {
    root = packageRoot();
  } catch {
    return '';
  }
  const p = path.join(root, 'native', 'build', `${name}.node`);
  return existsSync(p) ? p : '';
}

const loaded = new Map<string, { addon: unknown; reason: string }>();

/**
 * Load a native addon once; null if it is absent, fails to load or COLORGAN_NATIVE=0
 * (the reason is in {@link nativeUnavailableReason}). `T` is the caller's view of it.
 */
export function loadAddon<T>(name: AddonName): T | null {
  let entry = loaded.get(name);
  if (!entry) {
    entry = { addon: null, reason: '' };
    const p = addonPath(name);
    if (process.env.COLORGAN_NATIVE === '0') entry.reason = 'disabled by COLORGAN_NATIVE=0';
    else if (!p) entry.reason = `${name} not built (node native/build.mjs; ${ADDONS[name]})`;
    else {
      try {
        entry.addon = createRequire(import.meta.url)(p);
      } catch (err) {
        entry.reason = `could not load ${p}: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    loaded.set(name, entry);
  }
  return entry.addon as T | null;
}

/** Why an addon is not in use ('' if it loaded, was never asked for or is no addon of ours). */
export function nativeUnavailableReason(name: string = 'colorgan_dnnl'): string {
  return loaded.get(name)?.reason ?? '';
}
