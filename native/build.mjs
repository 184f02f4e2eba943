#!/usr/bin/env node
// Builds the optional native addons into native/build/:
//   colorgan_dnnl.node  oneDNN convolutions on the wasm heap + threaded pixel loops
//                       (needs g++ and oneDNN's headers: apt-get install g++ libdnnl-dev)
//   colorgan_jpeg.node  JPEG → JPEG colorization in the DCT domain: the photo's luma
//                       coefficients are kept (apt-get install g++ libjpeg62-turbo-dev)
//   colorgan_vips.node  streaming decode → colorize → encode for large JPEGs, on the
//                       libvips that sharp bundles (needs g++ and the devDependency
//                       @img/sharp-libvips-dev, whose version matches sharp's libvips)
//
//   node native/build.mjs             fail with a message if an addon cannot be built
//   node native/build.mjs --optional  print why an addon was skipped and exit 0 (`prepare`)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const optional = process.argv.includes('--optional');
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

/** Compile one addon to native/build/<name>.node, atomically (a half-written addon is never loaded). */
function build(name, args) {
  const out = path.join(here, 'build', `${name}.node`);
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
  console.error(`colorgan: built ${path.relative(process.cwd(), out)}`);
}

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
    build('colorgan_dnnl', ['-fopenmp', '-I', dnnlInc, path.join(here, 'colorgan_dnnl.cc'), ...(dnnlRoot ? ['-L', path.join(dnnlRoot, 'lib')] : []), '-ldnnl']);

  // libjpeg(-turbo)
  const jpegInc = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu'].find((d) => existsSync(path.join(d, 'jpeglib.h')));
  if (!jpegInc) skip('colorgan_jpeg', 'libjpeg headers not found: apt-get install libjpeg62-turbo-dev');
  else build('colorgan_jpeg', ['-fopenmp', path.join(here, 'colorgan_jpeg.cc'), '-ljpeg']);

  // libvips (sharp's own copy)
  const platform = `${process.platform}-${process.arch}`;
  const devInc = tryRequire('@img/sharp-libvips-dev/include');
  const libDir = tryRequire(`@img/sharp-libvips-${platform}/lib`);
  const so = libDir && existsSync(libDir) ? readdirSync(libDir).find((f) => /^libvips-cpp\.so\./.test(f)) : null;
  if (!devInc) skip('colorgan_vips', 'devDependency @img/sharp-libvips-dev is not installed');
  else if (!libDir || !so) skip('colorgan_vips', `sharp's libvips for ${platform} not found`);
  else {
    // sharp loads this library first; the run paths only matter if the addon is loaded alone.
    const rpath = path.relative(path.join(here, 'build'), libDir);
    build('colorgan_vips', [
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
      `-Wl,-rpath,$ORIGIN/${rpath}`,
    ]);
  }
}
process.exit(failed ? 1 : 0);
