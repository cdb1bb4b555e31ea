import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureHelm, ensureKubeconform } from '../tools/k8s-tools';
import { ensureKubeSchemas, KUBE_VERSIONS, schemaLocation, type KubeVersion } from '../tools/kube-schemas';

// deploy/helm/drover checked as CI can: `helm lint`, `helm template`, and kubeconform -strict against the Kubernetes
// JSON schemas of the oldest and newest versions checked (tools/kube-schemas.ts), then assertions on what renders.
// The first run builds Helm and kubeconform from Go modules (about 5 minutes on a cold Go cache); later runs reuse them.

jest.setTimeout(3 * 60_000);

const ROOT = path.join(__dirname, '..');
const CHART = path.join(ROOT, 'deploy', 'helm', 'drover');
const PRODUCTION_VALUES = path.join(ROOT, 'deploy', 'helm', 'examples', 'production-values.yaml');
const RUNBOOK = path.join(ROOT, 'runbooks', 'apnakart.yaml');
const RUNBOOK_FILE = ['--set-file', `runbooks.files.apnakart\\.yaml=${RUNBOOK}`];

let helmBin: string;
let kubeconformBin: string;
let schemas: string;
let work: string;

beforeAll(async () => {
  const log = (line: string) => process.stderr.write(`[k8s tools] ${line}\n`);
  helmBin = await ensureHelm({ log });
  kubeconformBin = await ensureKubeconform({ log });
  schemas = await ensureKubeSchemas({ log });
  work = fs.mkdtempSync(path.join(process.env.DROVER_TEST_TMP ?? os.tmpdir(), 'chart-'));
  // The values only the chart's users know; nothing secret (the Secrets are named, not written).
  fs.writeFileSync(path.join(work, 'minimal.yaml'), [
    'image: { repository: 123456789012.dkr.ecr.us-west-2.amazonaws.com/drover }',
    'temporal: { address: temporal.drover.svc.cluster.local:7233 }',
    'serviceAccount: { roleArn: arn:aws:iam::123456789012:role/drover-worker }',
    'identityKey: { secretName: drover-identity }',
    'runbooks: { configMapName: drover-runbooks }',
    '',
  ].join('\n'));
}, 45 * 60_000);

