#!/usr/bin/env node
// Builds the optional oneDNN convolution addon (native/build/colorgan_dnnl.node).
//   node native/build.mjs             fail with a message if it cannot be built
//   node native/build.mjs --optional  print why it was skipped and exit 0 (used by `prepare`)
// Needs a C++ compiler and oneDNN's headers (Debian: apt-get install g++ libdnnl-dev).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const optional = process.argv.includes('--optional');
const out = path.join(here, 'build', 'colorgan_dnnl.node');

function skip(why) {
  if (optional) {
    console.error(`colorgan: native convolutions not built (${why}); the wasm kernels will be used`);
    process.exit(0);
  }
  console.error(`native/build.mjs: ${why}`);
  process.exit(1);
}

if (process.env.COLORGAN_NATIVE === '0') skip('COLORGAN_NATIVE=0');
const dnnlDirs = ['/usr/include', '/usr/local/include', process.env.DNNL_ROOT && path.join(process.env.DNNL_ROOT, 'include')].filter(Boolean);
const dnnlInc = dnnlDirs.find((d) => existsSync(path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
if (!dnnlInc) skip('oneDNN headers not found: apt-get install libdnnl-dev');
// Node-API headers: the ones shipped with this Node, else the node-api-headers package.
const nodeIncs = [path.join(path.dirname(process.execPath), '..', 'include', 'node')];
try {
  const { createRequire } = await import('node:module');
  nodeIncs.push(path.join(path.dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')), 'include'));
} catch {
  /* not installed */
}
const nodeInc = nodeIncs.find((d) => existsSync(path.join(d, 'node_api.h')));
if (!nodeInc) skip('node_api.h not found (install node-api-headers)');
const cxx = process.env.CXX || 'g++';

mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
const libDir = process.env.DNNL_ROOT ? ['-L', path.join(process.env.DNNL_ROOT, 'lib')] : [];
const args = ['-O3', '-std=c++17', '-shared', '-fPIC', '-fopenmp', '-DNODE_GYP_MODULE_NAME=colorgan_dnnl',
  '-I', nodeInc, '-I', dnnlInc, path.join(here, 'colorgan_dnnl.cc'), '-o', tmp, ...libDir, '-ldnnl'];
try {
  execFileSync(cxx, args, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (err) {
  skip(`${cxx} failed: ${err.message.split('\n')[0]}`);
}
renameSync(tmp, out); // atomic: a half-written addon is never loaded
console.error(`colorgan: built ${path.relative(process.cwd(), out)}`);
