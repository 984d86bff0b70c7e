/**
 * The `wildcard` operator: `*` stands for any run of characters (including
 * none), `\*` for a literal asterisk and `\\` for a literal backslash. Two
 * `*` in a row and any other escape are rejected, as EventBridge does.
 */

export type StringTest = (s: string) => boolean;

/** Splits a wildcard pattern at its unescaped `*` into literal pieces, or returns an error. */
export function parseWildcard(pattern: string): { pieces: string[] } | { error: string } {
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') return { error: `consecutive wildcard characters at position ${i}` };
      pieces.push(current);
      current = '';
    } else if (c === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\') {
        return { error: `invalid escape at position ${i}; only \\* and \\\\ may be escaped` };
      }
      current += next;
      i++;
    } else {
      current += c;
    }
  }
  pieces.push(current);
  return { pieces };
}

/**
 * Builds a matcher from literal pieces. Anchoring the first and last piece and
 * then finding the middle ones left to right is exact for `*`-only globs and,
 * unlike a RegExp, never backtracks.
 */
export function piecesMatcher(pieces: readonly string[]): StringTest {
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return (s) => s === first;
  const last = pieces[pieces.length - 1] ?? '';
  const middle = pieces.slice(1, -1).filter((p) => p.length > 0);
  const minLength = pieces.reduce((n, p) => n + p.length, 0);
  if (middle.length === 0) {
    return (s) => s.length >= minLength && s.startsWith(first) && s.endsWith(last);
  }
  return (s) => {
    if (s.length < minLength || !s.startsWith(first) || !s.endsWith(last)) return false;
    const end = s.length - last.length;
    let pos = first.length;
    for (const piece of middle) {
      const at = s.indexOf(piece, pos);
      if (at < 0 || at + piece.length > end) return false;
      pos = at + piece.length;
    }
    return true;
  };
}
