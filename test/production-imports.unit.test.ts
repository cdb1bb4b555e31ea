import { moduleEdges, reach } from './harness/import-graph';

// A production worker must not load the embedded stack's code (infra/local/: the Temporal dev server, moto, the demo's
// seeding and region apps, the tool installers for them) nor the fault-injection proxy (infra/faults/). This walks
// drover's import graph as Node loads it (test/harness/import-graph.ts).

const FORBIDDEN = /^infra\/(local|faults)\//;

/**
 * Edges the startup walk does not follow yet, each naming why. An entry whose import is gone fails the test, so
 * the list never outlives its reason.
 */
const PENDING: Array<{ from: string; to: string; why: string }> = [];

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
