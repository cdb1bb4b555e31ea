import { ensureGoTool, goToolPath, type GoToolPin } from './go-build';

// Jaeger for the tests that check drover's traces: Jaeger v2's all-in-one (`cmd/jaeger`, an OpenTelemetry collector
// with Jaeger's storage and query extensions), pinned and built from its Go module on first use, cached in the tools
// directory like Helm and kubeconform. The test harness starting it is test/harness/jaeger.ts.

type Log = (line: string) => void;

const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';
/**
 * The Go module's version. Jaeger tags each release twice on one commit, v1.x for the module and v2.y for the v2
 * binary (v1.75.0 is v2.12.0); the module proxy serves only the v1 tags (the module path has no /v2).
 */
const JAEGER_VERSION = 'v1.75.0';
/** The commit time of the v1.75.0 tag, as the module proxy reports it (`go mod download -json`'s .info Time). */
const JAEGER_BUILD_DATE = '2025-11-13T16:44:30Z';

/**
 * The pinned Jaeger, stamped through the variables Jaeger's release build sets
 * (scripts/makefiles/BuildInfo.mk: internal/version.latestVersion, .date, .commitSHA). The release stamps the v2 tag
 * and the commit; a module download has neither, so this stamps the module version and the tag's date, which keeps
 * `jaeger version` checkable against the pin (it prints {"gitCommit":"","gitVersion":"v1.75.0","buildDate":...}).
 */
export const JAEGER_PIN: GoToolPin = {
  name: 'Jaeger',
  module: JAEGER_MODULE,
  version: JAEGER_VERSION,
  pkg: `${JAEGER_MODULE}/cmd/jaeger`,
  ldflags: [
    '-s -w',
    `-X ${JAEGER_MODULE}/internal/version.latestVersion=${JAEGER_VERSION}`,
    `-X ${JAEGER_MODULE}/internal/version.date=${JAEGER_BUILD_DATE}`,
  ].join(' '),
  versionArgs: ['version'],
  // stderr is mixed in (the version command also logs "application version: ..."): read the JSON's field.
  reportedVersion: (out) => /"gitVersion":"([^"]*)"/.exec(out)?.[1] || undefined,
};

/** Where the pinned build is cached: `<toolsDir>/jaeger-1.75.0/jaeger`. */
export function jaegerPath(): string {
  return goToolPath(JAEGER_PIN);
}

/** The Jaeger binary: `$DROVER_JAEGER` when set, else the cached pinned build, else a fresh build (minutes, once). */
export function ensureJaeger(opts: { log?: Log } = {}): Promise<string> {
  return ensureGoTool(JAEGER_PIN, 'DROVER_JAEGER', opts.log);
}
