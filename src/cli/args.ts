/** Flag parsing shared by the subcommands (node:util parseArgs, strict). */
import { promises as fs } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O, allowPositionals = false): ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true as const });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

export function intFlag(v: string | undefined, name: string, def: number, min = 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

export function numFlag(v: string | undefined, name: string, def: number, min = 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min}, got "${v}"`);
  return n;
}

/** A usage error unless every path is an existing folder. */
export async function requireFolders(dirs: string[]): Promise<void> {
  for (const d of dirs) {
    const st = await fs.stat(d).catch(() => null);
    if (!st) throw new UsageError(`${d}: no such folder`);
    if (!st.isDirectory()) throw new UsageError(`${d}: is not a folder`);
  }
}

/** One of `choices`, or undefined when the flag is absent. */
export function choiceFlag<T extends string>(v: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be ${choices.join(' or ')}, got "${v}"`);
  return v as T;
}
