/**
 * Option schemas: each option is one entry (type, default, range or choices, command-line
 * flag, help), and everything else is derived from the schema — the TypeScript types of
 * the options (a schema written `as const` is read by the mapped types below), their
 * defaults, the node:util parseArgs table, the usage text and the validation, of library
 * calls and of command lines alike. train, colorize and eval each have a schema
 * (src/train/options.ts, src/cli/colorize.ts, src/cli/eval.ts).
 *
 * Flags: an option's flag is its name in kebab-case unless `flag` says otherwise (`false`:
 * no flag, library only). A boolean flag switches its option away from its default:
 * `--resume` (default false) sets true, `--no-flip` (default true) sets false.
 */
import { parseArgs } from 'node:util';
import { closestWord } from './text.js';

export type OptionType = 'int' | 'number' | 'string' | 'boolean' | 'list' | 'choice';

export interface OptionSpec {
  readonly type: OptionType;
  /** What the option does, for the usage text (wrapped there; no line breaks needed). */
  readonly help: string;
  /** The flag without "--" (default: the name in kebab-case); false: a library option only. */
  readonly flag?: string | false;
  readonly short?: string;
  /** The value's placeholder in the usage text (default: N for int, X for number, M for choice, DIR for string and list). */
  readonly arg?: string;
  readonly default?: number | string | boolean;
  /** The usage text's words for a default that is not a fixed value ("the model's"). */
  readonly defaultText?: string;
  /** The option must be given; this says what it is for, in the error when it is missing. */
  readonly required?: string;
  readonly min?: number;
  readonly max?: number;
  readonly multipleOf?: number;
  /** The allowed values of a choice. */
  readonly choices?: readonly string[];
  /** A choice flag's text is passed through this before matching (case, aliases). */
  readonly normalize?: (text: string) => string;
  /** A bad choice reads `unknown <unknownAs> "x" (expected a, b, c)` instead of `--flag must be "a" or "b", got "x"`. */
  readonly unknownAs?: string;
}

export type Schema = Readonly<Record<string, OptionSpec>>;

/** A usage error of a command line: main prints it as one line and exits 2. */
export class UsageError extends Error {}

// ---------------------------------------------------------------------------------------
// Types derived from a schema

export type ValueOf<S extends OptionSpec> = S['type'] extends 'int' | 'number'
  ? number
  : S['type'] extends 'boolean'
    ? boolean
    : S['type'] extends 'list'
      ? string[]
      : S['type'] extends 'choice'
        ? S extends { readonly choices: readonly (infer C)[] }
          ? C
          : string
        : string;

/** A library caller may give a list as one string. */
type InputValueOf<S extends OptionSpec> = S['type'] extends 'list' ? string | string[] : ValueOf<S>;

type IsRequired<S> = S extends { readonly required: string } ? true : false;
type IsAlwaysSet<S> = S extends { readonly default: unknown } ? true : IsRequired<S>;
type HasFlag<S> = S extends { readonly flag: false } ? false : true;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The options after defaults: an option with a default (or required) is always there. */
export type OptionsOf<Sc extends Schema> = Simplify<
  { -readonly [K in keyof Sc as IsAlwaysSet<Sc[K]> extends true ? K : never]: ValueOf<Sc[K]> } & {
    -readonly [K in keyof Sc as IsAlwaysSet<Sc[K]> extends true ? never : K]?: ValueOf<Sc[K]>;
  }
>;

/** What a library caller passes: the required options, any others. */
export type InputOf<Sc extends Schema> = Simplify<
  { -readonly [K in keyof Sc as IsRequired<Sc[K]> extends true ? K : never]: InputValueOf<Sc[K]> } & {
    -readonly [K in keyof Sc as IsRequired<Sc[K]> extends true ? never : K]?: InputValueOf<Sc[K]>;
  }
>;

/** The options that have a default, with it. */
export type DefaultsOf<Sc extends Schema> = Simplify<{
  -readonly [K in keyof Sc as Sc[K] extends { readonly default: unknown } ? K : never]: ValueOf<Sc[K]>;
}>;

