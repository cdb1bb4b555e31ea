/**
 * Which AWS request is this: region, service and operation of a SigV4-signed request (from the credential
 * scope, `X-Amz-Target`, Smithy RPC v2's path, the query protocols' `Action=` or a small REST method+path
 * table), and the wire protocol an error for it must use. The fault proxy (proxy.ts) matches its rules on it.
 */
import type http from 'node:http';

// Signing names that differ from the names people use in rules.
const SERVICE_ALIASES: Record<string, string> = { monitoring: 'cloudwatch' };

export type Protocol = 'json' | 'query' | 'ec2' | 'rest-xml' | 'rest-json';

export interface RequestInfo {
  region: string;
  /** SigV4 signing name (e.g. `monitoring`). */
  signingName: string;
  /** Name used in the log (e.g. `cloudwatch`). */
  service: string;
  operation: string;
  protocol: Protocol;
  /** Content type for JSON protocol error bodies. */
  jsonContentType: string;
}

/** Region and service from `Credential=AKID/DATE/REGION/SERVICE/aws4_request` (header or presigned query). */
export function parseCredentialScope(authorization: string | undefined, url: string | undefined): { region: string; service: string } {
  let scope: string | undefined;
  const m = authorization && /Credential=([^,\s]+)/.exec(authorization);
  if (m) scope = m[1];
  else if (url) {
    const q = url.indexOf('?');
    if (q >= 0) scope = new URLSearchParams(url.slice(q + 1)).get('X-Amz-Credential') ?? undefined;
  }
  const parts = scope?.split('/') ?? [];
  // AKID/DATE/REGION/SERVICE/aws4_request; the access key itself never contains '/'.
  if (parts.length >= 5) return { region: parts[parts.length - 3], service: parts[parts.length - 2] };
  return { region: 'unknown', service: 'unknown' };
}

