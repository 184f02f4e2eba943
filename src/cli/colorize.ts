export async function colorizeCommand(_argv: string[]): Promise<number> {
  throw new Error('colorize: not implemented yet');
}
