#!/usr/bin/env node
// Builds the optional native addons into native/build/:
//   colorgan_dnnl.node  oneDNN convolutions on the wasm heap, the generator's inference
//                       as one native graph (dnnl_graph.cc) + threaded pixel loops
//                       (needs g++ and oneDNN's headers: apt-get install g++ libdnnl-dev)
//   colorgan_jpeg.node  JPEG → JPEG colorization in the DCT domain: the photo's luma
//                       coefficients are kept (apt-get install g++ libjpeg62-turbo-dev)
//   colorgan_vips.node  streaming decode → colorize → encode for large JPEGs, on the
//                       libvips that sharp bundles (needs g++ and the devDependency
//                       @img/sharp-libvips-dev, whose version matches sharp's libvips);
//                       its PNG deflate runs on Node's own zlib (the symbols node exports:
//                       nothing to link or ship; zlib.h from Node's headers, else libvips')
//
//   node native/build.mjs             fail with a message if an addon cannot be built
//   node native/build.mjs --optional  the install script: in an installed package nothing to do when the
//                                     shipped prebuilt addons fit this machine; otherwise
//                                     build what it can, print why an addon was skipped, exit 0
//   node native/build.mjs --prebuild  `prepack`: all three into prebuilds/<platform>-<arch>/
//                                     for other machines: oneDNN, the OpenMP runtime and
//                                     OpenCL loader and libjpeg-turbo copied beside (found
//                                     through $ORIGIN), libvips taken from the installed
//                                     sharp; manifest.json says what they need
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const optional = process.argv.includes('--optional');
const prebuild = process.argv.includes('--prebuild');
const platform = `${process.platform}-${process.arch}`;
const outDir = prebuild ? path.join(here, '..', 'prebuilds', platform) : path.join(here, 'build');
const require = createRequire(import.meta.url);
const cxx = process.env.CXX || 'g++';
let failed = false;

/** The value a package subpath exports (these export their folder's path), or null. */
function tryRequire(name) {
  try {
    return require(name);
  } catch {
    return null;
  }
}

function pkgDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

// Node-API headers: the ones shipped with this Node, else the node-api-headers package.
function nodeInclude() {
  const dirs = [path.join(path.dirname(process.execPath), '..', 'include', 'node')];
  const pkg = pkgDir('node-api-headers');
  if (pkg) dirs.push(path.join(pkg, 'include'));
  return dirs.find((d) => existsSync(path.join(d, 'node_api.h')));
}

function skip(name, why) {
  if (optional) {
    console.error(`colorgan: ${name} not built (${why}); the JS/wasm code is used instead`);
  } else {
    console.error(`native/build.mjs: ${name}: ${why}`);
    failed = true;
  }
}

