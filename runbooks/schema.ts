import ms from 'ms';
import { z } from 'zod';
import { AWS_REGION_PARTITION, AWS_REGION_SHAPE, AWS_REGIONS } from './aws-regions';
import { isPinnedPrincipal, patternOutsideAccount, PINNED_SESSION, seatsAvailable, unpinnedRoles } from './principals';
import { ADDON_SERVICE_ACCOUNTS, EKS_AMI_TYPES, EKS_AUTHENTICATION_MODES, EKS_LOG_TYPES, EKS_TAINT_EFFECTS } from './eks';
import { didYouMean } from './suggest';
import { scrubSecrets } from '../audit/scrub';

/** Quote a list of choices the way error messages show them: "a", "b" or "c". */
function choices(values: readonly string[]): string {
  const quoted = values.map((v) => `"${v}"`);
  return quoted.length <= 1 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/** A value for an error message: strings quoted, anything else by its kind (YAML aliases can make cycles). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (iss) => `expected ${choices(values)}, got ${describeValue(iss.input)}` });
}

// The shape of a region name (eusc-de-east-1 and us-isob-east-1 included); whether AWS has that region is a
// cross-field check against AWS_REGIONS, so a region launched after this release can be listed in regions.unlisted.
const awsRegion = z
  .string()
  .regex(AWS_REGION_SHAPE, { error: 'expected an AWS region name such as ap-south-1' });

const name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z][a-z0-9-]*$/, { error: 'expected lower-case letters, digits and dashes, starting with a letter' });

const identifier = z.string().min(1).max(255);

/** A CloudWatch alarm name: "Length Constraints: Minimum length of 1. Maximum length of 255." (API_PutMetricAlarm, AlarmName). */
const alarmName = z.string().min(1).max(255);

/**
 * How an alarm in INSUFFICIENT_DATA counts. "INSUFFICIENT_DATA – The alarm has just started, the metric is not
 * available, or not enough data is available for the metric to determine the alarm state"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html).
 */
const insufficientDataPolicy = oneOf(['healthy', 'breach']);

/**
 * An RDS DB instance or DB cluster identifier: "from 1 to 63 letters, numbers, or hyphens. The first character
 * must be a letter. Can't end with a hyphen or contain two consecutive hyphens." (RDS API Reference,
 * CreateDBInstance and ModifyDBInstance; the same for DB cluster identifiers).
 */
const rdsIdentifier = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*$/, { error: 'expected an RDS identifier: a letter first, then letters, digits and single hyphens' })
  .refine((v) => !v.endsWith('-'), { error: "an RDS identifier can't end with a hyphen" });

/** What drover appends to an identifier when it keeps a replaced instance: `-old-<yyyymmddhhmm>-<tag>` (workflows/failback.ts). */
export const RETIRED_SUFFIX_LENGTH = '-old-'.length + 'yyyymmddhhmm'.length + '-'.length + 4;

/** CloudWatch's periods: 1, 5, 10, 20 or 30 s (high-resolution metrics only) or a multiple of 60 s (API_GetMetricStatistics, Period). */
function validMetricPeriodMs(ms: number): boolean {
  const s = ms / 1000;
  return Number.isInteger(s) && ([1, 5, 10, 20, 30].includes(s) || (s > 0 && s % 60 === 0));
}

/**
 * A duration such as 30s, 5m or 1h, carried as milliseconds. The pattern is for the JSON Schema (editors)
 * only; the transform decides, with its own message.
 */
