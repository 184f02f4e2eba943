/**
 * The option schemas (src/util/options.ts, src/train/options.ts): what is derived from an
 * entry — flags, defaults, usage text, checks, the resume lists, the metadata record —
 * and the wording of their errors. No training here (see lifecycle.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOptions, parseCommandLine, resolveOptions, usageText, UsageError, flagOf } from '../src/util/options.js';
import {
  TRAIN_SCHEMA,
  DEFAULT_TRAIN_OPTIONS,
  FIXED_ON_RESUME,
  CHANGEABLE_ON_RESUME,
  setupTrainOptions,
  mergeResumed,
  trainingRecordOptions,
  checkSavedOptions,
} from '../src/train/options.js';
import { TRAIN_USAGE } from '../src/cli/train.js';
import { COLORIZE_USAGE } from '../src/cli/colorize.js';
import { EVAL_USAGE } from '../src/cli/eval.js';

/** A made-up schema with one option of each type. */
const DEMO = {
  count: { type: 'int', min: 1, default: 3, help: 'how many' },
  gain: { type: 'number', min: 0, max: 2, help: 'how much' },
  name: { type: 'string', required: 'who it is for', help: 'for whom' },
  tags: { type: 'list', flag: 'tag', help: 'labels (repeatable)' },
  mode: { type: 'choice', choices: ['fast', 'slow'], default: 'fast', help: 'how' },
  color: { type: 'boolean', default: true, flag: 'no-color', help: 'plain output' },
  hidden: { type: 'int', flag: false, default: 7, help: 'library only' },
} as const;

test('a command line: values by option name, flags from names, boolean flags switch the default', () => {
  const r = parseCommandLine(DEMO, ['--name', 'ann', '--gain', '1.5', '--tag', 'a', '--tag', 'b', '--mode', 'slow', '--no-color']);
  assert.deepEqual(r.values, { gain: 1.5, name: 'ann', tags: ['a', 'b'], mode: 'slow', color: false });
  assert.equal(r.help, false);
  // Without `defaults` only what was given; with it, every option that has a default.
  assert.deepEqual(parseCommandLine(DEMO, ['--name', 'x'], { defaults: true }).values, { count: 3, name: 'x', mode: 'fast', color: true });
  assert.equal(parseCommandLine(DEMO, ['-h']).help, true);
  assert.equal(flagOf('epochImages', { type: 'int', help: '' }), 'epoch-images');
});

test('command-line errors: one line naming the flag and the text given', () => {
  const cases: [string[], string][] = [
    [[], 'missing --name DIR (who it is for)'],
    [['--name', 'x', '--count', '0'], '--count must be an integer >= 1, got "0"'],
    [['--name', 'x', '--count', '2.5'], '--count must be an integer >= 1, got "2.5"'],
    [['--name', 'x', '--count', ''], '--count must be an integer >= 1, got ""'],
    [['--name', 'x', '--gain', '3'], '--gain must be a number from 0 to 2, got "3"'],
    [['--name', 'x', '--gain', 'lots'], '--gain must be a number from 0 to 2, got "lots"'],
    [['--name', 'x', '--mode', 'medium'], '--mode must be "fast" or "slow", got "medium"'],
    [['--name', 'x', '--hidden', '1'], "Unknown option '--hidden'"],
  ];
  for (const [argv, msg] of cases) {
    assert.throws(
      () => parseCommandLine(DEMO, argv),
      (e: unknown) => e instanceof UsageError && e.message.startsWith(msg),
      `${argv.join(' ')} → ${msg}`,
    );
  }
});

test('library calls: checked by option name, lists may be one string, unknown names refused', () => {
  assert.deepEqual(resolveOptions(DEMO, { name: 'x', tags: 'one' }), { count: 3, mode: 'fast', color: true, hidden: 7, name: 'x', tags: ['one'] });
  assert.throws(() => checkOptions(DEMO, { count: 0 }), /^RangeError: count must be a positive integer, got 0$/);
  assert.throws(() => checkOptions(DEMO, { count: '4' }), /^TypeError: count must be a positive integer, got "4"$/);
  assert.throws(() => checkOptions(DEMO, { mode: 'medium' }), /^RangeError: mode must be "fast" or "slow", got "medium"$/);
  assert.throws(() => checkOptions(DEMO, { cuont: 4 }), /^TypeError: cuont: unknown option/);
  assert.throws(() => resolveOptions(DEMO, {}), /^TypeError: name is required \(who it is for\)$/);
});

test('usage text: every flag with its placeholder, help and default; library-only options absent', () => {
  const u = usageText('demo [options]', DEMO);
  assert.match(u, /^demo \[options\]\n\n/);
  assert.match(u, /^ {2}--count N {9}how many \(default 3\)$/m);
  assert.match(u, /^ {2}--tag DIR {9}labels \(repeatable\)$/m);
  assert.match(u, /^ {2}--no-color {8}plain output$/m);
  assert.doesNotMatch(u, /hidden/);
  for (const line of u.split('\n')) assert.ok(line.length <= 90, line);
});