/** Compile one addon to <outDir>/<name>.node, atomically (a half-written addon is never loaded). */
function build(name, args) {
  const out = path.join(outDir, `${name}.node`);
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const common = ['-O3', '-fno-trapping-math', '-std=c++17', '-shared', '-fPIC', `-DNODE_GYP_MODULE_NAME=${name}`];
  try {
    execFileSync(cxx, [...common, '-I', nodeInc, ...args, '-o', tmp], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    skip(name, `${cxx} failed: ${err.message.split('\n')[0]}`);
    return;
  }
  renameSync(tmp, out);
  built.push(out);
  console.error(`colorgan: built ${path.relative(process.cwd(), out)}`);
}
const built = [];

/** Link flags that make a prebuilt addon find the libraries copied beside it. DT_RPATH (not
 * RUNPATH) so that the copied libdnnl's own needs (libgomp, libOpenCL) are looked up there too. */
const besideFlags = prebuild ? ['-Wl,--disable-new-dtags', '-Wl,-rpath,$ORIGIN'] : [];

/** Copy the shared libraries `file` needs whose sonames are in `names` next to it (as ldd resolves them). */
function copyBeside(file, names) {
  const ldd = execFileSync('ldd', [file], { encoding: 'utf8' });
  for (const soname of names) {
    const m = new RegExp(`^\\s*${soname.replace(/\./g, '\\.')} => (\\S+)`, 'm').exec(ldd);
    if (!m) throw new Error(`${path.basename(file)} does not resolve ${soname} (ldd: ${ldd.trim().split('\n').join('; ')})`);
    const dest = path.join(path.dirname(file), soname);
    if (path.resolve(m[1]) !== dest) copyFileSync(realpathSync(m[1]), dest);
  }
}

/** The highest GLIBC_x.y symbol version a binary asks for (the strings its version needs name). */
function glibcNeeded(file) {
  let best = [0, 0];
  for (const m of readFileSync(file)
    .toString('latin1')
    .matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v = [Number(m[1]), Number(m[2])];
    if (v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
  }
  return best.join('.');
}

/** Debian's copyright file of each package a copied library comes from, into licenses/ (see NOTICE.md). */
function copyLicenses() {
  const dir = path.join(outDir, 'licenses');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(outDir).filter((n) => /\.so\.\d+$/.test(n))) {
    let pkg;
    try {
      const owner = execFileSync('dpkg', ['-S', f], { encoding: 'utf8' });
      pkg = /^([^:\s]+)/.exec(owner)?.[1];
    } catch {
      pkg = undefined;
    }
    const copyright = pkg && `/usr/share/doc/${pkg}/copyright`;
    if (!copyright || !existsSync(copyright)) throw new Error(`the license of ${f} not found (dpkg -S ${f}): a prebuild needs Debian's copyright files`);
    copyFileSync(copyright, path.join(dir, `${pkg}.copyright`));
  }
}

/** The prebuilt addons' manifest: what they need of the machine (checked by src/native/addons.ts). */
function writePrebuildManifest() {
  const byName = Object.fromEntries(built.map((f) => [path.basename(f, '.node'), f]));
  // libdnnl.so.2 needs the GNU OpenMP runtime and the OpenCL loader; the JPEG addon OpenMP too.
  copyBeside(byName.colorgan_dnnl, ['libdnnl.so.2', 'libgomp.so.1', 'libOpenCL.so.1']);
  copyBeside(byName.colorgan_jpeg, ['libjpeg.so.62']);
  copyLicenses();
  const files = readdirSync(outDir).filter((f) => f !== 'manifest.json' && f !== 'licenses');
  const glibc = files
    .map((f) => glibcNeeded(path.join(outDir, f)))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .at(-1);
  const vipsSo = readdirSync(tryRequire(`@img/sharp-libvips-${platform}/lib`)).find((f) => /^libvips-cpp\.so\./.test(f));
  const manifest = {
    platform: process.platform,
    arch: process.arch,
    libc: 'glibc',
    glibc, // the highest GLIBC_ symbol version any of the files needs
    cpuFlags: ['sse2'], // compiled for baseline x86-64; oneDNN and libjpeg-turbo pick their kernels at run time
    libvips: vipsSo.replace(/^libvips-cpp\.so\./, ''), // sharp's libvips the vips addon is linked against
    addons: Object.keys(byName).sort(),
    files: [...files.sort(), ...readdirSync(path.join(outDir, 'licenses')).map((f) => `licenses/${f}`)],
  };
  const out = path.join(outDir, 'manifest.json');
  writeFileSync(`${out}.tmp-${process.pid}`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${out}.tmp-${process.pid}`, out);
  console.error(`colorgan: prebuilt ${manifest.addons.join(', ')} for ${platform} (glibc ≥ ${glibc}) in ${path.relative(process.cwd(), outDir)}`);
}

// The install script of an installed colorgan (no src/: a clone always builds from source):
// nothing to build when the prebuilt addons fit.
const installed = !existsSync(path.join(here, '..', 'src'));
if (optional && installed && !prebuild && process.env.COLORGAN_NATIVE !== '0') {
  const loader = path.join(here, '..', 'dist', 'src', 'native', 'addons.js');
  if (existsSync(loader)) {
    const { prebuiltMismatch } = await import(pathToFileURL(loader).href);
    const why = prebuiltMismatch();
    if (!why) {
      console.error(`colorgan: using the prebuilt native addons for ${platform} (prebuilds/${platform}); nothing to build`);
      process.exit(0);
    }
    console.error(`colorgan: the prebuilt native addons do not fit (${why}); building from source`);
  }
}

if (prebuild) rmSync(outDir, { recursive: true, force: true });
const nodeInc = nodeInclude();
if (process.env.COLORGAN_NATIVE === '0') {
  skip('native addons', 'COLORGAN_NATIVE=0');
} else if (!nodeInc) {
  skip('native addons', 'node_api.h not found (npm install node-api-headers)');
} else {
  // oneDNN
  const dnnlRoot = process.env.DNNL_ROOT;
  const dnnlInc = ['/usr/include', '/usr/local/include', dnnlRoot && path.join(dnnlRoot, 'include')]
    .filter(Boolean)
    .find((d) => existsSync(path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
  if (!dnnlInc) skip('colorgan_dnnl', 'oneDNN headers not found: apt-get install libdnnl-dev');
  else
    build('colorgan_dnnl', [
      '-fopenmp',
      '-I',
      dnnlInc,
      path.join(here, 'colorgan_dnnl.cc'),
      path.join(here, 'dnnl_graph.cc'),
      path.join(here, 'train_kernels.cc'),
      ...(dnnlRoot ? ['-L', path.join(dnnlRoot, 'lib')] : []),
      '-ldnnl',
      ...besideFlags,
    ]);

  // libjpeg(-turbo)
  const jpegInc = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu'].find((d) => existsSync(path.join(d, 'jpeglib.h')));
  if (!jpegInc) skip('colorgan_jpeg', 'libjpeg headers not found: apt-get install libjpeg62-turbo-dev');
  // Debian's libjpeg.a is not position-independent code, so a prebuilt addon cannot link it
  // in statically: libjpeg.so.62 is copied beside it instead (writePrebuildManifest).
  else build('colorgan_jpeg', ['-fopenmp', path.join(here, 'colorgan_jpeg.cc'), '-ljpeg', ...besideFlags]);

  // libvips (sharp's own copy)
  const devInc = tryRequire('@img/sharp-libvips-dev/include');
  const libDir = tryRequire(`@img/sharp-libvips-${platform}/lib`);
  const so = libDir && existsSync(libDir) ? readdirSync(libDir).find((f) => /^libvips-cpp\.so\./.test(f)) : null;
  if (!devInc)
    skip(
      'colorgan_vips',
      "libvips' headers not found: only a clone of colorgan has them (its devDependency @img/sharp-libvips-dev); an installed package uses its prebuilt addon",
    );
  else if (!libDir || !so) skip('colorgan_vips', `sharp's libvips for ${platform} not found`);
  else {
    // sharp loads this library first (src/native/addons.ts makes sure); the run paths only
    // matter if the addon is loaded alone. A prebuilt one looks where npm puts sharp's
    // libvips beside or inside the installed colorgan.
    const rpaths = prebuild
      ? ['$ORIGIN/../../../@img/sharp-libvips-linux-x64/lib', '$ORIGIN/../../node_modules/@img/sharp-libvips-linux-x64/lib']
      : [`$ORIGIN/${path.relative(outDir, libDir)}`];
    build('colorgan_vips', [
      '-pthread',
      '-I',
      devInc,
      '-I',
      path.join(devInc, 'glib-2.0'),
      '-I',
      path.join(libDir, 'glib-2.0', 'include'),
      path.join(here, 'colorgan_vips.cc'),
      '-L',
      libDir,
      `-l:${so}`,
      ...rpaths.map((r) => `-Wl,-rpath,${r}`),
    ]);
  }
}
if (prebuild && !failed) writePrebuildManifest();
process.exit(failed ? 1 : 0);
