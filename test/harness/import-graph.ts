import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * drover's import graph as Node loads it: value imports, re-exports, require() and import() of drover's own files;
 * `import type` and imports of types only are erased by the compiler and load nothing. Paths are repository-relative
 * (`cli/main.ts`). Used by test/production-imports.unit.test.ts and test/cli-lazy.unit.test.ts.
 */

const ROOT = path.join(__dirname, '..', '..');

const compilerOptions = (() => {
  const file = path.join(ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, ROOT).options;
})();

export interface Edge {
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
export function moduleEdges(file: string, text = fs.readFileSync(path.join(ROOT, file), 'utf8')): Edge[] {
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
export function reach(entries: string[], opts: { dynamic: boolean; skip?: (from: string, to: string) => boolean }): Map<string, string[]> {
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
