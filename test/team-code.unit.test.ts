/**
 * "Bring your own IaC" without a server: how a runbook names the team's code (runbooks/schema.ts, path-qualified
 * refusals of unpinned module sources, credentials in backend settings, relative directories), and how drover runs
 * OpenTofu on it (activities/team-code.ts: variables per region, the root written for a module source, the work
 * settings that keep OpenTofu out of the team's directory, the code digest another checkout changes).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseRunbook } from '../runbooks/load';
import { moduleSourceRefusal, type TeamCode } from '../runbooks/schema';
import { codeDigest, codeKind, rootModule, teamWork, variablesFor } from '../activities/team-code';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';

/** A valid runbook whose rebuild runs `code`; its clusters have no network (the team's code describes it). */
function runbook(code: unknown): Record<string, unknown> {
  return {
    version: 1,
    name: 'shop',
    regions: { primary: PRIMARY, standby: STANDBY },
    dns: { hostedZone: 'shop.example', records: [{ name: 'api.shop.example', type: 'CNAME', routing: 'weighted', targets: { [PRIMARY]: { setIdentifier: 'a', value: 'a.example' }, [STANDBY]: { setIdentifier: 'b', value: 'b.example' } } }], shift: { steps: [50, 100], soak: '1m' } },
    database: { engine: 'postgres', primary: { identifier: 'shop-a' }, replica: { identifier: 'shop-b' }, maxReplicaLag: '30s', writerRecord: { name: 'db.shop.example' } },
    compute: { clusters: [{ region: PRIMARY, name: 'shop-a', nodeGroups: [{ name: 'general', standby: 1, active: 4 }] }, { region: STANDBY, name: 'shop-b', nodeGroups: [{ name: 'general', standby: 1, active: 4 }] }] },
    health: {},
    approvals: {},
    objectives: { rto: '15m', rpo: '1m' },
    rebuild: { code },
  };
}

function problems(code: unknown): Array<{ path: string; message: string }> {
  const r = parseRunbook(stringify(runbook(code)));
  return r.ok ? [] : r.problems.map(({ path: p, message }) => ({ path: p, message }));
}

function parsedCode(code: unknown): TeamCode {
  const r = parseRunbook(stringify(runbook(code)));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.runbook.rebuild!.code!;
}

describe('naming the team code in the runbook', () => {
  test('a root module directory, a pinned registry module, a pinned Git module and a CDK for Terraform app are valid; the clusters need no network then', () => {
    expect(problems({ module: { dir: '/srv/infra/eks', vars: { name: 'x' }, backendConfig: { key: 'eks/terraform.tfstate' } } })).toEqual([]);
    expect(problems({ module: { source: 'terraform-aws-modules/eks/aws', version: '20.31.6', backend: { type: 's3', config: { bucket: 'b', key: 'k', region: STANDBY } } } })).toEqual([]);
    expect(problems({ module: { source: 'git::https://git.example.com/infra/eks.git?ref=v2.4.0', backend: { type: 's3' } } })).toEqual([]);
    expect(problems({ cdktf: { dir: '/srv/infra/cdktf', synth: ['node', 'main.js'], stack: 'eks-{region}' } })).toEqual([]);
  });

  test('the built-in stack still needs each cluster network', () => {
    const r = parseRunbook(stringify({ ...runbook(undefined), rebuild: {} }));
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['compute.clusters[0].network', 'compute.clusters[1].network']);
  });

  test.each([
    [{ source: 'terraform-aws-modules/eks/aws' }, 'rebuild.code.module.version', 'is a registry module without a version'],
    [{ source: 'terraform-aws-modules/eks/aws', version: '~> 20.0' }, 'rebuild.code.module.version', 'has the version constraint "~> 20.0", which may match several releases'],
    [{ source: 'git::https://git.example.com/eks.git' }, 'rebuild.code.module.source', 'is a Git source without ?ref=: it would follow a branch'],
    [{ source: 'git::https://git.example.com/eks.git?ref=main' }, 'rebuild.code.module.source', 'pins ?ref=main, which may be a branch'],
    [{ source: 'github.com/acme/eks?ref=v1.0.0', version: '1.0.0' }, 'rebuild.code.module.source', 'is a Git source, which takes no version'],
    [{ source: './modules/eks' }, 'rebuild.code.module.source', 'is a local path, which names no version'],
    [{ source: 'https://example.com/eks.zip' }, 'rebuild.code.module.source', 'is a source whose version drover cannot tell'],
  ])('an unpinned module source %j is refused at %s', (module, at, message) => {
    const found = problems({ module: { ...module, backend: { type: 's3' } } });
    expect(found).toHaveLength(1);
    expect(found[0].path).toBe(at);
    expect(found[0].message).toContain(message);
  });

  test('a relative directory, a credential in backend settings, a region outside the pair and a refused passEnv are each named', () => {
    expect(problems({ module: { dir: 'infra/eks' } })).toEqual([{ path: 'rebuild.code.module.dir', message: 'must be an absolute path: it is read on the worker, whatever its working directory' }]);
    expect(problems({ module: { dir: '/srv/eks', backendConfig: { secret_key: 'x' } } }).map((p) => p.path)).toEqual(['rebuild.code.module.backendConfig.secret_key']);
    expect(problems({ module: { dir: '/srv/eks', regionVars: { 'eu-west-1': { a: 1 } } } })).toEqual([{ path: 'rebuild.code.module.regionVars.eu-west-1', message: `is not one of the runbook's regions (${PRIMARY}, ${STANDBY})` }]);
    expect(problems({ cdktf: { dir: '/srv/app', stack: 's', passEnv: ['AWS_SECRET_ACCESS_KEY'] } }).map((p) => p.path)).toEqual(['rebuild.code.cdktf.passEnv[0]']);
  });

  test('moduleSourceRefusal accepts a commit pin and a registry address with a host', () => {
    expect(moduleSourceRefusal(`git::ssh://git@example.com/eks.git?ref=${'a'.repeat(40)}`, undefined)).toBeUndefined();
    expect(moduleSourceRefusal('registry.example.com/acme/eks/aws', '3.2.1')).toBeUndefined();
    expect(moduleSourceRefusal('terraform-aws-modules/eks/aws//modules/node', '=20.31.6')).toBeUndefined();
  });
});