/** A command line's values, by option name: the flags given (and the defaults, if asked for). */
export type FlagsOf<Sc extends Schema, WithDefaults extends boolean> = Simplify<
  {
    -readonly [K in keyof Sc as HasFlag<Sc[K]> extends true
      ? (WithDefaults extends true ? IsAlwaysSet<Sc[K]> : IsRequired<Sc[K]>) extends true
        ? K
        : never
      : never]: ValueOf<Sc[K]>;
  } & {
    -readonly [K in keyof Sc as HasFlag<Sc[K]> extends true
      ? (WithDefaults extends true ? IsAlwaysSet<Sc[K]> : IsRequired<Sc[K]>) extends true
        ? never
        : K
      : never]?: ValueOf<Sc[K]>;
  }
>;

/** Names of the options whose entries match `Where` (e.g. `{ resume: 'fixed' }`). */
export type KeysWhere<Sc extends Schema, Where> = { [K in keyof Sc]: Sc[K] extends Where ? K : never }[keyof Sc] & string;

// ---------------------------------------------------------------------------------------
// Reading a schema

export function entriesOf<Sc extends Schema>(schema: Sc): [keyof Sc & string, Sc[keyof Sc]][] {
  return Object.entries(schema) as [keyof Sc & string, Sc[keyof Sc]][];
}

/** The names of the options whose entries have the fields of `where` (e.g. `{ resume: 'fixed' }`), in schema order. */
export function keysWhere<Sc extends Schema, const Where extends object>(schema: Sc, where: Where): KeysWhere<Sc, Where>[] {
  const want = Object.entries(where);
  return entriesOf(schema)
    .filter(([, s]) => {
      const fields = new Map<string, unknown>(Object.entries(s));
      return want.every(([f, v]) => fields.get(f) === v);
    })
    .map(([k]) => k as KeysWhere<Sc, Where>);
}

export function defaultsOf<Sc extends Schema>(schema: Sc): DefaultsOf<Sc> {
  return Object.fromEntries(entriesOf(schema).flatMap(([k, s]) => (s.default === undefined ? [] : [[k, s.default]]))) as DefaultsOf<Sc>;
}

/** The value's placeholder in usage and messages ("" for a boolean flag). */
function placeholderOf(spec: OptionSpec): string {
  if (spec.type === 'boolean') return '';
  return spec.arg ?? { int: 'N', number: 'X', choice: 'M', string: 'DIR', list: 'DIR' }[spec.type];
}

