/** Option values the commands parse, each refused with the option's name and what it expects. */
export function integer(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: expected an integer from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

export function fraction(text: string, name: string): number {
  const value = Number(text);
  if (!(value > 0 && value < 1))
    throw new Error(`${name}: expected a number between 0 and 1 (got "${text}")`);
  return value;
}

export function accountId(text: string, name = '--account'): string {
  if (!/^\d{12}$/.test(text)) throw new Error(`${name}: expected 12 digits (got "${text}")`);
  return text;
}
