import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// A production worker must not load the embedded stack's code (infra/local/: the Temporal dev server, moto, the demo's
// seeding and region apps, the tool installers for them) nor the fault-injection proxy (infra/faults/). This walks
// drover's import graph as Node loads it: value imports, re-exports, require() and import() of drover's own files;
// `import type` and imports of types only are erased by the compiler and load nothing.

const ROOT = path.join(__dirname, '..');
const FORBIDDEN = /^infra\/(local|faults)\//;

/**
 * Edges the startup walk does not follow yet, each naming why. An entry whose import is gone fails the test, so
 * the list never outlives its reason.
 */
const PENDING: Array<{ from: string; to: string; why: string }> = [];

const compilerOptions = (() => {
  const file = path.join(ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, ROOT).options;
})();

interface Edge {
  /** Repository-relative path of the imported file. */
  to: string;
  /** `import()`: loaded when that code runs, not when the importing module loads. */
  dynamic: boolean;
}

const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

/** drover's own .ts file a specifier names, or undefined for packages, Node built-ins and declaration files. */
function resolve(specifier: string, fromFile: string): string | undefined {
  const resolved = ts.resolveModuleName(specifier, fromFile, compilerOptions, ts.sys).resolvedModule;
  if (!resolved || resolved.isExternalLibraryImport || resolved.extension !== ts.Extension.Ts) return undefined;
  const file = path.resolve(resolved.resolvedFileName);
  return file.startsWith(ROOT + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`) ? rel(file) : undefined;
}

/** What a module loads: its value imports and re-exports, require() calls and import() expressions with a literal specifier. */
function moduleEdges(file: string, text = fs.readFileSync(path.join(ROOT, file), 'utf8')): Edge[] {
  const abs = path.join(ROOT, file);
  const source = ts.createSourceFile(abs, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const add = (specifier: ts.Expression | undefined, dynamic: boolean) => {
    if (!specifier || !ts.isStringLiteralLike(specifier)) return;
    const to = resolve(specifier.text, abs);
    if (to) edges.push({ to, dynamic });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      // `import type {…}`, and `import { type A, type B }` with nothing else, are erased.
      const typesOnly = clause && (clause.isTypeOnly || (!clause.name && bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)));
      if (!typesOnly) add(node.moduleSpecifier, false);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      const typesOnly = node.isTypeOnly || (clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
      if (!typesOnly) add(node.moduleSpecifier, false);
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (!node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression, false);
    } else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], true);
      else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

const edgesOf = new Map<string, Edge[]>();
const cachedEdges = (file: string): Edge[] => {
  if (!edgesOf.has(file)) edgesOf.set(file, moduleEdges(file));
  return edgesOf.get(file)!;
};

/** Every module reached from `entries`, each with the chain of imports that reaches it first. */
function reach(entries: string[], opts: { dynamic: boolean; skip?: (from: string, to: string) => boolean }): Map<string, string[]> {
  const chains = new Map<string, string[]>(entries.map((e) => [e, [e]]));
  const queue = [...entries];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const edge of cachedEdges(from)) {
      if ((edge.dynamic && !opts.dynamic) || chains.has(edge.to) || opts.skip?.(from, edge.to)) continue;
      chains.set(edge.to, [...chains.get(from)!, edge.to]);
      queue.push(edge.to);
    }
  }
  return chains;
}

function forbiddenChains(chains: Map<string, string[]>): string[] {
  return [...chains.entries()].filter(([file]) => FORBIDDEN.test(file)).map(([, chain]) => chain.join(' -> '));
}

describe('production imports', () => {
  test('given the worker command and the workflows it bundles, nothing they load, now or lazily, is under infra/local/ or infra/faults/', () => {
    // `drover worker` runs cli/commands/worker.ts (createWorker, the activities, the tools it injects) and bundles
    // workflows/index.ts; import() is followed too, since the worker runs it (e.g. the CDKTF synth of a rebuild).
    const chains = reach(['cli/commands/worker.ts', 'workflows/index.ts'], { dynamic: true });
    expect(forbiddenChains(chains)).toEqual([]);
    // The walk sees what the worker does load: the activities, the tools injected into them, config, the lazy synth.
    expect([...chains.keys()]).toEqual(expect.arrayContaining(['cli/worker.ts', 'activities/index.ts', 'activities/iac.ts', 'activities/iac-plan.ts', 'tools/tofu.ts', 'config/endpoints.ts', 'aws/clients.ts', 'audit/s3-store.ts', 'infra/eks/synth.ts']));
  });

  test('given cli/main.ts (what bin/drover runs for `drover worker`), what it loads at startup is nothing under infra/local/ or infra/faults/', () => {
    const pending = (from: string, to: string) => PENDING.some((p) => p.from === from && p.to === to);
    const chains = reach(['cli/main.ts'], { dynamic: false, skip: pending });
    expect(forbiddenChains(chains)).toEqual([]);
    // A command's module loads only when it runs (cli/commands/index.ts), the embedded stack's too; every one is
    // reachable through import().
    expect([...chains.keys()]).not.toContain('cli/commands/worker.ts');
    expect([...reach(['cli/main.ts'], { dynamic: true, skip: pending }).keys()]).toEqual(expect.arrayContaining(['cli/commands/worker.ts', 'cli/commands/dev.ts', 'cli/commands/demo.ts', 'cli/commands/runs.ts']));
    expect(forbiddenChains(reach(['cli/main.ts'], { dynamic: true, skip: pending })).length).toBeGreaterThan(0);
    for (const p of PENDING) {
      const still = moduleEdges(p.from).some((e) => e.to === p.to && !e.dynamic);
      if (!still) throw new Error(`${p.from} no longer imports ${p.to}: delete its PENDING entry in test/production-imports.unit.test.ts (${p.why})`);
    }
  });

  test('given the import forms, the walk follows value imports, re-exports, require() and import(), and skips type-only imports', () => {
    const text = [
      "import type { Tools } from '../infra/local/tools';",
      "import { type TemporalServer } from '../infra/local/stack';",
      "import { ensureTofu } from '../tools/tofu';",
      "import '../infra/local/chromium';",
      "export * from '../infra/faults/identify';",
      "export type { FaultRule } from '../infra/faults/proxy';",
      "const seed = require('../infra/local/seed');",
      "export const later = () => import('../infra/local/apps');",
      "import { Command } from 'commander';",
      "import fs from 'node:fs';",
    ].join('\n');
    expect(moduleEdges('activities/example.ts', text)).toEqual([
      { to: 'tools/tofu.ts', dynamic: false },
      { to: 'infra/local/chromium.ts', dynamic: false },
      { to: 'infra/faults/identify.ts', dynamic: false },
      { to: 'infra/local/seed.ts', dynamic: false },
      { to: 'infra/local/apps.ts', dynamic: true },
    ]);
  });
});
