/**
 * Attacks on approvals that need no server, as regression tests (docs/security.md): an STS host chosen by
 * the caller, a runbook the worker does not hold, one person counted twice, secrets in refusal texts.
 */
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { awsConfigFromEnv, createAwsClients, stsEndpoint, type RawRequest, type StsReplayApi } from '../aws/clients';
import { createIdentityActivities } from '../activities/identity';
import { createRunbookActivities } from '../activities/runbooks';
import { plainTextWarning } from '../cli/commands/worker';
import { renderStatus } from '../cli/render';
import type { RunStatus } from '../contracts/run';
import { signIdentity } from '../cli/sign';
import { principalMatches, requesterPrincipals, sameApprover, seatOf, type VerifiedActor } from '../runbooks/approvers';
import { parseRunbook } from '../runbooks/load';
import { DirectoryRunbookSource, runbookDigest } from '../runbooks/source';
import { APNAKART } from './harness/fixtures';
import { readFileSync } from 'node:fs';

const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const RUN = 'failover-apnakart/0190-run';
const expectFor = { run: RUN, gate: 'failover', decision: 'approve' as const, comment: 'go' };
const keyDirs: string[] = [];
/** A fresh worker key file; its directory (a private key inside) is removed before the suite's secrets scan. */
const keyFile = () => {
  keyDirs.push(mkdtempSync(join(tmpdir(), 'drover-sec-')));
  return join(keyDirs[keyDirs.length - 1], 'identity.jwk');
};
afterAll(() => keyDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the STS host is the worker\'s choice, never the caller\'s', () => {
  // Any attempt to reach the network is a failure: the refusals below must happen before one.
  let calls: string[];
  beforeEach(() => {
    calls = [];
    const refuse = (url: unknown, opts?: unknown) => {
      const o = (typeof opts === 'object' && opts ? opts : url) as { hostname?: string; host?: string };
      calls.push(String(o?.hostname ?? o?.host ?? url));
      throw new Error('a network call was attempted');
    };
    jest.spyOn(https, 'request').mockImplementation(refuse as never);
    jest.spyOn(http, 'request').mockImplementation(refuse as never);
  });
  afterEach(() => jest.restoreAllMocks());

  test('given a credential scope region "a@evil.example#" and Host evil.example, verifyIdentity through the real client factory (no endpoint variables) refuses it before any network call', async () => {
    // The production configuration: no AWS_ENDPOINT_URL, no AWS_ENDPOINT_URL_STS, no DROVER_ENDPOINT_*.
    const clients = createAwsClients(awsConfigFromEnv({}));
    const { verifyIdentity } = createIdentityActivities({ sts: clients.sts, keyFile: keyFile() });
    const forged = await signIdentity({ binding: expectFor, credentials: KEYS, region: 'a@evil.example#', endpoint: new URL('https://evil.example') });
    expect(forged.headers.host).toBe('evil.example');
    const check = await verifyIdentity({ request: forged, expect: expectFor, regions: ['ap-southeast-1', 'ap-south-1'] });
    expect(check).toEqual({ ok: false, kind: 'unverifiable', reason: expect.stringContaining('"a@evil.example#", which is not an AWS region name; it was not sent anywhere') });
    expect(calls).toEqual([]);
  });

  test('given a region name that is real but not one the worker verifies at, it is refused before any network call', async () => {
    const clients = createAwsClients(awsConfigFromEnv({}));
    const { verifyIdentity } = createIdentityActivities({ sts: clients.sts, keyFile: keyFile(), regions: ['ap-southeast-1'] });
    const request = await signIdentity({ binding: expectFor, credentials: KEYS, region: 'eu-west-1', endpoint: stsEndpoint({}, 'eu-west-1') });
    const check = await verifyIdentity({ request, expect: expectFor, regions: ['ap-south-1'] });
    expect(check).toEqual({ ok: false, kind: 'unverifiable', reason: 'the request is signed for STS in eu-west-1, but this worker verifies identities only in ap-southeast-1; it was not sent (drover approve signs for the region the gate names)' });
    expect(calls).toEqual([]);
  });

  test('the worker publishes where it verifies: its configured regions, else the run\'s, and the pinned regional host', async () => {
    const clients = createAwsClients(awsConfigFromEnv({}));
    expect(clients.sts('ap-south-1').endpoint.href).toBe('https://sts.ap-south-1.amazonaws.com/');
    expect(clients.sts('cn-north-1').endpoint.href).toBe('https://sts.cn-north-1.amazonaws.com.cn/');
    const file = keyFile();
    expect((await createIdentityActivities({ sts: clients.sts, keyFile: file }).identityVerifier({ regions: ['ap-southeast-1', 'ap-south-1'] })).stsRegions).toEqual(['ap-southeast-1', 'ap-south-1']);
    expect((await createIdentityActivities({ sts: clients.sts, keyFile: file, regions: ['eu-central-1'] }).identityVerifier({ regions: ['ap-southeast-1'] })).stsRegions).toEqual(['eu-central-1']);
  });

  test('given a region named __proto__ or constructor, no endpoint is looked up in a plain object', () => {
    const config = { regionEndpoints: { 'ap-south-1': 'http://127.0.0.1:1' } };
    expect(() => stsEndpoint(config, '__proto__')).toThrow('"__proto__" is not an AWS region name');
    expect(() => stsEndpoint(config, 'constructor')).toThrow('"constructor" is not an AWS region name');
    // The SDK clients take a region's endpoint only from the configuration's own keys.
    const clients = createAwsClients({ regionEndpoints: {} });
    expect(() => clients.rds('constructor')).not.toThrow();
  });

  test('given STS refusing with a message that quotes the access key id, the refusal recorded in the history names no key', async () => {
    const sts = (): StsReplayApi => ({
      endpoint: new URL('https://sts.us-east-1.amazonaws.com'),
      send: async (_r: RawRequest) => ({ statusCode: 403, body: `<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid: ${KEYS.accessKeyId}</Message></Error></ErrorResponse>` }),
    });
    const { verifyIdentity } = createIdentityActivities({ sts, keyFile: keyFile() });
    const request = await signIdentity({ binding: expectFor, credentials: KEYS, region: 'us-east-1', endpoint: new URL('https://sts.us-east-1.amazonaws.com') });
    const check = await verifyIdentity({ request, expect: expectFor });
    expect(check).toMatchObject({ ok: false, kind: 'unverifiable', reason: expect.stringContaining('STS refused the request (InvalidClientTokenId: The security token included in the request is invalid') });
    expect(JSON.stringify(check)).not.toContain(KEYS.accessKeyId);
  });
});