export const duration = z
  .string()
  .meta({ description: 'a duration such as 30s, 5m or 1h', pattern: String.raw`^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$` })
  .transform((text, ctx) => {
    const value = /^\d+(\.\d+)?\s*(ms|s|m|h|d)$/.test(text.trim()) ? ms(text.trim() as ms.StringValue) : undefined;
    if (value === undefined || !Number.isFinite(value)) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m or 1h, got ${describeValue(text)}` });
      return z.NEVER;
    }
    return value;
  });

const dnsName = z
  .string()
  .min(1)
  .max(253)
  // Letters of both cases spelled out, not the /i flag: the JSON Schema (drover schema) keeps a pattern, never its flags.
  .regex(/^(\*\.)?([a-zA-Z0-9_]([a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_]([a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_])?\.?$/, {
    error: 'expected a DNS name such as api.example.com',
  })
  .transform((n) => n.replace(/\.$/, '').toLowerCase());

/** A Route 53 hosted zone id (the Id without /hostedzone/): names one zone where public and private zones share a name. */
const zoneId = z
  .string()
  .regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, { error: 'expected a hosted zone id such as Z0123456789ABCDEFGHIJ' })
  .transform((id) => id.replace(/^\/hostedzone\//, ''));

const recordTarget = z.strictObject({
  setIdentifier: z.string().min(1).max(128),
  value: z.string().min(1),
});

const record = z.strictObject({
  name: dnsName,
  type: oneOf(['A', 'AAAA', 'CNAME']),
  ttl: z.int().min(0).max(86400).default(60),
  routing: oneOf(['weighted', 'failover']),
  zone: dnsName.optional(),
  /** The zone by id, where its name is shared (split horizon): lookups by a shared name are refused. */
  zoneId: zoneId.optional(),
  targets: z.record(awsRegion, recordTarget),
});

/**
 * A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters, alphanumeric
 * at both ends with `-`, `_` and `.` between (Kubernetes documentation, "Labels and Selectors", syntax and character set).
 */
const labelKey = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, { error: 'expected a Kubernetes label key such as workload or example.com/tier' })
  .refine((key) => !key.includes('/') || key.indexOf('/') <= 253, { error: 'a label key prefix has at most 253 characters' });
/** A Kubernetes label value: empty, or at most 63 characters, alphanumeric at both ends with `-`, `_` and `.` between. */
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, { error: 'expected a Kubernetes label value: at most 63 letters, digits, -, _ and ., alphanumeric at both ends' });

/** A Kubernetes namespace name (an RFC 1123 label). */
const namespaceName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, { error: 'expected a Kubernetes namespace name' });

const nodeGroup = z.strictObject({
  name,
  standby: z.int().min(0).max(1000),
  active: z.int().min(1).max(1000),
  max: z.int().min(1).max(1000).optional(),
  /** EC2 instance types of the managed node group (used when the cluster is rebuilt from code). */
  instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'expected an EC2 instance type such as m6i.large' })).min(1).default(['m6i.large']),
  diskSize: z.int().min(20).max(16384).default(50),
  /** The EKS AMI type (runbooks/eks.ts); EKS picks its default for the cluster's version when not given. */
  amiType: oneOf(EKS_AMI_TYPES).optional(),
  /** Kubernetes labels EKS puts on the group's nodes (default none). */
  labels: z.record(labelKey, labelValue).optional(),
  /** Kubernetes taints EKS puts on the group's nodes, default none (EKS API Reference, Taint: key 1-63, value 0-63 characters). */
  taints: z
    .array(
      z.strictObject({
        key: z.string().min(1).max(63),
        value: z.string().max(63).optional(),
        effect: oneOf(EKS_TAINT_EFFECTS),
      }),
    )
    .optional(),
});

/** The VPC a cluster lives in, by reference: what a rebuild recreates the cluster into. */
const network = z.strictObject({
  subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: 'expected a subnet id such as subnet-0abc1234' })).min(2, { error: 'EKS needs subnets in at least two availability zones' }),
  securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, { error: 'expected a security group id such as sg-0abc1234' })).default([]),
  endpointPublicAccess: z.boolean().default(false),
});

const addon = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'expected an EKS add-on name such as vpc-cni' }),
  /** The add-on version (v1.19.2-eksbuild.1); required for every add-on of a cluster with `production: true`. */
  version: z.string().min(1).optional(),
  /**
   * Whether the stack gives the add-on its own IAM role for its service account (IRSA), for the add-ons drover knows
   * the service account and policy of (runbooks/eks.ts: aws-ebs-csi-driver, vpc-cni). Default: the cluster's `production`.
   */
  serviceAccountRole: z.boolean().optional(),
});

/**
 * A KMS key ARN (not an alias: a grant and the worker's policy name the key itself):
 * arn:<partition>:kms:<region>:<account>:key/<key id or multi-Region key id>.
 */
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/, {
  error: 'expected a KMS key ARN such as arn:aws:kms:ap-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
});

/** Who may use the cluster's Kubernetes API, through EKS access entries (authentication mode API or API_AND_CONFIG_MAP). */
const clusterAccess = z.strictObject({
  /** Default API: access entries only (no aws-auth ConfigMap). */
  authenticationMode: oneOf(EKS_AUTHENTICATION_MODES).default('API'),
  /**
   * Whether EKS makes the principal that creates the cluster (the worker's role, through OpenTofu) a cluster admin.
   * Default true, EKS's own default (CreateAccessConfigRequest: "The default value is true") and what a redeploy hook
   * that reaches the rebuilt cluster with the worker's token needs. false for least privilege: then list the worker's
   * role in `entries` with what the hook needs.
   */
  bootstrapClusterCreatorAdminPermissions: z.boolean().default(true),
  entries: z
    .array(
      z.strictObject({
        principalArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, { error: 'expected an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins' }),
        /** Kubernetes groups the principal is in (for RBAC bindings of the cluster's own). */
        kubernetesGroups: z.array(z.string().min(1)).default([]),
        policies: z
          .array(
            z.strictObject({
              policyArn: z.string().regex(/^arn:aws[a-z-]*:eks::aws:cluster-access-policy\/[A-Za-z0-9]+$/, { error: 'expected an EKS access policy ARN such as arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy' }),
              /** The whole cluster, or the namespaces listed. */
              scope: oneOf(['cluster', 'namespace']),
              namespaces: z.array(namespaceName).optional(),
            }),
          )
          .default([]),
      }),
    )
    .default([]),
});

const cluster = z.strictObject({
  region: awsRegion,
  name: z.string().min(1).max(100),
  version: z.string().regex(/^\d+\.\d+$/).default('1.31'),
  nodeGroups: z.array(nodeGroup).min(1),
  /** Required for a cluster that `drover rebuild` may recreate. */
  network: network.optional(),
  addons: z.array(addon).default([]),
  /** Authentication mode and access entries; without it: mode API, no creator admin, no entries. */
  access: clusterAccess.optional(),
  /**
   * Envelope encryption of Kubernetes secrets with a customer managed KMS key: the key of each region, by region,
   * so one map (a YAML anchor) serves both clusters; the cluster uses its own region's.
   */
  encryption: z.strictObject({ kmsKeys: z.record(awsRegion, kmsKeyArn) }).optional(),
  /** Control-plane log types sent to CloudWatch Logs (runbooks/eks.ts EKS_LOG_TYPES); default none. */
  controlPlaneLogs: z.array(oneOf(EKS_LOG_TYPES)).optional(),
  /**
   * Production completeness (default false): every add-on pinned to a version and secrets encrypted with a key of
   * the cluster's region.
   */
  production: z.boolean().optional(),
});

/**
 * Why the worker's environment variable `name` may not be passed to a redeploy hook, or `undefined` when
 * it may: the variables that carry the worker's AWS credentials or identity (the SDKs' credential and
 * profile settings, the container and web-identity providers' variables, as the AWS SDKs and Tools
 * Reference Guide's credential providers name them), Temporal's and drover's own settings, and what
 * drover sets for the hook itself. Compared without regard to case.
 */
export function hookVariableRefusal(name: string): string | undefined {
  const upper = name.toUpperCase();
  // AWS_ACCESS_KEY and AWS_SECRET_KEY: the alternate names the AWS SDK for Java 1.x still reads.
  const credentials = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY', 'AWS_SECRET_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE'];
  if (credentials.includes(upper) || upper.startsWith('AWS_CONTAINER_CREDENTIALS_') || upper.startsWith('AWS_CONTAINER_AUTHORIZATION_TOKEN')) {
    return `${name} carries the worker's own AWS credentials or identity, which a redeploy hook never gets`;
  }
  if (upper.startsWith('TEMPORAL_') || upper.startsWith('DROVER_')) {
    return `${name} is one of the worker's own settings (TEMPORAL_*, DROVER_*), which a redeploy hook never gets; drover sets DROVER_RUNBOOK, DROVER_REGION and DROVER_CLUSTER itself`;
  }
  if (['HOME', 'KUBECONFIG', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EC2_METADATA_DISABLED'].includes(upper)) {
    return `${name} is set by drover for the redeploy hook`;
  }
  return undefined;
}

/** The name of an environment variable a redeploy hook gets from the worker's environment. */
const hookVariable = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name: letters, digits and underscores, not starting with a digit' })
  .superRefine((value, ctx) => {
    const refusal = hookVariableRefusal(value);
    if (refusal !== undefined) ctx.addIssue({ code: 'custom', message: refusal });
  });

/**
 * Why a module `source` does not pin one version of the code, or undefined when it does. A registry address
 * (`[host/]namespace/name/system`) is pinned by an exact `version`; a Git address (`git::...`, `github.com/...`,
 * `git@...`) by `?ref=` naming a commit (40 hex digits; a tag can be moved after approval), and takes no `version`
 * ("Module Sources" and the `version` argument, which only registry sources accept:
 * https://opentofu.org/docs/language/modules/sources/). Local paths name no version (use `module.dir`);
 * HTTP archives, S3, GCS and Mercurial sources are refused: drover cannot tell what they pin.
 */
export function moduleSourceRefusal(source: string, version: string | undefined): string | undefined {
  if (/^\.{1,2}\//.test(source) || source.startsWith('/')) return 'is a local path, which names no version: give the directory as rebuild.code.module.dir instead';
  const git = /^(git::|github\.com\/|git@|bitbucket\.org\/)/.test(source);
  if (git) {
    if (version !== undefined) return 'is a Git source, which takes no version (only registry sources do): pin it with ?ref= in the source';
    const ref = /[?&]ref=([^&]+)/.exec(source)?.[1];
    if (!ref) return 'is a Git source without ?ref=: it would follow a branch. Pin a commit (?ref=<40 hex digits>)';
    // A tag can be moved to another commit after the plan was approved; only a commit names one content.
    if (!/^[0-9a-f]{40}$/.test(ref)) return `pins ?ref=${ref}, which is not a commit: a branch moves, and so can a tag after the plan was approved. Pin the commit (?ref=<40 hex digits>)`;
    return undefined;
  }
  if (/^[A-Za-z0-9][A-Za-z0-9-]*::|^https?:\/\/|^s3::|^gcs::|^hg::/.test(source)) return 'is a source whose version drover cannot tell: use a module registry address with an exact version, or a Git source pinned with ?ref=<commit>';
  const registry = /^([a-z0-9.-]+\.[a-z]{2,}\/)?[0-9A-Za-z_-]+\/[0-9A-Za-z_-]+\/[0-9a-z]+(\/\/.*)?$/.test(source);
  if (!registry) return 'is not a module registry address (namespace/name/system) nor a pinned Git source';
  if (version === undefined) return 'is a registry module without a version: give its exact version (version: 20.31.6), or every rebuild may take a newer release';
  if (!/^=?\s*v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) return `has the version constraint "${version}", which may match several releases: give one exact version (20.31.6)`;
  return undefined;
}

/** Input variables of the team's code: JSON values, written to a -var-file drover owns. */
const tfValue: z.ZodType<unknown> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(tfValue), z.record(z.string(), tfValue)]));
const tfVariables = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { error: 'expected a Terraform variable name' }), tfValue);