describe('running OpenTofu on the team code', () => {
  test('variables are vars with the region over them; a root module gets a var file, the read-only lock file and its backend settings', () => {
    const code = parsedCode({ module: { dir: '/srv/eks', vars: { name: 'shop', size: 2 }, regionVars: { [STANDBY]: { size: 3 } }, backendConfig: { key: 'eks.tfstate', encrypt: 'true' } } });
    expect(codeKind(code)).toBe('module');
    expect(variablesFor(code, STANDBY)).toEqual({ name: 'shop', size: 3 });
    expect(variablesFor(code, PRIMARY)).toEqual({ name: 'shop', size: 2 });
    expect(teamWork(code, STANDBY, '/run')).toEqual({ dataDir: '/run/tofu-data', varFile: '/run/drover.tfvars.json', backendConfig: ['key=eks.tfstate', 'encrypt=true'], lockfileReadonly: true });
  });

  test('a module source is called from a root drover writes, with the team backend and the variables as the module block arguments', () => {
    const code = parsedCode({ module: { source: 'acme/eks/aws', version: '1.2.3', vars: { name: 'shop' }, backend: { type: 's3', config: { bucket: 'state', key: 'eks' } } } });
    expect(codeKind(code)).toBe('module-source');
    if (!('module' in code) || !('source' in code.module)) throw new Error('expected a module source');
    expect(rootModule(code.module, STANDBY)).toEqual({ terraform: { backend: { s3: { bucket: 'state', key: 'eks' } } }, module: { cluster: { source: 'acme/eks/aws', version: '1.2.3', name: 'shop' } } });
    // The variables are in the root; no var file, no read-only lock (the root is drover's).
    expect(teamWork(code, STANDBY, '/run')).toEqual({ dataDir: '/run/tofu-data', varFile: undefined, backendConfig: [], lockfileReadonly: false });
  });

  test("the code digest covers every file's path and content, not OpenTofu's working data, state or plans", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'team-code-'));
    fs.writeFileSync(path.join(dir, 'main.tf'), 'resource "terraform_data" "a" {}\n');
    fs.mkdirSync(path.join(dir, 'modules'));
    fs.writeFileSync(path.join(dir, 'modules', 'x.tf'), '# x\n');
    const first = codeDigest(dir);
    fs.mkdirSync(path.join(dir, '.terraform'));
    fs.writeFileSync(path.join(dir, '.terraform', 'environment'), 'default');
    fs.writeFileSync(path.join(dir, 'terraform.tfstate'), '{}');
    fs.writeFileSync(path.join(dir, 'drover.tfplan'), 'plan');
    expect(codeDigest(dir)).toBe(first);
    fs.writeFileSync(path.join(dir, 'modules', 'x.tf'), '# changed\n');
    expect(codeDigest(dir)).not.toBe(first);
    fs.writeFileSync(path.join(dir, 'modules', 'x.tf'), '# x\n');
    fs.renameSync(path.join(dir, 'modules', 'x.tf'), path.join(dir, 'modules', 'y.tf'));
    expect(codeDigest(dir)).not.toBe(first);
  });
});
