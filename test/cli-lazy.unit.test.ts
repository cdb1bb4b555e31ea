/**
 * The quick commands stay quick: `drover --version`, `--help` and `validate` load no module of the AWS SDK, CDK for
 * Terraform, Chart.js or Temporal's client or worker (cli/commands/index.ts loads a command's module only when it
 * runs). Proved by what the spawned CLI loaded (test/harness/module-log.ts), never by timing it; the same check on
 * commands that do load them shows the log sees them. BENCHMARKS.md (f) has the times (npm run bench:cli).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Help } from 'commander';
import { COMMANDS } from '../cli/commands';
import { invokedCommand } from '../cli/main';
import { reach } from './harness/import-graph';
import { runLogged } from './harness/module-log';
import { testTempDir } from './harness/servers';

const ROOT = path.join(__dirname, '..');
const RUNBOOK = 'runbooks/apnakart.yaml';
const noIO = { out() {}, err() {} };

/** The source CLI as bin/drover runs it without a build (tsx), with the module log. */
const fromSource = (args: string[]) => runLogged(testTempDir('lazy-'), ['--import', 'tsx'], [path.join(ROOT, 'cli/main.ts'), ...args], { cwd: ROOT });

/** The file a row of the table loads (approve and reject share decide.ts). */
const fileOf = (name: string) => `cli/commands/${name === 'approve' || name === 'reject' ? 'decide' : name}.ts`;

describe('the command table (cli/commands/index.ts)', () => {
  test('each row says what its command says: the name, the term in the root help, the description', async () => {
    for (const entry of COMMANDS) {
      const command = (await entry.load())(noIO, () => {});
      expect({ name: command.name(), term: new Help().subcommandTerm(command), description: command.description() }).toEqual({ name: entry.name, term: entry.term, description: entry.description });
    }
  });

  test('every command file is in the table, and every row loads the file its name says', () => {
    const files = fs.readdirSync(path.join(ROOT, 'cli/commands')).filter((f) => f !== 'index.ts').map((f) => `cli/commands/${f}`);
    expect([...new Set(COMMANDS.map((e) => fileOf(e.name)))].sort()).toEqual(files.sort());
    expect(new Set(COMMANDS.map((e) => e.name)).size).toBe(COMMANDS.length);
  });

  test('a row announces exactly when its command can reach cli/context.ts (whose target lines it sets up), now or lazily', () => {
    for (const entry of COMMANDS) {
      expect({ name: entry.name, announces: reach([fileOf(entry.name)], { dynamic: true }).has('cli/context.ts') }).toEqual({ name: entry.name, announces: entry.announces });
    }
  });

  test('the command invoked is the first operand, or the one after help', () => {
    expect(invokedCommand(['--version'])).toBeUndefined();
    expect(invokedCommand([])).toBeUndefined();
    expect(invokedCommand(['validate', '--json', 'x.yaml'])).toBe('validate');
    expect(invokedCommand(['-h', 'drill', 'run'])).toBe('drill');
    expect(invokedCommand(['help', 'worker'])).toBe('worker');
    expect(invokedCommand(['help'])).toBeUndefined();
  });
});

describe('what the quick commands load (the source CLI, spawned with a module log)', () => {
  test('given --version, nothing of the AWS SDK, CDKTF, Chart.js or the Temporal client or worker is loaded', () => {
    const run = fromSource(['--version']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^drover \d+\.\d+\.\d+ \(node v/);
    expect(run.files.length).toBeGreaterThan(0);
    expect(run.heavy).toEqual([]);
  });

  test('given --help, the same, and every command is listed', () => {
    const run = fromSource(['--help']);
    expect(run.status).toBe(0);
    for (const entry of COMMANDS) expect(run.stdout).toContain(`  ${entry.term} `);
    expect(run.heavy).toEqual([]);
  });

  test('given validate on a runbook, the same, and the runbook is validated (its schema and YAML parser did load)', () => {
    const run = fromSource(['validate', RUNBOOK]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`${RUNBOOK}: valid runbook "apnakart"`);
    expect(run.files.some((f) => f.includes('/node_modules/zod/')) && run.files.some((f) => f.includes('/node_modules/yaml/'))).toBe(true);
    expect(run.heavy).toEqual([]);
  });

  test('given commands that need them, the log does see them: status --help loads the Temporal client and the SDK core, demo --help the worker', () => {
    const status = fromSource(['status', '--help']);
    expect(status.heavy).toEqual(expect.arrayContaining(['@aws-sdk/', '@temporalio/client/']));
    // ...but no service's client package: aws/clients.ts loads each with the first client of that service.
    expect(status.files.filter((f) => f.includes('/node_modules/@aws-sdk/client-'))).toEqual([]);
    expect(fromSource(['demo', '--help']).heavy).toEqual(expect.arrayContaining(['@temporalio/worker/']));
    // worker --help does not: the worker loads only once its options are known to be good.
    expect(fromSource(['worker', '--help']).heavy).not.toContain('@temporalio/worker/');
  });
});