/** `-backend-config` keys: a partial backend configuration completed by the runbook (no credentials: they would be kept in every run's history). */
const backendConfig = z.record(
  z.string().regex(/^[a-z_][a-z0-9_]*$/, { error: 'expected a backend setting name such as bucket or key' }),
  // Strings, as -backend-config=key=value passes them ("true", "3"); a YAML number or boolean is refused, not guessed.
  z.string(),
);

/** The absolute directory of the team's own code, as the worker sees it; `{region}` is replaced by the rebuilt region. */
const codeDir = z.string().min(1).refine((d) => d.startsWith('/'), { error: 'must be an absolute path: it is read on the worker, whatever its working directory' });

/** Per region, merged over the backend settings: each region's own state (its own key, its own path). */
const regionBackendConfig = z.record(awsRegion, backendConfig).default({});

/**
 * The OpenTofu workspace (TF_WORKSPACE; `{region}` is replaced by the rebuilt region): another workspace is another
 * state in the same backend ("TF_WORKSPACE", https://opentofu.org/docs/cli/config/environment-variables/).
 */
const workspace = z.string().regex(/^[A-Za-z0-9_.{}-]+$/, { error: 'expected a workspace name: letters, digits, "_", "-", "." and {region}' }).optional();

/** Arguments of a module block that OpenTofu reads itself: as variables they would replace the pin or the module's meta-arguments. */
export const MODULE_META_ARGUMENTS = ['source', 'version', 'count', 'for_each', 'providers', 'depends_on'] as const;

/**
 * The team's own infrastructure code for the cluster, instead of drover's built-in stack (docs/rebuild-cluster.md,
 * "Bring your own IaC"). drover runs the same pipeline on it and never writes into it.
 */
const teamCode = z.union([
  z.strictObject({
    module: z.union([
      z.strictObject({
        /** A root module: its own backend block, providers and lock file. `{region}` allowed. */
        dir: codeDir,
        vars: tfVariables.default({}),
        /** Per region, merged over vars. */
        regionVars: z.record(awsRegion, tfVariables).default({}),
        /** Completes a partial backend block (`-backend-config=key=value`). */
        backendConfig: backendConfig.default({}),
        regionBackendConfig,
        workspace,
      }),
      z.strictObject({
        /** A pinned module (registry address with an exact version, or Git with ?ref=<commit>), called from a root drover writes. */
        source: z.string().min(1),
        version: z.string().min(1).optional(),
        vars: tfVariables.default({}),
        regionVars: z.record(awsRegion, tfVariables).default({}),
        /** The team's backend for that root: its type and settings (never drover's own state), regionConfig per region over config. */
        backend: z.strictObject({ type: z.string().regex(/^[a-z][a-z0-9_]*$/, { error: 'expected a backend type such as s3' }), config: backendConfig.default({}), regionConfig: regionBackendConfig }),
        workspace,
      }),
    ]),
  }),
  z.strictObject({
    cdktf: z.strictObject({
      /** The CDK for Terraform app's directory: its synth command runs here. */
      dir: codeDir,
      /**
       * The app's synth command (argv), e.g. [node, main.js] (its App writes to $CDKTF_OUTDIR), or
       * [npx, cdktf, synth, --output, '{outdir}']: `{outdir}` is replaced by the run's output directory (cdktf-cli sets
       * CDKTF_OUTDIR itself from --output, so without it the stack would be written into the app's directory).
       */
      // Required (no default; crossFieldChecks names a missing one at its path, where the union would only say "Invalid input").
      synth: z.array(z.string().min(1)).min(1).optional(),
      /** The stack to apply; `{region}` is replaced by the rebuilt region. A name, never a path. */
      stack: z
        .string()
        .regex(/^[A-Za-z0-9_.{}-]+$/, { error: 'expected a stack name: letters, digits, "_", "-", "." and {region}' })
        .refine((s) => !s.includes('..'), { error: 'must not hold "..": it names a stack, not a path' }),
      vars: tfVariables.default({}),
      regionVars: z.record(awsRegion, tfVariables).default({}),
      backendConfig: backendConfig.default({}),
      regionBackendConfig,
      workspace,
      /** Worker environment variables the synth command gets (as the redeploy hook's passEnv). */
      passEnv: z.array(hookVariable).optional(),
      timeout: duration.prefault('10m'),
    }),
  }),
]);

/** How `drover rebuild` recreates a region's EKS cluster from code (CDK for Terraform, applied with OpenTofu). */
const rebuild = z.strictObject({
  /** The OpenTofu or Terraform binary; default: $DROVER_TOFU, else the project's pinned OpenTofu. */
  binary: z.string().min(1).optional(),
  /** The team's own Terraform/OpenTofu module or CDK for Terraform app; absent: drover's built-in stack (infra/eks). */
  code: teamCode.optional(),
  /** Where the stack's state lives. local: a directory outside the repo (the embedded default); s3: with locking. */
  backend: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('local'), dir: z.string().min(1).optional() }),
      z.strictObject({
        type: z.literal('s3'),
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'expected an S3 bucket name' }),
        /** Default: drover/<runbook>/<region>/terraform.tfstate */
        key: z.string().min(1).optional(),
        region: awsRegion.optional(),
      }),
    ], { error: 'expected backend type "local" or "s3"' })
    .prefault({ type: 'local' }),
  /**
   * Resource addresses a plan may destroy or replace, as globs (aws_eks_addon.*). Anything else
   * a plan would destroy refuses the rebuild before apply.
   */
  allowDestroy: z.array(z.string().min(1)).default([]),
  /**
   * Differences from the last recorded cluster (readiness records each cluster) that the team accepts, as globs over
   * field paths (`version`, `nodeGroups.*.instanceTypes`, `addons.vpc-cni.version`). Any other difference the
   * rebuilt cluster shows fails its verification, naming the field (docs/rebuild-cluster.md, "Rebuild what was there").
   */
  acceptDifferences: z.array(z.string().min(1)).default([]),
  /** How long one OpenTofu command (init, plan or apply) may run. */
  timeout: duration.prefault('60m'),
  /** Runs after the apply, with KUBECONFIG for the new cluster: an Argo CD sync, kubectl apply -k, ... */
  redeploy: z
    .strictObject({
      command: z.array(z.string().min(1)).min(1),
      timeout: duration.prefault('15m'),
      /**
       * Worker environment variables the hook gets as they are (ARGOCD_SERVER, HELM_CACHE_HOME, ...), on
       * top of its minimal environment; never the worker's credentials or identity (hookVariableRefusal).
       */
      passEnv: z.array(hookVariable).optional(),
    })
    .optional(),
});

const probe = z.strictObject({
  name,
  // Credentials in a probe URL would travel into the run's inputs, history and errors: refused.
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).refine((u) => URL.canParse(u) && !new URL(u).username && !new URL(u).password, {
    error: 'a probe URL carries no credentials (user:password@): they would be kept in every run\'s history; probe a health endpoint that needs none',
  }),
  expectStatus: z.int().min(100).max(599).default(200),
  timeout: duration.prefault('5s'),
});

const gateName = oneOf(['failover', 'failback', 'promote', 'rebuild-plan', 'rebuild-force', 'cleanup']);

/** An IAM principal: an exact ARN, an ARN pattern (`*` any characters, `?` one), or a plain id (only with trustClientIdentity). */
const principal = z.string().trim().min(1).max(2048);