describe('the worker runs its own copy of a runbook', () => {
  const text = readFileSync(APNAKART, 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'drover-runbooks-'));
  writeFileSync(join(dir, 'apnakart.yaml'), text);
  const { resolveRunbook } = createRunbookActivities(new DirectoryRunbookSource(dir));
  const refusal = async (p: Promise<unknown>): Promise<string> => {
    const e = await p.then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect((e as ApplicationFailure).type).toBe('RunbookRefused');
    expect((e as ApplicationFailure).nonRetryable).toBe(true);
    return (e as ApplicationFailure).message;
  };

  test('given the digest of the workers\' copy, the run gets that copy', async () => {
    expect((await resolveRunbook({ name: 'apnakart', digest: runbookDigest(text) })).approvals.gates).toEqual(['failover', 'failback', 'cleanup']);
  });

  test('given a runbook edited by the requester (no gates), its digest differs and the run is refused, naming both digests', async () => {
    const edited = text.replace('gates: [failover, failback, cleanup]', 'gates: []');
    expect(await refusal(resolveRunbook({ name: 'apnakart', digest: runbookDigest(edited) }))).toBe(
      `the workers' copy of runbook apnakart (${join(dir, 'apnakart.yaml')}, ${runbookDigest(text)}) is not the one you validated (${runbookDigest(edited)}); nothing was changed. Deploy the runbook you validated to the workers, or validate theirs`,
    );
  });

  test.each([
    ['a path instead of a name', { name: '../../etc/passwd', digest: runbookDigest(text) }, /is not a runbook name/],
    ['a runbook the workers do not hold', { name: 'shop', digest: runbookDigest(text) }, /the workers have no runbook shop in .*looked for shop\.yaml and shop\.yml/],
    ['no digest', { name: 'apnakart', digest: '' }, /without a digest/],
  ])('given %s, the run is refused', async (_what, ref, message) => {
    expect(await refusal(resolveRunbook(ref))).toMatch(message);
  });

  test('given a run the workers refused, drover status shows where it was going and why it ended, with no invented source region', () => {
    // What startingStatus (workflows/run.ts) gives a run refused before its runbook loaded.
    const s: RunStatus = { workflowId: 'failover-apnakart', runId: 'r1', kind: 'failover', runbook: 'apnakart', mode: 'planned', fromRegion: '', targetRegion: 'ap-southeast-1', reason: 'edited', requestedBy: 'ic', startedAt: 0, phase: 'failed', decisions: [], steps: [], trafficPercent: 0 };
    expect(renderStatus(s, 0).slice(0, 2)).toEqual(['failover apnakart: to ap-southeast-1 (planned), requested by ic: edited', 'run failover-apnakart / r1   phase: failed   traffic on ap-southeast-1: 0%']);
  });

  test('given a worker with no runbook source, every run is refused', async () => {
    expect(await refusal(createRunbookActivities(undefined).resolveRunbook({ name: 'apnakart', digest: runbookDigest(text) }))).toContain('no runbook source configured');
  });
});

