import { ensureGoTool, type GoToolPin } from './go-build';

// The tools that check drover's Helm chart (deploy/helm/drover): Helm and kubeconform, pinned and built from their
// Go modules on first use, cached in the tools directory. The Kubernetes JSON schemas kubeconform validates against
// are tools/kube-schemas.ts.

type Log = (line: string) => void;

const HELM_MODULE = 'helm.sh/helm/v4';
const HELM_VERSION = 'v4.3.2';
/** The pinned Helm, stamped as Helm's Makefile stamps a release (otherwise `helm version` says v4.3). */
export const HELM_PIN: GoToolPin = {
  name: 'Helm',
  module: HELM_MODULE,
  version: HELM_VERSION,
  pkg: `${HELM_MODULE}/cmd/helm`,
  ldflags: `-s -w -X ${HELM_MODULE}/internal/version.version=${HELM_VERSION}`,
  versionArgs: ['version', '--template', '{{.Version}}'],
  reportedVersion: (out) => /^(v\d+\.\d+\.\d+\S*)$/m.exec(out)?.[1],
};

const KUBECONFORM_MODULE = 'github.com/yannh/kubeconform';
const KUBECONFORM_VERSION = 'v0.8.0';
/** The pinned kubeconform, stamped as its release build stamps it (otherwise `kubeconform -v` says development). */
export const KUBECONFORM_PIN: GoToolPin = {
  name: 'kubeconform',
  module: KUBECONFORM_MODULE,
  version: KUBECONFORM_VERSION,
  pkg: `${KUBECONFORM_MODULE}/cmd/kubeconform`,
  ldflags: `-s -w -X main.version=${KUBECONFORM_VERSION}`,
  versionArgs: ['-v'],
  reportedVersion: (out) => /^(v\d+\.\d+\.\d+\S*)$/m.exec(out)?.[1],
};

/** The Helm binary: `$DROVER_HELM` when set, else the cached pinned build, else a fresh build (minutes, once). */
export function ensureHelm(opts: { log?: Log } = {}): Promise<string> {
  return ensureGoTool(HELM_PIN, 'DROVER_HELM', opts.log);
}

/** The kubeconform binary: `$DROVER_KUBECONFORM` when set, else the cached pinned build, else a fresh build. */
export function ensureKubeconform(opts: { log?: Log } = {}): Promise<string> {
  return ensureGoTool(KUBECONFORM_PIN, 'DROVER_KUBECONFORM', opts.log);
}
