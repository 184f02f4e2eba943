#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled library (dist/src/cli/main.js).
import { main } from '../dist/src/cli/main.js';
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`colorgan: ${err?.message ? err.message : err}`);
    process.exitCode = 1;
  },
);
