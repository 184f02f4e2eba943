/**
 * The optional native addons' loader (Node only; the ground floor: it knows where the
 * addons are and why one is missing, nothing of what they do). Each user declares the
 * part of an addon's interface it calls: backend/native.ts the oneDNN convolutions,
 * infer/native-pixels.ts the pixel loops and the streaming paths.
 *
 * Where an addon comes from, first found first: COLORGAN_NATIVE=0 turns them all off;
 * native/build/ (built from source on this machine by `native/build.mjs`, the install
 * script when the prebuilt ones do not fit); prebuilds/<platform>-<arch>/ (built at pack
 * time, shipped in the package, used when its manifest fits this machine's platform, glibc
 * and CPU); else none, and the JS/wasm code runs.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';

/** The addons and what building each one from source needs (for the reason it is absent). */
const ADDONS = {
  colorgan_dnnl: 'needs g++ and libdnnl-dev',
  colorgan_jpeg: 'needs g++ and libjpeg62-turbo-dev',
  colorgan_vips: "needs g++ and libvips' headers (the devDependency @img/sharp-libvips-dev)",
} as const;

export type AddonName = keyof typeof ADDONS;

/** Where an addon in use came from. */
export type AddonSource = 'source' | 'prebuilt';

/** What `native/build.mjs --prebuild` writes beside the prebuilt addons. */
export interface PrebuildManifest {
  platform: string;
  arch: string;
  libc: string;
  glibc: string;
  cpuFlags: string[];
  libvips: string;
  addons: string[];
  files: string[];
}

const require = createRequire(import.meta.url);

function root(): string | null {
  try {
    return packageRoot();
  } catch {
    return null;
  }
}

/** The prebuilt addons' folder for this platform (it may not exist). */
export function prebuiltDir(): string {
  return path.join(root() ?? '.', 'prebuilds', `${process.platform}-${process.arch}`);
}

/** -1, 0, 1 as dotted version `a` is lower, equal, higher than `b`. */
function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** This process's glibc version, or '' on another C library (musl) or OS. */
function glibcVersion(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? '';
}

/** The CPU's feature flags (Linux /proc/cpuinfo), or null where it cannot be read. */
function cpuFlags(): Set<string> | null {
  try {
    const m = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? new Set(m[1].trim().split(/\s+/)) : null;
  } catch {
    return null;
  }
}

/** What a prebuilt addon's fit is judged on. */
export interface Machine {
  platform: string;
  arch: string;
  /** '' for another C library than glibc. */
  glibc: string;
  /** null where they cannot be read (then not checked). */
  cpuFlags: Set<string> | null;
}

/** This machine. */
export function thisMachine(): Machine {
  return { platform: process.platform, arch: process.arch, glibc: glibcVersion(), cpuFlags: cpuFlags() };
}

/**
 * The prebuilt addons in `dir` (a prebuilds/<platform>-<arch> folder) if they fit `machine`,
 * else null and why not: no manifest, a bad one, another platform, an older glibc, a CPU
 * without a needed feature, a file of the manifest missing.
 */