const snsTopicArn = z.string().regex(/^arn:aws[a-z-]*:sns:[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, {
  error: 'expected an SNS topic ARN such as arn:aws:sns:ap-southeast-1:123456789012:drover-escalations',
});

/** Who may approve one gate, how many of them, and what happens when nobody does in time. */
const gatePolicy = z.strictObject({
  /** Default: approvals.approvers. */
  principals: z.array(principal).min(1).optional(),
  /** Distinct principals whose approval the gate needs (M of N). */
  required: z.int().min(1).max(20).default(1),
  /** Whether the run's requester may approve their own run. */
  selfApproval: z.boolean().default(false),
  /** Default: the run's approval timeout (1 h). */
  timeout: duration.optional(),
  /** abort: the run ends and nothing after the gate changes; proceed (drills only): the run continues. */
  onTimeout: oneOf(['abort', 'proceed']).default('abort'),
  /** Send an escalation to notifications.snsTopicArn this long into the wait, if the gate is still pending. */
  escalateAfter: duration.optional(),
});

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A clock time HH:MM (24 h); 24:00 is the end of the day. */
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { error: 'expected a time such as 02:00 or 24:00' });

/** An IANA time zone name, as Intl knows them (runbook drill windows, `drover drill schedule --timezone`). */
export const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { error: (iss) => `expected an IANA time zone such as Asia/Kolkata or UTC, got ${describeValue(iss.input)}` },
);

/** When drills may run: on these days, between these times, in this time zone. */
const drillWindow = z.strictObject({
  days: z.array(oneOf(DAYS)).min(1).default([...DAYS]),
  from: clock,
  to: clock,
  timezone: timeZone.default('UTC'),
});

/** A KMS key as RDS takes one: a key ARN, key id, alias ARN or alias name. */
const kmsKeyId = z.string().regex(/^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias\/[A-Za-z0-9/_-]+)$/, {
  error: 'expected a KMS key ARN, key id, alias ARN or alias name such as alias/apnakart-db',
});

/**
 * One side's instance, and what a replica drover re-creates on that side is made with where the instance it replaces
 * cannot say (it is gone) or the team wants another (docs/failback.md, "What a re-created replica is made with"):
 * settings of that side's region, by name.
 */
const side = z.strictObject({
  identifier: rdsIdentifier,
  kmsKeyId: kmsKeyId.optional(),
  /** The DB subnet group (in that region) the replica is placed in. */
  subnetGroup: z.string().min(1).max(255).optional(),
  /** VPC security groups by name (in that region, in the subnet group's VPC). */
  securityGroups: z.array(z.string().min(1).max(255)).min(1).optional(),
  parameterGroup: z.string().min(1).max(255).optional(),
  optionGroup: z.string().min(1).max(255).optional(),
});

/** One database the application writes to: a primary, its cross-region replica, and how to fence and repoint them. */
const database = z.strictObject({
  /** How CLI flags, child workflow ids and reports name this database (required in `databases`). */
  name: name.optional(),
  engine: oneOf(['postgres', 'mysql', 'mariadb', 'aurora-global']),
  /** For engine aurora-global: the global cluster; primary/replica identifiers are then DB cluster identifiers. */
  globalClusterIdentifier: identifier.optional(),
  instanceClass: z.string().default('db.r6g.large'),
  /**
   * Each side's instance. `kmsKeyId`: the KMS key (key ARN, key id, alias ARN or alias name, in that side's region)
   * that an encrypted replica drover re-creates there is encrypted with; without it, the key of the instance the
   * replica replaces (needed when that instance is gone). An encrypted cross-region replica needs a key of its own
   * region (CreateDBInstanceReadReplica, KmsKeyId).
   */
  primary: side,
  replica: side,
  maxReplicaLag: duration,
  /**
   * CloudWatch period used to read ReplicaLag (RDS publishes it every 60 s, at standard resolution: keep the
   * default). A multiple of 60 s, or 1, 5, 10, 20 or 30 s, which only high-resolution metrics fill: an
   * emulator's feeder publishes those, RDS does not.
   */
  lagPeriod: duration.prefault('60s').refine(validMetricPeriodMs, { error: 'CloudWatch takes a period of 1s, 5s, 10s, 20s, 30s or a multiple of 60s (RDS publishes ReplicaLag once a minute: 60s)' }),
  /** How long a planned promotion waits, fenced, for lag 0 before it unfences and stops. */
  lagZeroTimeout: duration.prefault('5m'),
  /** How writes are fenced on the current primary before a planned promotion. */
  fence: z
    .strictObject({
      method: oneOf(['security-group', 'none']),
      /** security-group: the VPC security group (by name, in each region) that admits no clients. */
      groupName: z.string().min(1).optional(),
    })
    .prefault({ method: 'none' }),
  /**
   * How drover's worker reaches the engines themselves, to end every client session on a fenced writer and prove its
   * final write position replayed before a promotion (docs/fence.md). Without it, the fence is the security-group swap
   * and the proof CloudWatch's ReplicaLag (weaker evidence, said so in the report).
   */
  access: z
    .strictObject({
      /**
       * The Secrets Manager secret (name or ARN) holding the master user's {username, password}, read by the activity at
       * the moment it connects, never carried in a run's input or history. A name is read in each side's own region (a
       * secret replicated to the standby region keeps its name), an ARN in its own. Not the RDS-managed secret: RDS
       * refuses to create a read replica of an instance whose master password it manages (RDS User Guide, "Limitations
       * for Secrets Manager integration with Amazon RDS"), so a replicated pair never has one.
       */
      secretId: z.string().min(1).max(2048),
      /** The replica side's secret, when not `secretId` (e.g. an ARN of the standby region). */
      replicaSecretId: z.string().min(1).max(2048).optional(),
      /** The database to connect to; default `postgres` (PostgreSQL), none (MariaDB). */
      database: z.string().min(1).max(63).optional(),
      /** TLS to the engine: verify-full (the certificate chains to caFile and names the instance's host) or off (the tests' loopback servers only). */
      tls: oneOf(['verify-full', 'off']).default('verify-full'),
      /** A PEM bundle of the CAs the engine's certificate chains to: RDS's (AWS publishes it as global-bundle.pem); required with verify-full. */
      caFile: z.string().min(1).optional(),
      /** How long the fenced writer must show no client session to count as stopped (0.5 s to 10 s: it heartbeats through it). */
      quietWindow: duration.prefault('2s').refine((ms) => ms >= 500 && ms <= 10_000, { error: 'between 500ms and 10s (writes stay fenced meanwhile; under half a second proves little)' }),
      /** How long the fence may try to prove that before the planned promotion stops and unfences. */
      proofTimeout: duration.prefault('60s'),
    })
    .optional(),
  /** Security group (by name) the application's database instances use; new replicas get it. */
  securityGroupName: z.string().min(1).optional(),
  /** What happens to a replaced instance: keep (renamed and tagged) or delete (after a final snapshot). */
  retention: oneOf(['keep', 'delete']).default('keep'),
  /** How long a kept instance is kept: `drover cleanup --delete` deletes those older (after a final snapshot). None: until asked with --older-than. */
  retainFor: duration.optional(),
  writerRecord: z.strictObject({ name: dnsName, zone: dnsName.optional(), zoneId: zoneId.optional(), ttl: z.int().min(0).max(86400).default(30) }),
});

