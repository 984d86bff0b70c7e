import ts from 'typescript';

/**
 * The readable tokens of a bundled JavaScript file: what an attacker who downloads
 * a Lambda package (`lambda:GetFunction`) reads. TypeScript's own scanner does the
 * lexing (strings, template chunks, comments, regular expressions); the two places
 * a scanner needs the grammar are decided here the way JavaScript tokenizers do:
 * whether a `/` starts a regular expression (by the previous significant token) and
 * whether a `}` closes a template substitution (by a stack of open braces).
 */

export type TokenKind = 'string' | 'identifier' | 'comment' | 'regex';

export interface JsToken {
  kind: TokenKind;
  text: string;
  /** 1-based line of the token's start. */
  line: number;
  /**
   * Set on a string that is the first argument of a logging call
   * (`logger.info('...')`, `this.log.warn('...')`, `console.error('...')`): its
   * text is a log line's message, readable with `logs:FilterLogEvents`.
   */
  logMessage?: boolean;
}

/**
 * Logging methods. The bundles are minified, so a logger's variable name is gone
 * (`logger.info` ships as `Sk.info`): any receiver counts, except for `log`, which
 * is a logging call only on `console`.
 */
const LOG_METHODS = new Set(['info', 'warn', 'error', 'debug', 'critical', 'trace']);

/** Tokens after which a `/` divides; after anything else it starts a regular expression. */
const DIVISION_AFTER = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.Identifier,
  ts.SyntaxKind.PrivateIdentifier,
  ts.SyntaxKind.NumericLiteral,
  ts.SyntaxKind.BigIntLiteral,
  ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.RegularExpressionLiteral,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateTail,
  ts.SyntaxKind.CloseParenToken,
  ts.SyntaxKind.CloseBracketToken,
  ts.SyntaxKind.CloseBraceToken,
  ts.SyntaxKind.PlusPlusToken,
  ts.SyntaxKind.MinusMinusToken,
  ts.SyntaxKind.ThisKeyword,
  ts.SyntaxKind.SuperKeyword,
  ts.SyntaxKind.TrueKeyword,
  ts.SyntaxKind.FalseKeyword,
  ts.SyntaxKind.NullKeyword,
]);

const TRIVIA = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.WhitespaceTrivia,
  ts.SyntaxKind.NewLineTrivia,
  ts.SyntaxKind.ShebangTrivia,
  ts.SyntaxKind.ConflictMarkerTrivia,
]);

export function jsTokens(source: string): JsToken[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, source);
  // Tokens come in order: count the newlines since the previous token.
  let counted = 0;
  let line = 1;
  const lineOf = (pos: number) => {
    for (
      let next = source.indexOf('\n', counted);
      next !== -1 && next < pos;
      next = source.indexOf('\n', next + 1)
    )
      line++;
    counted = Math.max(counted, pos);
    return line;
  };
  const tokens: JsToken[] = [];
  /** One entry per open `{` or `${`: true for a template substitution. */
  const braces: boolean[] = [];
  /** The last significant tokens, newest last, for the regex and logging-call decisions. */
  const recent: { kind: ts.SyntaxKind; text: string }[] = [];

  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (TRIVIA.has(kind)) continue;
    if (kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia) {
      tokens.push({ kind: 'comment', text: scanner.getTokenText(), line: lineOf(scanner.getTokenStart()) });
      continue;
    }
    const previous = recent.at(-1)?.kind;
    if (
      (kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) &&
      (previous === undefined || !DIVISION_AFTER.has(previous))
    ) {
      kind = scanner.reScanSlashToken();
    } else if (kind === ts.SyntaxKind.CloseBraceToken && braces.at(-1) === true) {
      braces.pop();
      kind = scanner.reScanTemplateToken(false);
    } else if (kind === ts.SyntaxKind.CloseBraceToken) {
      braces.pop();
    } else if (kind === ts.SyntaxKind.OpenBraceToken) {
      braces.push(false);
    }
    if (kind === ts.SyntaxKind.TemplateHead || kind === ts.SyntaxKind.TemplateMiddle) braces.push(true);

    const tokenLine = lineOf(scanner.getTokenStart());
    switch (kind) {
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
      case ts.SyntaxKind.TemplateHead:
      case ts.SyntaxKind.TemplateMiddle:
      case ts.SyntaxKind.TemplateTail: {
        const token: JsToken = { kind: 'string', text: scanner.getTokenValue(), line: tokenLine };
        const startsArgument = kind !== ts.SyntaxKind.TemplateMiddle && kind !== ts.SyntaxKind.TemplateTail;
        if (startsArgument && isLogCallOpening(recent)) token.logMessage = true;
        tokens.push(token);
        break;
      }
      case ts.SyntaxKind.RegularExpressionLiteral:
        tokens.push({ kind: 'regex', text: scanner.getTokenText(), line: tokenLine });
        break;
      case ts.SyntaxKind.Identifier:
      case ts.SyntaxKind.PrivateIdentifier:
        tokens.push({ kind: 'identifier', text: scanner.getTokenText(), line: tokenLine });
        break;
      default:
        // Keywords scan as their own kinds; a keyword used as a property name
        // (`x.default`) is still a word, but never one of ours.
        break;
    }
    recent.push({ kind, text: scanner.getTokenText() });
    if (recent.length > 8) recent.shift();
  }
  return tokens;
}

/**
 * True when the last tokens are `<receiver> . <method> (` with a logging method;
 * either dot may be optional chaining (`a?.info(`, `a.info?.(`).
 */
function isLogCallOpening(recent: { kind: ts.SyntaxKind; text: string }[]): boolean {
  const tail = recent.at(-2)?.kind === ts.SyntaxKind.QuestionDotToken ? recent.toSpliced(-2, 1) : recent;
  const [receiver, dot, method, paren] = tail.slice(-4);
  return (
    receiver !== undefined &&
    (dot?.kind === ts.SyntaxKind.DotToken || dot?.kind === ts.SyntaxKind.QuestionDotToken) &&
    method?.kind === ts.SyntaxKind.Identifier &&
    (LOG_METHODS.has(method.text) || (method.text === 'log' && receiver.text === 'console')) &&
    paren?.kind === ts.SyntaxKind.OpenParenToken
  );
}