export function checkPrebuilt(dir: string, machine: Machine): { manifest: PrebuildManifest | null; why: string } {
  const rel = path.join('prebuilds', path.basename(dir));
  const fail = (why: string) => ({ manifest: null, why });
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(file)) return fail(`no prebuilt addons for ${machine.platform}-${machine.arch}`);
  let m: PrebuildManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as PrebuildManifest;
    const ok = typeof m.glibc === 'string' && [m.cpuFlags, m.files, m.addons].every((a) => Array.isArray(a)) && typeof m.libvips === 'string';
    if (!ok) throw new Error('a field is missing or of the wrong type');
  } catch (err) {
    return fail(`${path.join(rel, 'manifest.json')}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (m.platform !== machine.platform || m.arch !== machine.arch) return fail(`${rel} holds addons for ${m.platform}-${m.arch}`);
  if (!machine.glibc) return fail('they need glibc and this system has another C library');
  if (compareVersions(machine.glibc, m.glibc) < 0) return fail(`they need glibc ${m.glibc} or later, this system has ${machine.glibc}`);
  const lacking = machine.cpuFlags ? m.cpuFlags.filter((f) => !machine.cpuFlags?.has(f)) : [];
  if (lacking.length) return fail(`this CPU lacks ${lacking.join(', ')}`);
  const absent = m.files.find((f) => !existsSync(path.join(dir, f)));
  if (absent) return fail(`${path.join(rel, absent)} is missing`);
  return { manifest: m, why: '' };
}

let fit: { manifest: PrebuildManifest | null; why: string } | undefined;

/** The package's prebuilt addons for this machine, checked once. */
function prebuilt(): { manifest: PrebuildManifest | null; why: string } {
  fit ??= checkPrebuilt(prebuiltDir(), thisMachine());
  return fit;
}

/**
 * Why the prebuilt addons do not fit this machine ('' if they do): no prebuilds for the
 * platform, an older glibc, a CPU without a needed feature. `native/build.mjs --optional`
 * (the install script) builds from source only when this is not ''.
 */
export function prebuiltMismatch(): string {
  return prebuilt().why;
}

/**
 * The prebuilt vips addon is linked against one libvips (by its soname): the one in the
 * sharp it was built with. '' when the installed sharp has it; sharp is loaded then, so
 * that the addon finds the library already in the process wherever npm put it.
 */
function sharpLibvipsMismatch(version: string): string {
  const pkg = `@img/sharp-libvips-${process.platform}-${process.arch}/lib`; // exports its folder's path
  let libDir = '';
  for (const from of [createRequire(require.resolve('sharp')), require]) {
    try {
      libDir = from(pkg) as string;
      break;
    } catch {}
  }
  if (!libDir) return `sharp's own libvips (${pkg}) is not installed`;
  if (!existsSync(path.join(libDir, `libvips-cpp.so.${version}`)))
    return `it is linked against sharp's libvips ${version}, which the installed sharp does not have`;
  require('sharp');
  return '';
}

const loaded = new Map<string, { addon: unknown; reason: string; source: AddonSource | null }>();

function tryLoad(file: string): { addon: unknown } | { error: string } {
  try {
    return { addon: require(file) };
  } catch (err) {
    return { error: `could not load ${file}: ${(err as Error).message.split('\n')[0]}` };
  }
}

function load(name: AddonName): { addon: unknown; reason: string; source: AddonSource | null } {
  if (process.env.COLORGAN_NATIVE === '0') return { addon: null, reason: 'disabled by COLORGAN_NATIVE=0', source: null };
  const reasons: string[] = [];
  const r = root();
  const own = r ? path.join(r, 'native', 'build', `${name}.node`) : '';
  if (own && existsSync(own)) {
    const got = tryLoad(own);
    if ('addon' in got) return { addon: got.addon, reason: '', source: 'source' };
    reasons.push(got.error);
  } else {
    reasons.push(`not built from source (node native/build.mjs; ${ADDONS[name]})`);
  }
  const { manifest, why } = prebuilt();
  let prebuiltWhy = why;
  if (manifest && !manifest.addons.includes(name)) prebuiltWhy = 'the prebuilt addons do not include it';
  else if (manifest && name === 'colorgan_vips') prebuiltWhy = sharpLibvipsMismatch(manifest.libvips);
  if (!prebuiltWhy) {
    const got = tryLoad(path.join(prebuiltDir(), `${name}.node`));
    if ('addon' in got) return { addon: got.addon, reason: '', source: 'prebuilt' };
    prebuiltWhy = got.error;
  }
  reasons.push(`prebuilt one not used: ${prebuiltWhy}`);
  return { addon: null, reason: `${name} ${reasons.join('; ')}`, source: null };
}

/**
 * Load a native addon once; null if it is absent, fails to load or COLORGAN_NATIVE=0
 * (the reason is in {@link nativeUnavailableReason}). `T` is the caller's view of it.
 */
export function loadAddon<T>(name: AddonName): T | null {
  let entry = loaded.get(name);
  if (!entry) {
    entry = load(name);
    loaded.set(name, entry);
  }
  return entry.addon as T | null;
}

/** Why an addon is not in use ('' if it loaded, was never asked for or is no addon of ours). */
export function nativeUnavailableReason(name: string = 'colorgan_dnnl'): string {
  return loaded.get(name)?.reason ?? '';
}

/** Where a loaded addon came from (null if it is not in use or was never asked for). */
export function addonSource(name: AddonName): AddonSource | null {
  return loaded.get(name)?.source ?? null;
}

/**
 * One line on the native path, loading each addon: "native: colorgan_dnnl prebuilt,
 * colorgan_jpeg built from source, colorgan_vips off (why)" (COLORGAN_VERBOSE=1 prints it).
 */
export function nativeStatus(): string {
  const parts = (Object.keys(ADDONS) as AddonName[]).map((name) => {
    loadAddon(name);
    const source = addonSource(name);
    if (source)
      return `${name} ${source === 'prebuilt' ? `prebuilt (${path.join('prebuilds', path.basename(prebuiltDir()))})` : 'built from source (native/build)'}`;
    return `${name} off (${nativeUnavailableReason(name).replace(`${name} `, '')})`;
  });
  return `native: ${parts.join(', ')}`;
}
