import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Lint source text as if it lived at `file` in the repository. */
async function lint(file: string, text: string): Promise<string[]> {
  // The real eslint CLI with the project's config (its ESM config cannot load inside Jest's VM).
  const out = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', '--stdin', '--stdin-filename', file], { cwd: ROOT, input: text, encoding: 'utf8' });
  const [result] = JSON.parse(out.stdout) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint guards', () => {
  test('given a Node built-in or a runtime activity import in workflows/, ESLint reports it', async () => {
    const messages = await lint('workflows/index.ts', "import fs from 'node:fs';\nimport { createActivities } from '../activities';\nexport const x = [fs, createActivities];\n");
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/no-restricted-imports: 'node:fs' import is restricted/),
        expect.stringMatching(/no-restricted-imports: '..\/activities' import is restricted/),
      ]),
    );
  });

  test('given a type-only activity import in workflows/, ESLint accepts it', async () => {
    const messages = await lint('workflows/index.ts', "import type { Activities } from '../activities';\nexport type A = Activities;\n");
    expect(messages).toEqual([]);
  });

  test('given a floating promise anywhere, ESLint reports it', async () => {
    const messages = await lint('cli/main.ts', 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n');
    expect(messages).toEqual([expect.stringMatching(/^@typescript-eslint\/no-floating-promises/)]);
  });
});