/** A command's exit code and its whole output (stdout, then stderr). */
function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Helm with homes of its own (no repositories, plugins or caches of the user's). */
function helm(args: string[]) {
  return run(helmBin, args, { ...process.env, HELM_CACHE_HOME: path.join(work, 'helm', 'cache'), HELM_CONFIG_HOME: path.join(work, 'helm', 'config'), HELM_DATA_HOME: path.join(work, 'helm', 'data') });
}

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered manifests, read by path in assertions

interface Rendered {
  text: string;
  file: string;
  objects: K8sObject[];
}

/** `helm template` of the chart with these values, for one Kubernetes version; fails the test on a render error. */
async function render(name: string, values: string[], kubeVersion: KubeVersion = KUBE_VERSIONS[KUBE_VERSIONS.length - 1]): Promise<Rendered> {
  const file = path.join(work, `${name}-${kubeVersion}.yaml`);
  const r = await helm(['template', 'drover', CHART, '--namespace', 'drover', '--kube-version', kubeVersion, ...values]);
  if (r.code !== 0) throw new Error(`helm template (${name}) failed: ${r.output}`);
  fs.writeFileSync(file, r.output);
  const objects = parseAllDocuments(r.output).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
  return { text: r.output, file, objects };
}

/** kubeconform -strict of a manifest file against the schemas of one Kubernetes version; a missing schema fails too. */
function kubeconform(file: string, kubeVersion: KubeVersion) {
  return run(kubeconformBin, ['-strict', '-summary', '-schema-location', schemaLocation(schemas, kubeVersion), file]);
}

function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, rendered ${found.length}`);
  return found[0];
}

function envOf(container: any): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- a rendered container
  return Object.fromEntries((container.env as { name: string }[]).map((e) => [e.name, e]));
}

describe('the Helm chart (deploy/helm/drover)', () => {
  test('helm lint passes with the minimal values and with the production-like values', async () => {
    for (const values of [['-f', path.join(work, 'minimal.yaml')], ['-f', PRODUCTION_VALUES, ...RUNBOOK_FILE]]) {
      const r = await helm(['lint', '--strict', CHART, ...values]);
      expect({ code: r.code, output: r.output }).toEqual({ code: 0, output: expect.stringContaining('1 chart(s) linted, 0 chart(s) failed') });
    }
  });

  test('with the default values it refuses to render, naming the value it needs', async () => {
    const r = await helm(['template', 'drover', CHART]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/image\.repository: the registry path of the image built from deploy\/Dockerfile|temporal\.address|serviceAccount\.roleArn|identityKey\.secretName|runbooks: set runbooks\.configMapName/);
    // Each required value is asked for when it alone is missing.
    const minimal = path.join(work, 'minimal.yaml');
    for (const [unset, message] of [
      ['image.repository', /image\.repository: the registry path/],
      ['temporal.address', /temporal\.address: the Temporal frontend/],
      ['serviceAccount.roleArn', /serviceAccount\.roleArn: the IAM role the workers assume \(IRSA\)/],
      ['identityKey.secretName', /identityKey\.secretName: the Secret holding the workers' shared P-256 private JWK/],
      ['runbooks.configMapName', /runbooks: set runbooks\.configMapName .* or runbooks\.files/],
    ] as const) {
      const missing = await helm(['template', 'drover', CHART, '-f', minimal, '--set', `${unset}=`]);
      expect({ unset, code: missing.code }).toEqual({ unset, code: 1 });
      expect(missing.output).toMatch(message);
    }
  });

  test.each(KUBE_VERSIONS)('the minimal and the production-like renderings are valid Kubernetes %s objects (kubeconform -strict)', async (kubeVersion) => {
    const minimal = await render('minimal', ['-f', path.join(work, 'minimal.yaml')], kubeVersion);
    expect(minimal.objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'ServiceAccount']);
    const production = await render('production', ['-f', PRODUCTION_VALUES, ...RUNBOOK_FILE], kubeVersion);
    expect(production.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/drover-runbooks', 'Deployment/drover', 'Deployment/drover-iac', 'PodDisruptionBudget/drover', 'PodDisruptionBudget/drover-iac', 'ServiceAccount/drover',
    ]);
    for (const r of [minimal, production]) {
      const check = await kubeconform(r.file, kubeVersion);
      expect({ file: path.basename(r.file), code: check.code, output: check.output.trim() }).toEqual({
        file: path.basename(r.file),
        code: 0,
        output: `Summary: ${r.objects.length} resources found in 1 file - Valid: ${r.objects.length}, Invalid: 0, Errors: 0, Skipped: 0`,
      });
    }
  });

  test('kubeconform with these schemas fails a broken manifest: an unknown field, a wrong type, a missing schema', async () => {
    const { objects } = await render('broken-base', ['-f', path.join(work, 'minimal.yaml')]);
    const deployment = structuredClone(only(objects, 'Deployment'));
    deployment.spec.template.spec.topologySpreadConstraints[0].maxSkw = 1; // a typo strict mode must catch
    deployment.spec.template.spec.containers[0].securityContext.runAsNonRoot = 'yes'; // deep in the pod spec: the shared definitions resolve
    const widget = { apiVersion: 'drover.example/v1', kind: 'Widget', metadata: { name: 'w' } };
    const file = path.join(work, 'broken.json');
    fs.writeFileSync(file, `${JSON.stringify(deployment)}\n---\n${JSON.stringify(widget)}\n`);
    for (const kubeVersion of KUBE_VERSIONS) {
      const check = await kubeconform(file, kubeVersion);
      expect(check.code).toBe(1);
      expect(check.output).toContain("at '/spec/template/spec/topologySpreadConstraints/0': additional properties 'maxSkw' not allowed");
      expect(check.output).toContain("at '/spec/template/spec/containers/0/securityContext/runAsNonRoot': got string, want null or boolean");
      expect(check.output).toContain('Widget w failed validation: could not find schema for Widget');
      expect(check.output).toContain('Valid: 0, Invalid: 1, Errors: 1');
    }
  });

  describe('what the production-like values render', () => {
    let objects: K8sObject[];
    let text: string;
    beforeAll(async () => {
      ({ objects, text } = await render('production-assertions', ['-f', PRODUCTION_VALUES, ...RUNBOOK_FILE]));
    });

    test('each lane runs at least 2 workers spread across zones and hosts, with a PDB that keeps one', () => {
      for (const [name, lane] of [['drover', 'worker'], ['drover-iac', 'iac']]) {
        const d = only(objects, 'Deployment', name);
        expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
        const labels = d.spec.template.metadata.labels;
        expect(labels['app.kubernetes.io/component']).toBe(lane);
        expect(d.spec.selector.matchLabels).toEqual(labels);
        const spread = d.spec.template.spec.topologySpreadConstraints;
        expect(spread.map((c: { topologyKey: string }) => c.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
        for (const c of spread) {
          expect(c).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: labels } });
        }
        // A rolling update never leaves the lane with fewer polling workers.
        expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
        const pdb = only(objects, 'PodDisruptionBudget', name);
        expect(pdb.spec.selector.matchLabels).toEqual(labels);
        expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
        expect(pdb.spec.minAvailable).toBeLessThan(d.spec.replicas);
      }
    });

    test('probes: liveness on /livez, readiness on /readyz, on the port DROVER_HEALTH_ADDRESS names', () => {
      for (const name of ['drover', 'drover-iac']) {
        const [c] = only(objects, 'Deployment', name).spec.template.spec.containers;
        expect(c.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'health' });
        expect(c.startupProbe.httpGet).toEqual({ path: '/livez', port: 'health' });
        expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
        expect(c.ports).toEqual([{ name: 'health', containerPort: 8080, protocol: 'TCP' }]);
        expect(envOf(c).DROVER_HEALTH_ADDRESS.value).toBe('[::]:8080');
      }
    });

    test('non-root, read-only root filesystem, no capabilities; emptyDirs for /tmp and DROVER_HOME', () => {
      for (const name of ['drover', 'drover-iac']) {
        const pod = only(objects, 'Deployment', name).spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.securityContext.runAsUser).not.toBe(0);
        expect(pod.automountServiceAccountToken).toBe(false);
        const [c] = pod.containers;
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
        const env = envOf(c);
        const mountOf = (dir: string) => c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === dir);
        const volume = (n: string) => pod.volumes.find((v: { name: string }) => v.name === n);
        for (const dir of [env.TMPDIR.value, env.DROVER_HOME.value]) {
          expect(volume(mountOf(dir).name).emptyDir).toBeDefined();
        }
      }
    });

    test('termination grace covers the worker\'s shutdown grace plus 30 s: the runs\' lane 60 s, the IaC lane 3660 s', () => {
      const core = only(objects, 'Deployment', 'drover').spec.template.spec;
      expect(core.containers[0].args).toEqual(['worker', '--queues', 'core']);
      expect(envOf(core.containers[0]).DROVER_SHUTDOWN_GRACE.value).toBe('30s');
      expect(envOf(core.containers[0]).DROVER_IAC_SHUTDOWN_GRACE).toBeUndefined();
      expect(core.terminationGracePeriodSeconds).toBe(60);
      const iac = only(objects, 'Deployment', 'drover-iac').spec.template.spec;
      expect(iac.containers[0].args).toEqual(['worker', '--queues', 'iac']);
      expect(envOf(iac.containers[0]).DROVER_IAC_SHUTDOWN_GRACE.value).toBe('3630s');
      expect(iac.terminationGracePeriodSeconds).toBe(3660);
    });

    test('the ServiceAccount carries the IRSA role and the pods use it', () => {
      const sa = only(objects, 'ServiceAccount');
      expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::123456789012:role/drover-worker');
      for (const name of ['drover', 'drover-iac']) expect(only(objects, 'Deployment', name).spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    });

    test('production mode, the image\'s prebuilt bundle, the runbooks from the ConfigMap', () => {
      const pod = only(objects, 'Deployment', 'drover').spec.template.spec;
      const [c] = pod.containers;
      const env = envOf(c);
      expect(env.DROVER_PRODUCTION.value).toBe('1');
      expect(env.DROVER_WORKFLOW_BUNDLE.value).toBe('/app/dist/workflow-bundle.js');
      const runbooks = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === env.DROVER_RUNBOOKS.value);
      expect(runbooks.readOnly).toBe(true);
      const cm = only(objects, 'ConfigMap');
      expect(pod.volumes.find((v: { name: string }) => v.name === runbooks.name).configMap.name).toBe(cm.metadata.name);
      expect((cm as unknown as { data: Record<string, string> }).data['apnakart.yaml']).toBe(fs.readFileSync(RUNBOOK, 'utf8'));
      // A runbook change rolls the workers.
      expect(only(objects, 'Deployment', 'drover').spec.template.metadata.annotations['checksum/runbooks']).toMatch(/^[0-9a-f]{64}$/);
    });

    test('secrets are mounted or referenced from Secrets: the identity key, the Temporal mTLS material, the API key', () => {
      for (const name of ['drover', 'drover-iac']) {
        const pod = only(objects, 'Deployment', name).spec.template.spec;
        const [c] = pod.containers;
        const env = envOf(c);
        /** The Secret (and its key) that the file at `file` comes from, through the container's mounts. */
        const secretFileOf = (file: string) => {
          const mount = c.volumeMounts.find((m: { mountPath: string }) => path.dirname(file) === m.mountPath);
          const secret = pod.volumes.find((v: { name: string }) => v.name === mount.name).secret;
          expect(mount.readOnly).toBe(true);
          return { secretName: secret.secretName, key: secret.items.find((i: { path: string }) => i.path === path.basename(file)).key };
        };
        expect(secretFileOf(env.DROVER_IDENTITY_KEY_FILE.value)).toEqual({ secretName: 'drover-identity', key: 'identity.jwk' });
        expect(secretFileOf(env.TEMPORAL_TLS_CLIENT_CERT_PATH.value)).toEqual({ secretName: 'drover-temporal-mtls', key: 'tls.crt' });
        expect(secretFileOf(env.TEMPORAL_TLS_CLIENT_KEY_PATH.value)).toEqual({ secretName: 'drover-temporal-mtls', key: 'tls.key' });
        expect(secretFileOf(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH.value)).toEqual({ secretName: 'drover-temporal-mtls', key: 'ca.crt' });
        expect(env.TEMPORAL_API_KEY).toEqual({ name: 'TEMPORAL_API_KEY', valueFrom: { secretKeyRef: { name: 'drover-temporal-api-key', key: 'api-key' } } });
        expect(env.TEMPORAL_TLS.value).toBe('true');
        expect(env.TEMPORAL_TLS_SERVER_NAME.value).toBe('drover-prod.a1b2c.tmprl.cloud');
        expect(env.TEMPORAL_ADDRESS.value).toBe('drover-prod.a1b2c.tmprl.cloud:7233');
        expect(env.TEMPORAL_NAMESPACE.value).toBe('drover-prod.a1b2c');
      }
    });

    test('no secret value is inlined: no Secret object, secret-named variables only from Secrets, no key material', () => {
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      for (const d of objects.filter((o) => o.kind === 'Deployment')) {
        for (const e of d.spec.template.spec.containers[0].env as { name: string; value?: string; valueFrom?: unknown }[]) {
          if (/KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/.test(e.name) && !/_(FILE|PATH)$/.test(e.name)) {
            expect({ name: e.name, inlined: e.value !== undefined, fromSecret: Boolean((e.valueFrom as { secretKeyRef?: unknown } | undefined)?.secretKeyRef) }).toEqual({ name: e.name, inlined: false, fromSecret: true });
          }
        }
      }
      expect(text).not.toMatch(/-----BEGIN|"d"\s*:|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
    });
  });

  test('with the IaC lane off, the one Deployment serves both queues and waits the IaC lane\'s grace on a deploy', async () => {
    const { objects } = await render('all-queues', ['-f', path.join(work, 'minimal.yaml')]);
    const pod = only(objects, 'Deployment').spec.template.spec;
    expect(pod.containers[0].args).toEqual(['worker', '--queues', 'all']);
    expect(envOf(pod.containers[0]).DROVER_IAC_SHUTDOWN_GRACE.value).toBe('3630s');
    // What the worker prints for the default 60-minute rebuild timeout: "at least 3660" (docs/operations.md).
    expect(pod.terminationGracePeriodSeconds).toBe(3660);
    // Without a TLS Secret or an API key: no TLS variables and no secret volume but the identity key's.
    const env = envOf(pod.containers[0]);
    expect(Object.keys(env).filter((n) => n.startsWith('TEMPORAL_')).sort()).toEqual(['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']);
    expect(pod.volumes.filter((v: { secret?: unknown }) => v.secret).map((v: { name: string }) => v.name)).toEqual(['identity-key']);
  });

  test('a runbooks.files entry that is not a <name>.yaml file name is refused', async () => {
    const r = await helm(['template', 'drover', CHART, '-f', path.join(work, 'minimal.yaml'), '--set-file', `runbooks.files.apnakart\\.txt=${RUNBOOK}`]);
    expect(r.code).toBe(1);
    expect(r.output).toContain('runbooks.files: "apnakart.txt" is not a <name>.yaml file name');
  });
});