const baseSchema = z.strictObject({
    version: z.literal(1, { error: 'expected 1 (the only runbook version so far)' }),
    name,
    description: z.string().optional(),
    application: z
      .strictObject({
        services: z.array(name).default([]),
      })
      .default({ services: [] }),
    regions: z.strictObject({
      primary: awsRegion,
      standby: awsRegion,
      /** Region names AWS launched after this drover release (validation checks every other name against AWS's SDK's list). */
      unlisted: z.array(awsRegion).optional(),
    }),
    dns: z.strictObject({
      hostedZone: dnsName,
      /** The hosted zone by id (its name is `hostedZone`): needed when a public and a private zone share the name. */
      hostedZoneId: zoneId.optional(),
      records: z.array(record).min(1),
      shift: z.strictObject({
        steps: z.array(z.int().min(1).max(100)).min(1).max(20),
        soak: duration,
      }),
    }),
    /** One database (the common case); or several in `databases`, each failed over and back in parallel. */
    database: database.optional(),
    databases: z.array(database).min(1).max(20).optional(),
    compute: z.strictObject({ clusters: z.array(cluster).min(1) }),
    health: z.strictObject({
      alarms: z.record(awsRegion, z.array(alarmName)).default({}),
      /**
       * How an alarm in INSUFFICIENT_DATA counts in preflight, soaks and verification: healthy (an alarm on an event
       * metric with no events, or just created, has no data to evaluate) or a breach. ALARM and a missing alarm are
       * always breaches.
       */
      insufficientData: insufficientDataPolicy.default('healthy'),
      /** The same, per alarm name, over the runbook-wide value. */
      insufficientDataByAlarm: z.record(alarmName, insufficientDataPolicy).default({}),
      probes: z.record(awsRegion, z.array(probe)).default({}),
      interval: duration.prefault('5s'),
    }),
    approvals: z.strictObject({
      /** The default principals of every gate: ARNs, ARN patterns, or (with trustClientIdentity) plain ids. */
      approvers: z.array(principal).default([]),
      gates: z.array(gateName).default([]),
      /** Accept identities asserted with `--as` (local development); every event they produce is labelled unverified. */
      trustClientIdentity: z.boolean().default(false),
      /**
       * Who may request a run whose requester must be verified (a gate forbids self-approval): principals as for
       * approvers. Default: every principal of the runbook's gates, so a requester is someone the team listed.
       */
      requesters: z.array(principal).min(1).optional(),
      /** Per-gate policy; a gate without one needs one approval from `approvers` within the run's approval timeout. */
      policies: z.partialRecord(gateName, gatePolicy).default({}),
      /** Moved to the top-level `notifications`; kept only to say so. */
      notify: z.never({ error: 'moved: name the topic in notifications: { snsTopicArn } at the top level of the runbook' }).optional(),
    }),
    /** Where the runbook's runs publish their events (approval requests, escalations, failed steps, run ends). */
    notifications: z.strictObject({ snsTopicArn }).optional(),
    objectives: z.strictObject({ rto: duration, rpo: duration }),
    /** Where the tamper-evident audit trail goes besides the worker's local JSONL directory. */
    audit: z
      .strictObject({
        s3: z
          .strictObject({
            bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'expected an S3 bucket name (3-63 lower-case letters, digits, dots, dashes)' }),
            /** Default: the standby region, so the trail survives the loss of the primary. */
            region: awsRegion.optional(),
            prefix: z.string().max(200).optional(),
            mode: oneOf(['COMPLIANCE', 'GOVERNANCE']).default('GOVERNANCE'),
            retentionDays: z.int().min(1).max(36500).default(365),
          })
          .optional(),
      })
      .optional(),
    rebuild: rebuild.optional(),
    /** Scheduled DR drills: a failover in drill mode, verification, the automatic failback and a report. */
    drills: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** Drills start only inside one of these windows. */
        windows: z.array(drillWindow).default([]),
        /** Approval gates are approved automatically (as "drover-drill") during drills. */
        autoApprove: z.boolean().default(true),
        /** A drill is refused until this long after a real failover or failback ended. */
        cooldown: duration.prefault('24h'),
        /** What a drill's failback does with the instances it replaces (after their final snapshots): delete, unless kept for inspection. */
        retention: oneOf(['keep', 'delete']).default('delete'),
        /** Readiness (docs/readiness.md) is degraded when the last successful drill ended longer ago than this. */
        maxAge: duration.optional(),
      })
      .prefault({}),
});

/** A path for a message: databases[2] or database. */
function formatAt(at: (string | number)[]): string {
  return at.map((k) => (typeof k === 'number' ? `[${k}]` : k)).join('');
}

/** Checks that span several fields. Runs on partly invalid input too, so each section guards itself. */
/** Whether a DNS name is a zone's apex or under it (both already lower-case, without the final dot). */
function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