describe('approvers are counted by seat, not by ARN string', () => {
  const A = '123456789012';
  const ROLE = `arn:aws:iam::${A}:role/IncidentCommander`;
  const PINNED = `arn:aws:sts::${A}:assumed-role/IncidentCommander/\${username}`;
  const session = (name: string): VerifiedActor => ({ id: `arn:aws:sts::${A}:assumed-role/IncidentCommander/${name}`, verified: true, userId: `AROAEXAMPLEIC:${name}` });
  const user = (name: string): VerifiedActor => ({ id: `arn:aws:iam::${A}:user/${name}`, verified: true, userId: `AIDA${name.toUpperCase()}` });

  test('given two sessions (a, b) of one role whose session names are not pinned, they are one approver', () => {
    expect(sameApprover(session('a'), session('b'), [ROLE])).toBe(true);
    expect(seatOf(session('a'), [ROLE])).toBe('role:AROAEXAMPLEIC');
  });

  test('given a pinned role, sessions of different people are two approvers, and the same name twice is one', () => {
    expect(sameApprover(session('alice'), session('bob'), [PINNED])).toBe(false);
    expect(sameApprover(session('alice'), { ...session('alice'), userId: 'AROAEXAMPLEIC:alice' }, [PINNED])).toBe(true);
  });

  test('given one person as an IAM user and as a session named after them, they are one approver (and one requester)', () => {
    expect(sameApprover(user('alice'), session('alice'), [PINNED, `arn:aws:iam::${A}:user/alice`])).toBe(true);
    expect(sameApprover(user('alice'), user('bob'), [`arn:aws:iam::${A}:user/*`])).toBe(false);
  });

  test('given the same person in two accounts, or with another letter case, they are one approver (a false match only refuses)', () => {
    const other = (name: string): VerifiedActor => ({ id: `arn:aws:sts::999999999999:assumed-role/IncidentCommander/${name}`, verified: true, userId: `AROAOTHERACCOUNT:${name}` });
    const pinnedBoth = [PINNED, `arn:aws:sts::999999999999:assumed-role/IncidentCommander/\${username}`];
    expect(sameApprover(session('alice@example.com'), other('alice@example.com'), pinnedBoth)).toBe(true);
    expect(sameApprover(user('Alice'), other('alice'), pinnedBoth)).toBe(true);
  });

  test('given a wildcard, it never crosses a colon into another account, and a pattern must name its account', () => {
    expect(principalMatches(`arn:aws*:iam::${A}:user/alice`, `arn:aws:iam::999999999999:user/x:iam::${A}:user/alice`)).toBe(false);
    expect(principalMatches(`arn:aws:iam::${A}:user/*`, `arn:aws:iam::${A}:user/ops/alice`)).toBe(true);
    const text = readFileSync(APNAKART, 'utf8').replace('trustClientIdentity: true', 'trustClientIdentity: false').replace('approvers: [ic-priya, ic-arjun, sre-meera]', 'approvers: ["arn:aws:iam::*:user/*"]');
    const parsed = parseRunbook(text);
    expect(parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`)).toContain('approvals.approvers[0]: "arn:aws:iam::*:user/*": a pattern must name its partition, service and account (arn:aws:iam::123456789012:user/*): a wildcard before the resource would match identities of any account');
  });

  test('given no approvals.requesters, the requesters are the principals of the gates the runbook asks, and no others', () => {
    expect(requesterPrincipals({ approvers: ['arn:a'], gates: ['failover'], policies: { failover: { principals: ['arn:f'] }, failback: { principals: ['arn:b'] } } })).toEqual(['arn:f']);
    expect(requesterPrincipals({ approvers: ['arn:a'], gates: ['failover', 'failback'], policies: { failback: { principals: ['arn:b'] } } })).toEqual(['arn:a', 'arn:b']);
    expect(requesterPrincipals({ approvers: ['arn:a'], gates: ['failover'], requesters: ['arn:r'], policies: {} })).toEqual(['arn:r']);
  });

  test('given unverified ids (trustClientIdentity), each id is its own approver', () => {
    expect(sameApprover({ id: 'ic-priya', verified: false }, { id: 'ic-priya', verified: false }, ['ic-priya'])).toBe(true);
    expect(sameApprover({ id: 'ic-priya', verified: false }, { id: 'ic-arjun', verified: false }, ['ic-priya', 'ic-arjun'])).toBe(false);
  });
});

describe('the worker\'s Temporal connection', () => {
  test('given a Temporal server reached without TLS, the worker warns that pollers of its task queue could answer identity checks; the loopback dev server is exempt', () => {
    expect(plainTextWarning('temporal.internal.example:7233')).toMatch(/^warning: the connection to Temporal at temporal\.internal\.example:7233 is not TLS: anything that reaches it and may poll task queue \S+ can answer drover's activities, identity checks included/);
    expect(plainTextWarning('temporal.internal.example:7233', true)).toBeUndefined();
    expect(plainTextWarning('127.0.0.1:7233')).toBeUndefined();
    expect(plainTextWarning('localhost:7233')).toBeUndefined();
  });
});
