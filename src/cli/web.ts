export async function webCommand(_argv: string[]): Promise<number> {
  throw new Error('web: not implemented yet');
}