/** The option's flag without "--", or null for a library-only option. */
export function flagOf(name: string, spec: OptionSpec): string | null {
  if (spec.flag === false) return null;
  return spec.flag ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

// ---------------------------------------------------------------------------------------
// Validation

/** A value as an error message shows it: numbers as they are, strings quoted. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return String(v);
  return `${typeof v} ${String(v)}`;
}

function rangeWords(spec: OptionSpec): string {
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

/**
 * What a value must be, in words. Library messages say "a positive integer" where flag
 * messages say "an integer >= 1" (both wordings are what users and tests know).
 */
function expected(spec: OptionSpec, forLibrary: boolean): string {
  switch (spec.type) {
    case 'int':
      if (forLibrary && spec.min === 1 && spec.max === undefined) return 'a positive integer';
      return `an integer${rangeWords(spec)}`;
    case 'number':
      return `a number${rangeWords(spec)}`;
    case 'boolean':
      return 'a boolean';
    case 'string':
      return 'a string';
    case 'list':
      return 'a list of strings';
    case 'choice': {
      const c = (spec.choices ?? []).map((x) => JSON.stringify(x));
      return c.length > 1 ? `${c.slice(0, -1).join(', ')} or ${c[c.length - 1]}` : (c[0] ?? 'nothing');
    }
  }
}

/** Why `v` is not a value of `spec` (the words after "must be"), or null if it is one. */
function problem(spec: OptionSpec, v: unknown, forLibrary: boolean): { kind: 'type' | 'range'; words: string } | null {
  const bad = (kind: 'type' | 'range', words = expected(spec, forLibrary)) => ({ kind, words });
  switch (spec.type) {
    case 'int':
    case 'number': {
      if (typeof v !== 'number') return bad('type');
      const ok = spec.type === 'int' ? Number.isInteger(v) : Number.isFinite(v);
      if (!ok || (spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) return bad('range');
      if (spec.multipleOf !== undefined && v % spec.multipleOf !== 0) return bad('range', `a multiple of ${spec.multipleOf}`);
      return null;
    }
    case 'boolean':
      return typeof v === 'boolean' ? null : bad('type');
    case 'string':
      return typeof v === 'string' ? null : bad('type');
    case 'list':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : bad('type');
    case 'choice':
      if (typeof v !== 'string') return bad('type');
      return (spec.choices ?? []).includes(v) ? null : bad('range');
  }
}

/**
 * Check the options a library function was given, by name (`batch must be an integer >= 2,
 * got 0`): unknown names, wrong types and values out of range throw one line. Lists given
 * as one string become one-element lists. Absent (or undefined) options stay absent.
 */
export function checkOptions<Sc extends Schema>(schema: Sc, given: object, prefix = ''): Partial<OptionsOf<Sc>> {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(given)) {
    const spec = Object.hasOwn(schema, k) ? schema[k] : undefined;
    if (!spec) throw new TypeError(`${prefix}${k}: unknown option (options: ${Object.keys(schema).join(', ')})`);
    if (raw === undefined) continue;
    const v = spec.type === 'list' && typeof raw === 'string' ? [raw] : raw;
    const p = problem(spec, v, true);
    if (p) {
      const msg = `${prefix}${k} must be ${p.words}, got ${describeValue(v)}`;
      throw p.kind === 'type' ? new TypeError(msg) : new RangeError(msg);
    }
    out[k] = v;
  }
  return out as Partial<OptionsOf<Sc>>;
}

/** Every required option is there (a library call that lacks one throws a TypeError). */
export function checkRequired<Sc extends Schema>(schema: Sc, given: object, prefix = ''): void {
  const has = new Map(Object.entries(given));
  for (const [k, s] of entriesOf(schema)) {
    if (s.required !== undefined && has.get(k) === undefined) throw new TypeError(`${prefix}${k} is required (${s.required})`);
  }
}

/** Defaults, then the checked options: the options a library function runs with. */
export function resolveOptions<Sc extends Schema>(schema: Sc, given: object, prefix = ''): OptionsOf<Sc> {
  checkRequired(schema, given, prefix);
  return { ...defaultsOf(schema), ...checkOptions(schema, given, prefix) } as OptionsOf<Sc>;
}

// ---------------------------------------------------------------------------------------
// Command lines

type ParseArgsOption = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

/** The node:util parseArgs table of a schema's flags (and --help, -h). */
export function parseArgsTable(schema: Schema): Record<string, ParseArgsOption> {
  const table: Record<string, ParseArgsOption> = {};
  for (const [k, s] of entriesOf(schema)) {
    const flag = flagOf(k, s);
    if (flag === null) continue;
    table[flag] = {
      type: s.type === 'boolean' ? 'boolean' : 'string',
      ...(s.type === 'list' ? { multiple: true } : {}),
      ...(s.short ? { short: s.short } : {}),
    };
  }
  table.help = { type: 'boolean', short: 'h' };
  return table;
}

/** parseArgs' "Unknown option '--frmat'. …" with the closest flag: "Unknown option '--frmat'; did you mean --format?". */
function withSuggestion(message: string, flags: string[]): string {
  const m = /^Unknown option '--([^'=]+)'/.exec(message);
  const near = m ? closestWord(m[1]!, flags) : null;
  return near ? `Unknown option '--${m![1]}'; did you mean --${near}?` : message;
}

/** A flag's text as the option's value, or a usage error naming the flag and the text. */
function flagValue(flag: string, spec: OptionSpec, raw: string | boolean | string[]): unknown {
  if (spec.type === 'boolean') return !(spec.default ?? false);
  if (spec.type === 'list' || spec.type === 'string') return raw;
  const text = String(raw);
  if (spec.type === 'choice' && spec.unknownAs && !(spec.choices ?? []).includes(spec.normalize ? spec.normalize(text) : text)) {
    throw new UsageError(`unknown ${spec.unknownAs} "${text}" (expected ${(spec.choices ?? []).join(', ')})`);
  }
  return valueOfText(`--${flag}`, spec, text);
}

/**
 * A value given as text (a flag's, or an HTTP query parameter's) as the option's value, or
 * a UsageError `LABEL must be …, got "text"`.
 */
export function valueOfText(label: string, spec: OptionSpec, text: string): unknown {
  if (spec.type === 'boolean') {
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw new UsageError(`${label} must be true or false, got "${text}"`);
  }
  if (spec.type === 'string') return text;
  if (spec.type === 'list') return text.split(',');
  if (spec.type === 'choice') {
    const v = spec.normalize ? spec.normalize(text) : text;
    if ((spec.choices ?? []).includes(v)) return v;
    throw new UsageError(`${label} must be ${expected(spec, false)}, got "${text}"`);
  }
  const n = text.trim() === '' ? NaN : Number(text);
  const p = problem(spec, n, false);
  if (p) throw new UsageError(`${label} must be ${p.words}, got "${text}"`);
  return n;
}

