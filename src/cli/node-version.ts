/**
 * The oldest Node.js Lifeboat runs on (package.json `engines`), checked before the command line
 * loads: on an older Node the first missing API (fs.glob, node:sqlite) would otherwise stop every
 * command with a stack trace instead of one line. No imports, so it loads on any Node.
 */
export const MIN_NODE = '22.13.0';

const parts = (v: string) => v.split('.').map((n) => Number.parseInt(n, 10) || 0);

/** The one-line refusal for `version` (process.versions.node), or undefined when it is new enough. */
export function nodeTooOld(version: string, min = MIN_NODE): string | undefined {
  const [have, need] = [parts(version), parts(min)];
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (a > b) return undefined;
    if (a < b)
      return (
        `error: start lifeboat: Node.js ${version} is too old, it needs ${min.replace(/\.0$/, '')} or newer ` +
        '(hint: install Node.js 22 or 24, or run `npx lifeboat` in a checkout after `npm ci`, which brings Node 24)'
      );
  }
  return undefined;
}