/** REST operations drover makes (Route 53 REST-XML, EKS REST-JSON), by method and path; S3's PUTs are told apart below. */
const REST_ROUTES: Array<{ service: string; method: string; path: RegExp; operation: string }> = [
  // Route 53
  { service: 'route53', method: 'POST', path: /^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/, operation: 'ChangeResourceRecordSets' },
  { service: 'route53', method: 'GET', path: /^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/, operation: 'ListResourceRecordSets' },
  { service: 'route53', method: 'GET', path: /^\/2013-04-01\/change\/[^/]+$/, operation: 'GetChange' },
  { service: 'route53', method: 'GET', path: /^\/2013-04-01\/hostedzonesbyname\/?$/, operation: 'ListHostedZonesByName' },
  { service: 'route53', method: 'POST', path: /^\/2013-04-01\/hostedzone\/?$/, operation: 'CreateHostedZone' },
  { service: 'route53', method: 'GET', path: /^\/2013-04-01\/hostedzone\/?$/, operation: 'ListHostedZones' },
  { service: 'route53', method: 'GET', path: /^\/2013-04-01\/hostedzone\/[^/]+$/, operation: 'GetHostedZone' },
  { service: 'route53', method: 'DELETE', path: /^\/2013-04-01\/hostedzone\/[^/]+$/, operation: 'DeleteHostedZone' },
  { service: 'route53', method: 'POST', path: /^\/2013-04-01\/healthcheck\/?$/, operation: 'CreateHealthCheck' },
  { service: 'route53', method: 'GET', path: /^\/2013-04-01\/healthcheck\/[^/]+\/status$/, operation: 'GetHealthCheckStatus' },
  // EKS
  { service: 'eks', method: 'POST', path: /^\/clusters\/[^/]+\/node-groups\/[^/]+\/update-config$/, operation: 'UpdateNodegroupConfig' },
  { service: 'eks', method: 'GET', path: /^\/clusters\/[^/]+\/node-groups\/[^/]+$/, operation: 'DescribeNodegroup' },
  { service: 'eks', method: 'DELETE', path: /^\/clusters\/[^/]+\/node-groups\/[^/]+$/, operation: 'DeleteNodegroup' },
  { service: 'eks', method: 'POST', path: /^\/clusters\/[^/]+\/node-groups\/?$/, operation: 'CreateNodegroup' },
  { service: 'eks', method: 'GET', path: /^\/clusters\/[^/]+\/node-groups\/?$/, operation: 'ListNodegroups' },
  { service: 'eks', method: 'POST', path: /^\/clusters\/[^/]+\/update-config$/, operation: 'UpdateClusterConfig' },
  { service: 'eks', method: 'GET', path: /^\/clusters\/[^/]+\/updates\/[^/]+$/, operation: 'DescribeUpdate' },
  { service: 'eks', method: 'GET', path: /^\/clusters\/[^/]+\/updates\/?$/, operation: 'ListUpdates' },
  { service: 'eks', method: 'GET', path: /^\/clusters\/[^/]+$/, operation: 'DescribeCluster' },
  { service: 'eks', method: 'DELETE', path: /^\/clusters\/[^/]+$/, operation: 'DeleteCluster' },
  { service: 'eks', method: 'POST', path: /^\/clusters\/?$/, operation: 'CreateCluster' },
  { service: 'eks', method: 'GET', path: /^\/clusters\/?$/, operation: 'ListClusters' },
];

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Identify a request: region, service, operation and the wire protocol its errors must use. */
export function identify(req: http.IncomingMessage, body: Buffer): RequestInfo {
  const { region, service: signingName } = parseCredentialScope(header(req, 'authorization'), req.url);
  const service = SERVICE_ALIASES[signingName] ?? signingName;
  const contentType = header(req, 'content-type') ?? '';
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const pathname = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const jsonContentType = /application\/x-amz-json-1\.[01]/.exec(contentType)?.[0] ?? 'application/x-amz-json-1.1';
  const info = (operation: string, protocol: Protocol): RequestInfo => ({ region, signingName, service, operation, protocol, jsonContentType });

  // JSON 1.0/1.1 protocols: X-Amz-Target = <ServiceVersion>.<Operation>.
  const target = header(req, 'x-amz-target');
  if (target) return info(target.slice(target.lastIndexOf('.') + 1) || 'unknown', 'json');
  // Smithy RPC v2: /service/<Service>/operation/<Operation> (error bodies are sent as JSON).
  const rpcv2 = /\/service\/[^/]+\/operation\/([^/?]+)$/.exec(pathname);
  if (rpcv2 && header(req, 'smithy-protocol')) return info(rpcv2[1], 'json');
  // Query protocols (RDS, EC2, CloudWatch query mode): Action= in the form body or the query string.
  const form = contentType.includes('application/x-www-form-urlencoded') ? body.toString('utf8') : '';
  const action = (form && new URLSearchParams(form).get('Action')) || (q >= 0 ? new URLSearchParams(rawUrl.slice(q + 1)).get('Action') : null);
  if (action) return info(action, signingName === 'ec2' ? 'ec2' : 'query');
  // REST protocols: a method+path table of the calls drover makes.
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // keep the raw path
  }
  const protocol: Protocol = signingName === 'route53' || signingName === 's3' || signingName === 'cloudfront' ? 'rest-xml' : 'rest-json';
  // S3 calls share PUT /<bucket> and PUT /<bucket>/<key> and differ by a query flag (?versioning, ?object-lock,
  // ?retention, ?partNumber) or a header (x-amz-copy-source): only a bare one creates a bucket or puts an object.
  if (signingName === 's3' && req.method === 'PUT') {
    const flags = [...new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : '').keys()].filter((k) => k !== 'x-id');
    const bare = flags.length === 0;
    if (/^\/[^/]+\/?$/.test(pathname)) return info(bare ? 'CreateBucket' : 'unknown', protocol);
    if (header(req, 'x-amz-copy-source')) return info(bare ? 'CopyObject' : 'unknown', protocol);
    return info(bare ? 'PutObject' : 'unknown', protocol);
  }
  const route = REST_ROUTES.find((r) => r.service === signingName && r.method === req.method && (r.path.test(pathname) || r.path.test(decoded)));
  return info(route?.operation ?? 'unknown', protocol);
}