function crossFieldChecks(rb: z.output<typeof baseSchema>, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const section = (check: () => void) => {
    try {
      check();
    } catch {
      // That part of the runbook is malformed; its shape errors are already reported.
    }
  };
  if (typeof rb !== 'object' || rb === null) return;
  // Only well-formed region names take part: a bad one is reported once, by its own field.
  const pair = [rb.regions?.primary, rb.regions?.standby].filter((r): r is string => awsRegion.safeParse(r).success);
  const inPair = (region: string, path: (string | number)[]) => {
    if (pair.length === 2 && pair[0] !== pair[1] && awsRegion.safeParse(region).success && !pair.includes(region)) {
      issue(path, `region ${region} is neither the primary (${pair[0]}) nor the standby (${pair[1]})`);
    }
  };

  section(() => {
    if (pair.length === 2 && pair[0] === pair[1]) issue(['regions', 'standby'], `must differ from the primary region (${pair[0]})`);
  });

  // A well-formed name AWS does not have (ap-south-3, us-est-1) would fail only at the first call into it.
  section(() => {
    const unlisted = new Set(rb.regions.unlisted ?? []);
    const known = (at: (string | number)[], region: unknown) => {
      if (typeof region !== 'string' || !awsRegion.safeParse(region).success || AWS_REGIONS.includes(region) || unlisted.has(region)) return;
      issue(at, `${region} is not an AWS region drover knows${didYouMean(region, AWS_REGIONS)}; if AWS launched it after this release, list it under regions.unlisted`);
    };
    known(['regions', 'primary'], rb.regions.primary);
    known(['regions', 'standby'], rb.regions.standby);
    // One set of credentials and endpoints serves both regions: a pair across partitions (aws and aws-us-gov,
    // aws-cn, ...) cannot fail over. Regions drover does not know (regions.unlisted) have no known partition.
    const [pp, sp] = [AWS_REGION_PARTITION[rb.regions.primary], AWS_REGION_PARTITION[rb.regions.standby]];
    if (pp && sp && pp !== sp) issue(['regions', 'standby'], `${rb.regions.standby} is in partition ${sp}, the primary ${rb.regions.primary} in ${pp}: a failover cannot cross AWS partitions`);
    section(() => known(['audit', 's3', 'region'], rb.audit?.s3?.region));
    section(() => known(['rebuild', 'backend', 'region'], rb.rebuild?.backend.type === 's3' ? rb.rebuild.backend.region : undefined));
  });

  section(() =>
    rb.dns.records.forEach((r, i) => {
      for (const region of pair) {
        if (!r.targets[region]) issue(['dns', 'records', i, 'targets', region], `missing set identifier for region ${region}`);
      }
      for (const region of Object.keys(r.targets)) inPair(region, ['dns', 'records', i, 'targets', region]);
      const ids = pair.map((region) => r.targets[region]?.setIdentifier).filter(Boolean);
      if (ids.length === 2 && pair[0] !== pair[1] && ids[0] === ids[1]) issue(['dns', 'records', i, 'targets'], 'the two regions need different set identifiers');
    }),
  );

  // Route 53 holds only names at or under a zone's apex: a record outside it is refused when it is written
  // (ChangeResourceRecordSets: InvalidChangeBatch, "RRSet with DNS name ... is not permitted in zone ..."),
  // which for a traffic record or a writer record is in the middle of a failover.
  section(() =>
    rb.dns.records.forEach((r, i) => {
      const zone = r.zone ?? rb.dns.hostedZone;
      if (!inZone(r.name, zone)) issue(['dns', 'records', i, 'name'], `${r.name} is not in zone ${zone} (${r.zone ? `dns.records[${i}].zone` : 'dns.hostedZone'}): a record must be the zone's name or end with .${zone}`);
    }),
  );

  section(() => {
    const seen = new Map<string, number>();
    rb.dns.records.forEach((r, i) => {
      const key = `${r.zone ?? rb.dns.hostedZone}|${r.name}|${r.type}`;
      if (seen.has(key)) issue(['dns', 'records', i, 'name'], `duplicates dns.records[${seen.get(key)}] (${r.name} ${r.type})`);
      else seen.set(key, i);
    });
  });

  section(() => {
    const steps = rb.dns.shift.steps;
    steps.forEach((s, i) => {
      if (i > 0 && s <= steps[i - 1]) issue(['dns', 'shift', 'steps', i], `steps must increase (${steps[i - 1]} then ${s})`);
    });
    if (steps.length > 0 && steps[steps.length - 1] !== 100) {
      issue(['dns', 'shift', 'steps'], `must end at 100, ends at ${steps[steps.length - 1]}`);
    }
  });

  section(() => {
    rb.compute.clusters.forEach((c, i) => {
      inPair(c.region, ['compute', 'clusters', i, 'region']);
      c.nodeGroups.forEach((g, j) => {
        const at = ['compute', 'clusters', i, 'nodeGroups', j];
        if (g.standby > g.active) issue([...at, 'standby'], `standby capacity ${g.standby} exceeds active capacity ${g.active}`);
        if (g.max !== undefined && g.max < g.active) issue([...at, 'max'], `max ${g.max} is below active capacity ${g.active}`);
      });
    });
    rb.compute.clusters.forEach((c, i) => section(() => clusterChecks(c, ['compute', 'clusters', i], issue)));
    if (pair.length === 2 && !rb.compute.clusters.some((c) => c.region === pair[1])) {
      issue(['compute', 'clusters'], `no cluster in the standby region ${pair[1]}`);
    }
  });

  section(() => Object.keys(rb.health.alarms).forEach((region) => inPair(region, ['health', 'alarms', region])));
  // A policy for an alarm no region lists (a typo) would never apply.
  section(() => {
    const listed = new Set(Object.values(rb.health.alarms).flat());
    for (const alarm of Object.keys(rb.health.insufficientDataByAlarm ?? {})) {
      if (!listed.has(alarm)) issue(['health', 'insufficientDataByAlarm', alarm], `alarm ${alarm} is not listed in health.alarms${didYouMean(alarm, [...listed])}`);
    }
  });
  section(() => Object.keys(rb.health.probes).forEach((region) => inPair(region, ['health', 'probes', region])));

  section(() => {
    const one = rb.database !== undefined;
    const many = rb.databases !== undefined;
    if (one && many) issue(['databases'], 'give either database (one) or databases (a list), not both');
    if (!one && !many) issue(['database'], 'required (or databases, a list of them)');
    const entries: Array<[(string | number)[], NonNullable<typeof rb.database>]> = many
      ? (rb.databases ?? []).map((d, i) => [['databases', i], d])
      : one && rb.database ? [[['database'], rb.database]] : [];
    const seen = new Map<string, string>();
    /** The first use of `key` (of any kind) wins; a later one is a duplicate. */
    const unique = (at: (string | number)[], kind: string, value: string | undefined, where: string) => {
      if (value === undefined) return;
      const key = `${kind}|${value}`;
      const first = seen.get(key);
      if (first) issue(at, `${kind} ${value} is already used by ${first}`);
      else seen.set(key, where);
    };
    for (const [at, db] of entries) {
      const where = formatAt(at);
      section(() => {
        if (many && !db.name) issue([...at, 'name'], 'required in a list of databases (CLI flags, workflow ids and reports name it)');
        if (many) unique([...at, 'name'], 'database name', db.name, where);
        unique([...at, 'primary', 'identifier'], 'identifier', db.primary.identifier, `${where}.primary`);
        unique([...at, 'replica', 'identifier'], 'identifier', db.replica.identifier, `${where}.replica`);
        unique([...at, 'writerRecord', 'name'], 'writer record', db.writerRecord.name, where);
      });
      section(() => {
        const zone = db.writerRecord.zone ?? rb.dns.hostedZone;
        if (!inZone(db.writerRecord.name, zone)) issue([...at, 'writerRecord', 'name'], `${db.writerRecord.name} is not in zone ${zone} (${db.writerRecord.zone ? `${where}.writerRecord.zone` : 'dns.hostedZone'}): a record must be the zone's name or end with .${zone}`);
      });
      section(() => {
        if (db.fence.method === 'security-group' && !db.fence.groupName) issue([...at, 'fence', 'groupName'], 'required when the fence method is security-group');
      });
      section(() => {
        if (db.retainFor !== undefined && db.retention === 'delete') issue([...at, 'retainFor'], 'applies to kept instances only, and retention is delete (a replaced instance is deleted at once)');
      });
      section(() => {
        // A kept instance is renamed <identifier>-old-<yyyymmddhhmm>-<tag>, and RDS identifiers have at most 63 characters.
        if (db.retention !== 'keep' || db.engine === 'aurora-global') return;
        const most = 63 - RETIRED_SUFFIX_LENGTH;
        for (const side of ['primary', 'replica'] as const) {
          const id = db[side].identifier;
          if (id.length > most) issue([...at, side, 'identifier'], `at most ${most} characters with retention keep (this one has ${id.length}): a replaced instance is kept as ${id}-old-<yyyymmddhhmm>-<tag>, ${RETIRED_SUFFIX_LENGTH} characters more, and RDS identifiers have at most 63; shorten it or set retention: delete`);
        }
      });
      section(() => {
        // KMS keys are regional: "you can't use KMS keys from one AWS Region in another AWS Region" (CreateDBInstanceReadReplica, KmsKeyId).
        const sides = [['primary', rb.regions.primary], ['replica', rb.regions.standby]] as const;
        for (const [side, region] of sides) {
          const keyRegion = /^arn:[^:]+:kms:([^:]+):/.exec(db[side].kmsKeyId ?? '')?.[1];
          if (keyRegion && awsRegion.safeParse(region).success && keyRegion !== region) issue([...at, side, 'kmsKeyId'], `is a key of ${keyRegion}, but the ${side} is in ${region}: KMS keys are regional, give a key of ${region}`);
        }
      });
      section(() => {
        // Positions are read for PostgreSQL (LSNs) and MariaDB (GTIDs); MySQL's binlog coordinates and Aurora's are not yet.
        if (db.access && db.engine !== 'postgres' && db.engine !== 'mariadb') issue([...at, 'access'], `engine access is supported for postgres and mariadb; ${db.engine} uses the security-group fence and CloudWatch's ReplicaLag (docs/fence.md)`);
        // Node's own CA list holds no RDS CA: without the bundle every connection fails its TLS check.
        if (db.access?.tls === 'verify-full' && !db.access.caFile) issue([...at, 'access', 'caFile'], "required with tls verify-full: the PEM bundle of RDS's CAs (global-bundle.pem), which Node's CA list does not hold");
        // An ARN is read in its own region: the replica side would read the primary region's secret, which an unplanned failover may not reach.
        const secretRegion = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(db.access?.secretId ?? '')?.[1];
        if (db.access && !db.access.replicaSecretId && secretRegion && secretRegion !== rb.regions.standby) issue([...at, 'access', 'replicaSecretId'], `required when secretId is an ARN of ${secretRegion}: the replica side would read the secret there, which an unplanned failover may not reach; give the secret's replica in ${rb.regions.standby} (or name the secret, read in each region)`);
        const replicaRegion = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(db.access?.replicaSecretId ?? '')?.[1];
        if (replicaRegion && replicaRegion !== rb.regions.standby) issue([...at, 'access', 'replicaSecretId'], `is an ARN of ${replicaRegion}, but the replica is in ${rb.regions.standby}: an unplanned failover reads it while ${rb.regions.primary} may be lost; give the secret's replica in ${rb.regions.standby}`);
      });
      section(() => {
        if (db.engine === 'aurora-global' && !db.globalClusterIdentifier) issue([...at, 'globalClusterIdentifier'], 'required when the engine is aurora-global');
      });
    }
  });

  section(() => {
    rb.drills.windows.forEach((w, i) => {
      if (w.from >= w.to) issue(['drills', 'windows', i, 'to'], `must be later than from (${w.from})`);
    });
    if (rb.drills.enabled && rb.drills.windows.length === 0) issue(['drills', 'windows'], 'name at least one window when drills are enabled');
  });

  section(() => {
    if (!rb.rebuild) return;
    const code = rb.rebuild.code;
    // The team's own code describes the network itself; the built-in stack needs it from the runbook.
    if (!code) {
      rb.compute.clusters.forEach((c, i) => {
        if (!c.network) issue(['compute', 'clusters', i, 'network'], `required when the runbook has a rebuild section (cluster ${c.name})`);
      });
    }
    const at = code && 'module' in code ? ['rebuild', 'code', 'module'] : ['rebuild', 'code', 'cdktf'];
    const settings = code && ('module' in code ? code.module : code.cdktf);
    if (code && 'module' in code && 'source' in code.module) {
      const refusal = moduleSourceRefusal(code.module.source, code.module.version);
      if (refusal) issue([...at, refusal.startsWith('has the version') || refusal.includes('without a version') ? 'version' : 'source'], `${code.module.source} ${refusal}`);
    }
    if (code && settings) {
      const regions = [rb.regions.primary, rb.regions.standby];
      const source = 'module' in code && 'source' in code.module ? code.module : undefined;
      // Backend settings are kept in every run's input and history: a credential among them is refused, by its
      // name or by a value that looks like one (a password in a URL, a key).
      const backends: Array<{ at: (string | number)[]; config: Record<string, string> }> = source
        ? [{ at: [...at, 'backend', 'config'], config: source.backend.config }, ...Object.entries(source.backend.regionConfig).map(([r, c]) => ({ at: [...at, 'backend', 'regionConfig', r], config: c }))]
        : [
            { at: [...at, 'backendConfig'], config: 'backendConfig' in settings ? settings.backendConfig : {} },
            ...Object.entries('regionBackendConfig' in settings ? settings.regionBackendConfig : {}).map(([r, c]) => ({ at: [...at, 'regionBackendConfig', r], config: c })),
          ];
      for (const backend of backends) {
        for (const [key, value] of Object.entries(backend.config)) {
          if (CREDENTIAL_SETTING.test(key)) issue([...backend.at, key], "carries a credential, which would be kept in every run's history: let the backend take it from the worker's environment or credential chain");
          else if (secretLooking(value)) issue([...backend.at, key], "looks like a credential (a password in a URL, a key or a token), which would be kept in every run's history: let the backend take it from the worker's environment or credential chain");
        }
      }
      // Variables are written to a file and kept in the run's input too.
      const varSets: Array<{ at: (string | number)[]; vars: Record<string, unknown> }> = [
        { at: [...at, 'vars'], vars: settings.vars },
        ...Object.entries(settings.regionVars).map(([r, v]) => ({ at: [...at, 'regionVars', r], vars: v })),
      ];
      for (const set of varSets) {
        for (const [leaf, value] of stringLeaves(set.vars, [])) {
          if (secretLooking(value)) issue([...set.at, ...leaf], "looks like a credential, which would be kept in every run's history and in the variables file: let the code read it from a secret store");
        }
        // A module block's own arguments: as variables they would replace the pin (source, version) or its meta-arguments.
        if (source) {
          for (const name of Object.keys(set.vars)) {
            if ((MODULE_META_ARGUMENTS as readonly string[]).includes(name)) issue([...set.at, name], `is an argument of the module block itself (${MODULE_META_ARGUMENTS.join(', ')}), not a variable of the module: it would override the pinned source`);
          }
        }
      }
      if ('cdktf' in code && !code.cdktf.synth) issue([...at, 'synth'], "required: the app's synth command, e.g. [node, main.js] or [npx, cdktf, synth, --output, '{outdir}'] (cdktf-cli sets CDKTF_OUTDIR from --output)");
      for (const region of Object.keys(settings.regionVars)) {
        if (!regions.includes(region)) issue([...at, 'regionVars', region], `is not one of the runbook's regions (${regions.join(', ')})`);
      }
      for (const b of backends.slice(1)) {
        const region = String(b.at.at(-1));
        if (!regions.includes(region)) issue(b.at, `is not one of the runbook's regions (${regions.join(', ')})`);
      }
      // Rebuilding one region must never plan against the other region's state: something must tell them apart.
      const [a, b] = regions.map((r) => JSON.stringify(stateOf(code, r)));
      if (a === b) {
        const how = 'cdktf' in code ? 'a {region} in stack, regionBackendConfig (its own key per region) or a workspace with {region}' : source ? 'backend.regionConfig (its own key per region) or a workspace with {region}' : 'a {region} in dir, regionBackendConfig (its own key per region) or a workspace with {region}';
        issue(at, `both regions would plan against one state (the same directory, backend settings and workspace${'cdktf' in code ? ' and stack' : ''} for ${regions.join(' and ')}): rebuilding one region would plan against the other's. Give each region its own: ${how}`);
      }
    }
  });

  section(() => {
    const a = rb.approvals;
    const unpoliced = a.gates.filter((g) => !a.policies[g]?.principals);
    if (unpoliced.length > 0 && a.approvers.length === 0) {
      issue(['approvals', 'approvers'], `gates ${unpoliced.join(', ')} need at least one approver`);
    }
    for (const [gate, p] of Object.entries(a.policies)) {
      if (!p) continue;
      const at = ['approvals', 'policies', gate];
      const principals = p.principals ?? a.approvers;
      if (p.required > 1 && principals.length > 0) {
        // Sessions of a role whose session names are not pinned to people cannot be told apart: one person
        // could approve twice (two sessions, or a session and their IAM user). See runbooks/approvers.ts.
        const unpinned = unpinnedRoles(principals);
        const where = p.principals ? [...at, 'principals'] : ['approvals', 'approvers'];
        for (const role of unpinned) {
          issue([...where, principals.indexOf(role)], `a gate that needs ${p.required} distinct approvers cannot tell people apart through ${role}: every session of a role counts as one approver unless session names are pinned to people; list ${pinnedFor(role)} (the role's trust policy pins sessions, e.g. sts:RoleSessionName = \${aws:username}, or IAM Identity Center) or IAM user ARNs`);
        }
        // With a pattern or a pinned role, how many people match is unknown; with exact principals, M of N needs N >= M.
        const seats = seatsAvailable(principals);
        if (unpinned.length === 0 && seats < p.required) {
          issue([...at, 'required'], principals.some(isPattern) ? `needs ${p.required} distinct approvers, but its principals can supply at most ${seats}` : `needs ${p.required} distinct approvers, but only ${principals.length} principal${principals.length === 1 ? ' is' : 's are'} listed`);
        }
      }
      if (p.onTimeout === 'proceed' && !rb.drills?.enabled) {
        issue([...at, 'onTimeout'], '"proceed" is only allowed for drills (enable drills); a real run aborts when its gate times out');
      }
      if (p.escalateAfter !== undefined && p.timeout !== undefined && p.escalateAfter >= p.timeout) {
        issue([...at, 'escalateAfter'], `must be shorter than the timeout (${p.timeout / 1000}s)`);
      }
      if (p.escalateAfter !== undefined && !rb.notifications?.snsTopicArn) issue([...at, 'escalateAfter'], 'needs notifications.snsTopicArn to send the escalation to');
    }
    if (!a.trustClientIdentity) {
      const lists: Array<[(string | number)[], string[]]> = [[['approvals', 'approvers'], a.approvers], [['approvals', 'requesters'], a.requesters ?? []]];
      for (const [gate, p] of Object.entries(a.policies)) if (p?.principals) lists.push([['approvals', 'policies', gate, 'principals'], p.principals]);
      for (const [at, list] of lists) {
        list.forEach((id, i) => {
          if (!id.startsWith('arn:')) issue([...at, i], `"${id}" is not an IAM ARN; plain ids can only approve with approvals.trustClientIdentity: true (local development)`);
        });
      }
    }
    const all: Array<[(string | number)[], string[]]> = [[['approvals', 'approvers'], a.approvers], [['approvals', 'requesters'], a.requesters ?? []]];
    for (const [gate, p] of Object.entries(a.policies)) if (p?.principals) all.push([['approvals', 'policies', gate, 'principals'], p.principals]);
    for (const [at, list] of all) {
      list.forEach((id, i) => {
        if (id.includes(PINNED_SESSION) && !isPinnedPrincipal(id)) issue([...at, i], `${PINNED_SESSION} stands only for the session name of one role: arn:aws:sts::ACCOUNT:assumed-role/ROLE/${PINNED_SESSION}`);
        else if (patternOutsideAccount(id)) issue([...at, i], `"${id}": a pattern must name its partition, service and account (arn:aws:iam::123456789012:user/*): a wildcard before the resource would match identities of any account`);
      });
    }
  });
}