export interface ParsedCommandLine<V> {
  values: V;
  positionals: string[];
  /** --help or -h was given (nothing else is checked then). */
  help: boolean;
}

export interface CommandLineOptions<WithDefaults extends boolean> {
  /** Allow positional arguments; the text is the usage error when none is given. */
  positionals?: string;
  /** Fill in the defaults (commands whose library call does not apply them itself). */
  defaults?: WithDefaults;
}

/**
 * Parse a command line with a schema: values by option name, checked (one usage line per
 * problem: a missing required flag, then each bad value, in schema order). Options whose
 * flag was not given are absent unless `defaults` is set.
 */
export function parseCommandLine<Sc extends Schema, WithDefaults extends boolean = false>(
  schema: Sc,
  argv: string[],
  how: CommandLineOptions<WithDefaults> = {},
): ParsedCommandLine<FlagsOf<Sc, WithDefaults>> {
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  const table = parseArgsTable(schema);
  try {
    parsed = parseArgs({ args: argv, options: table, allowPositionals: how.positionals !== undefined, strict: true });
  } catch (err) {
    throw new UsageError(withSuggestion((err as Error).message.split('\n')[0]!, Object.keys(table)));
  }
  const { values: raw, positionals } = parsed;
  const values: Record<string, unknown> = {};
  if (raw.help) return { values: values as FlagsOf<Sc, WithDefaults>, positionals, help: true };
  if (how.positionals !== undefined && positionals.length === 0) throw new UsageError(how.positionals);
  for (const [k, s] of entriesOf(schema)) {
    const flag = flagOf(k, s);
    if (flag === null) continue;
    const r = raw[flag];
    if ((r === undefined || (Array.isArray(r) && r.length === 0)) && s.required !== undefined) {
      throw new UsageError(`missing --${flag} ${placeholderOf(s)} (${s.required})`.replace('  ', ' '));
    }
  }
  for (const [k, s] of entriesOf(schema)) {
    const flag = flagOf(k, s);
    if (flag === null) continue;
    const r = raw[flag];
    if (r !== undefined) values[k] = flagValue(flag, s, r as string | boolean | string[]);
    else if (how.defaults && s.default !== undefined) values[k] = s.default;
  }
  return { values: values as FlagsOf<Sc, WithDefaults>, positionals, help: false };
}

// ---------------------------------------------------------------------------------------
// Usage text

const FLAG_COLUMN = 20;
const WIDTH = 90;

function wrap(text: string, first: number, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let room = width - first;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = width - FLAG_COLUMN;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The help text with its default: "… (default 20)", or "… (…; default 20)" when the help ends in parentheses. */
function helpWithDefault(spec: OptionSpec): string {
  const d =
    spec.defaultText !== undefined ? `default: ${spec.defaultText}` : spec.default === undefined || spec.type === 'boolean' ? '' : `default ${spec.default}`;
  if (!d) return spec.help;
  return spec.help.endsWith(')') ? `${spec.help.slice(0, -1)}; ${d})` : `${spec.help} (${d})`;
}

/**
 * The usage text: `header`, a blank line, then one entry per positional argument
 * (`positionals`: name → help) and per flag, in schema order, with its default.
 */
export function usageText(header: string, schema: Schema, positionals: Record<string, string> = {}): string {
  const lines: string[] = [];
  const rows: [string, string][] = Object.entries(positionals).map(([name, help]) => [`  ${name}`, help]);
  for (const [k, s] of entriesOf(schema)) {
    const flag = flagOf(k, s);
    if (flag === null) continue;
    rows.push([`  --${flag} ${placeholderOf(s)}`.trimEnd(), helpWithDefault(s)]);
  }
  for (const [left, text] of rows) {
    const help = wrap(text, FLAG_COLUMN, WIDTH);
    if (left.length < FLAG_COLUMN) {
      lines.push(left.padEnd(FLAG_COLUMN) + (help[0] ?? ''));
    } else {
      lines.push(left);
      if (help[0]) lines.push(' '.repeat(FLAG_COLUMN) + help[0]);
    }
    for (const h of help.slice(1)) lines.push(' '.repeat(FLAG_COLUMN) + h);
  }
  return `${header}\n\n${lines.join('\n')}`;
}
