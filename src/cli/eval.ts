export async function evalCommand(_argv: string[]): Promise<number> {
  throw new Error('eval: not implemented yet');
}
