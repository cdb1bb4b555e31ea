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

  test('given a value from the AWS client layer, configuration, processes or tools in workflows/, ESLint reports each', async () => {
    const text = [
      "import { createAwsClients } from '../aws/clients';",
      "import { droverHome } from '../config/home';",
      "import { superviseProcess } from '../processes/supervisor';",
      "import { resolveTofu } from '../tools/tofu';",
      'export const x = [createAwsClients, droverHome, superviseProcess, resolveTofu];',
      '',
    ].join('\n');
    const messages = await lint('workflows/index.ts', text);
    expect(messages).toEqual(['../aws/clients', '../config/home', '../processes/supervisor', '../tools/tofu'].map((m) => expect.stringMatching(new RegExp(`no-restricted-imports: '${m.replace(/[./]/g, '\\$&')}' import is restricted`))));
  });

  test('given a type-only activity import in workflows/, ESLint accepts it', async () => {
    const messages = await lint('workflows/index.ts', "import type { Activities } from '../activities';\nexport type A = Activities;\n");
    expect(messages).toEqual([]);
  });

  test('given a value imported from workflows/ outside workflows/, ESLint reports it; a type-only import passes', async () => {
    const messages = await lint('cli/runs.ts', "import { approveUpdate } from '../workflows/gates';\nexport const u = approveUpdate;\n");
    expect(messages).toEqual([expect.stringMatching(/no-restricted-imports: '..\/workflows\/gates' import is restricted .*import shared values from contracts\//)]);
    expect(await lint('cli/runs.ts', "import type { Journal } from '../workflows/journal';\nexport type S = Journal;\n")).toEqual([]);
  });

  test('given an import of anything of drover\'s in contracts/, ESLint reports it', async () => {
    const messages = await lint('contracts/ids.ts', "import type { Runbook } from '../runbooks/schema';\nexport type R = Runbook;\n");
    expect(messages).toEqual([expect.stringMatching(/no-restricted-imports: '..\/runbooks\/schema' import is restricted .*contracts\/ imports nothing of drover's/)]);
  });

  test('given a floating promise anywhere, ESLint reports it', async () => {
    const messages = await lint('cli/main.ts', 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n');
    expect(messages).toEqual([expect.stringMatching(/^@typescript-eslint\/no-floating-promises/)]);
  });
});
