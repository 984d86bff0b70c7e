/** The task token in an approval message, as an operator would copy it. */
export function tokenIn(message: string): string {
  const match = /npx platform-ops approve '([^']+)'/.exec(message);
  if (!match?.[1]) throw new Error(`no approve command in:\n${message}`);
  return match[1];
}