/** The cluster stack's own checks of one cluster (infra/eks/stack.ts): access entries, encryption, logs, add-ons. */
function clusterChecks(c: z.output<typeof cluster>, at: (string | number)[], issue: (path: (string | number)[], message: string) => void): void {
  const duplicates = <T>(items: T[], key: (item: T) => string, report: (index: number, value: string, first: number) => void) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const value = key(item);
      const first = seen.get(value);
      if (first === undefined) seen.set(value, index);
      else report(index, value, first);
    });
  };
  const entries = c.access?.entries ?? [];
  duplicates(entries, (e) => e.principalArn, (k, value, first) => issue([...at, 'access', 'entries', k, 'principalArn'], `${value} already has an access entry (access.entries[${first}])`));
  entries.forEach((e, k) => {
    duplicates(e.policies, (p) => p.policyArn, (m, value, first) => issue([...at, 'access', 'entries', k, 'policies', m, 'policyArn'], `${value} is already associated (policies[${first}])`));
    e.policies.forEach((p, m) => {
      const where = [...at, 'access', 'entries', k, 'policies', m, 'namespaces'];
      // AccessScope (EKS API Reference): namespaces only with type namespace.
      if (p.scope === 'namespace' && !p.namespaces?.length) issue(where, 'required with scope namespace: the namespaces the policy applies in');
      if (p.scope === 'cluster' && p.namespaces !== undefined) issue(where, 'applies to scope namespace only; scope cluster is the whole cluster');
    });
  });
  duplicates(c.controlPlaneLogs ?? [], (t) => t, (k, value) => issue([...at, 'controlPlaneLogs', k], `${value} is listed twice`));
  // "The KMS key must be symmetric and created in the same AWS Region as the cluster" (EKS API Reference, Provider keyArn).
  const keys = c.encryption?.kmsKeys;
  if (keys) {
    for (const [region, arn] of Object.entries(keys)) {
      const keyRegion = /^arn:[^:]+:kms:([^:]+):/.exec(arn)?.[1];
      if (keyRegion && keyRegion !== region) issue([...at, 'encryption', 'kmsKeys', region], `is a key of ${keyRegion}, listed for ${region}: KMS keys are regional, give a key of ${region}`);
    }
    if (!keys[c.region]) issue([...at, 'encryption', 'kmsKeys'], `has no key for the cluster's region ${c.region}: EKS encrypts secrets only with a key of the cluster's own region`);
  }
  c.addons.forEach((a, j) => {
    if (a.serviceAccountRole && !ADDON_SERVICE_ACCOUNTS[a.name]) {
      issue([...at, 'addons', j, 'serviceAccountRole'], `drover knows the service account and policy of ${Object.keys(ADDON_SERVICE_ACCOUNTS).join(' and ')} only; give ${a.name} its role outside the stack`);
    }
    if (c.production && a.version === undefined) issue([...at, 'addons', j, 'version'], `required with production: true (cluster ${c.name}): an unpinned add-on gets whatever version EKS defaults to on the day of the rebuild`);
  });
  if (c.production && !c.encryption) issue([...at, 'encryption'], `required with production: true (cluster ${c.name}): a KMS key of ${c.region} for the envelope encryption of secrets`);
}