test('train schema: every flag is in the usage text, with the default the run uses', () => {
  for (const [name, spec] of Object.entries(TRAIN_SCHEMA)) {
    const flag = flagOf(name, spec);
    if (flag === null) {
      assert.doesNotMatch(TRAIN_USAGE, new RegExp(`--${name}\\b`), name);
      continue;
    }
    assert.match(TRAIN_USAGE, new RegExp(`^ {2}--${flag}\\b`, 'm'), flag);
  }
  assert.match(TRAIN_USAGE, /--epochs N {8}total epochs \(default 20\)/);
  assert.match(TRAIN_USAGE, /--threads N/);
  assert.equal(DEFAULT_TRAIN_OPTIONS.epochs, 20);
  assert.equal(DEFAULT_TRAIN_OPTIONS.lr, 2e-4);
  assert.ok(!('data' in DEFAULT_TRAIN_OPTIONS) && !('exclude' in DEFAULT_TRAIN_OPTIONS));
  for (const u of [COLORIZE_USAGE, EVAL_USAGE]) for (const line of u.split('\n')) assert.ok(line.length <= 90, line);
  assert.match(EVAL_USAGE, /--per-source N/);
  assert.match(EVAL_USAGE, /--source NAME/);
});

test('train schema: the resume lists and the metadata record come from the entries', () => {
  assert.deepEqual([...FIXED_ON_RESUME].sort(), [
    'cropFrom',
    'exclude',
    'flip',
    'globalContext',
    'limit',
    'model',
    'ndf',
    'ngf',
    'seed',
    'size',
    'valFraction',
    'zDim',
  ]);
  assert.deepEqual([...CHANGEABLE_ON_RESUME].sort(), [
    'accum',
    'adversarial',
    'balance',
    'batch',
    'beta1',
    'chromaSpread',
    'diversity',
    'epochImages',
    'epochs',
    'featureMatch',
    'l1',
    'l2',
    'lr',
    'psnr',
    'zoom',
  ]);
  const { options } = setupTrainOptions({ data: 'd', out: 'o', init: 'models/sky', exclude: 'scenes/urban', l2: 0.5 });
  assert.deepEqual(options.data, ['d']);
  const rec = trainingRecordOptions(options);
  assert.deepEqual(Object.keys(rec).sort(), [
    'accum',
    'adversarial',
    'balance',
    'batch',
    'beta1',
    'chromaSpread',
    'cropFrom',
    'diversity',
    'epochs',
    'excluded',
    'featureMatch',
    'flip',
    'initFrom',
    'l1',
    'l2',
    'lr',
    'psnr',
    'seed',
    'zoom',
  ]);
  assert.equal(rec.initFrom, 'models/sky');
  assert.deepEqual(rec.excluded, ['scenes/urban']);
  assert.equal(rec.l2, 0.5);
});

test("resume merge: the run's identity from the checkpoint, the schedule from the call where given", () => {
  const given = { data: 'd', out: 'o', resume: true, size: 32, lr: 1e-3 } as const;
  const { options, given: explicit } = setupTrainOptions(given);
  const saved = checkSavedOptions({ size: 16, seed: 9, lr: 5e-4, epochs: 7, batch: 4, someOldOption: 1, resume: true }, 'options.');
  const merged = mergeResumed(options, explicit, saved);
  assert.equal(merged.size, 16, 'fixed: from the checkpoint');
  assert.equal(merged.seed, 9);
  assert.equal(merged.lr, 1e-3, 'changeable and given: from the call');
  assert.equal(merged.epochs, 7, 'changeable, not given: from the checkpoint');
  assert.equal(merged.batch, 4);
  assert.equal(merged.resume, true, 'not recorded: from the call');
  assert.throws(() => checkSavedOptions({ batch: 0 }, 'options.'), /^RangeError: options\.batch must be an integer >= 2, got 0$/);
});

test('train options are checked before anything else, by name', () => {
  const base = { data: 'd', out: 'o' };
  assert.throws(() => setupTrainOptions({ ...base, size: 12 }), /^RangeError: size must be an integer >= 16, got 12$/);
  assert.throws(() => setupTrainOptions({ ...base, size: 20 }), /^RangeError: size must be a multiple of 8, got 20$/);
  assert.throws(() => setupTrainOptions({ ...base, accum: 0 }), /accum must be a positive integer, got 0/);
  assert.throws(() => setupTrainOptions({ ...base, model: 'huge' as 'unet' }), /^RangeError: model must be "baseline", "advanced" or "unet", got "huge"$/);
  assert.throws(() => setupTrainOptions({ ...base, valFraction: 1.5 }), /^RangeError: valFraction must be a number from 0 to 1, got 1.5$/);
  assert.throws(() => setupTrainOptions({ data: 'd' } as typeof base), /^TypeError: out is required/);
});