/** The pinned form of a role principal, for messages: `arn:aws:iam::A:role/IC` → `arn:aws:sts::A:assumed-role/IC/${username}`. */
function pinnedFor(role: string): string {
  const m = /^arn:(aws[a-z-]*):(?:iam|sts)::(\d{12}):(?:role\/(?:.*\/)?|assumed-role\/)([^/*?]+)/.exec(role);
  return m ? `arn:${m[1]}:sts::${m[2]}:assumed-role/${m[3]}/${PINNED_SESSION}` : `arn:aws:sts::ACCOUNT:assumed-role/ROLE/${PINNED_SESSION}`;
}

export const runbookSchema = baseSchema.superRefine(crossFieldChecks, {
  // Run even when other fields failed, so every problem is reported at once.
  when: () => true,
});

/** A validated DR plan, as handed to workflows (plain data, durations in milliseconds). */
export type Runbook = z.output<typeof runbookSchema>;
export type DnsRecord = Runbook['dns']['records'][number];
export type Database = NonNullable<Runbook['database']>;
export type Cluster = Runbook['compute']['clusters'][number];
export type NodeGroup = Cluster['nodeGroups'][number];
export type Rebuild = NonNullable<Runbook['rebuild']>;
export type TeamCode = NonNullable<Rebuild['code']>;

/** Backend setting names that carry a credential (kept in every run's history if given in the runbook). */
const CREDENTIAL_SETTING = /(secret|password|token|access_key|sas_|client_certificate|private|sse_customer_key|conn_str|credentials|encryption_key)/;

/** A value the audit scrubber would redact, or a URL with `user:password@`. */
function secretLooking(value: string): boolean {
  return scrubSecrets(value) !== value || /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]*@/i.test(value);
}

/** Every string in a variables value, with its path (a JSON value: objects, arrays, scalars). */
function stringLeaves(value: unknown, at: (string | number)[]): Array<[(string | number)[], string]> {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...at, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...at, k]));
  return [];
}

/** `{region}` replaced by the region. */
export function forRegion(text: string, region: string): string {
  return text.replaceAll('{region}', region);
}

/**
 * What the team's code is for one region: the directory OpenTofu runs in (module dir or cdktf app), the backend
 * settings (regionBackendConfig / backend.regionConfig merged over the common ones), the workspace and the stack,
 * `{region}` replaced. Two regions with the same of all these would share one state.
 */
export function stateOf(code: TeamCode, region: string): { dir?: string; source?: string; backendType?: string; backend: Record<string, string>; workspace?: string; stack?: string } {
  if ('cdktf' in code) {
    const c = code.cdktf;
    return { dir: forRegion(c.dir, region), backend: { ...c.backendConfig, ...(c.regionBackendConfig[region] ?? {}) }, workspace: c.workspace && forRegion(c.workspace, region), stack: forRegion(c.stack, region) };
  }
  const m = code.module;
  if ('dir' in m) return { dir: forRegion(m.dir, region), backend: { ...m.backendConfig, ...(m.regionBackendConfig[region] ?? {}) }, workspace: m.workspace && forRegion(m.workspace, region) };
  return { source: m.source, backendType: m.backend.type, backend: { ...m.backend.config, ...(m.backend.regionConfig[region] ?? {}) }, workspace: m.workspace && forRegion(m.workspace, region) };
}
export type Probe = NonNullable<Runbook['health']['probes'][string]>[number];
export type GateName = Runbook['approvals']['gates'][number];
export type GatePolicy = NonNullable<Runbook['approvals']['policies'][GateName]>;

/** Whether an approver entry is a pattern (`*` or `?`) rather than one exact principal. */
export function isPattern(principal: string): boolean {
  return /[*?]/.test(principal);
}
export type DrillWindow = Runbook['drills']['windows'][number];
export type Weekday = (typeof DAYS)[number];
export { DAYS };
