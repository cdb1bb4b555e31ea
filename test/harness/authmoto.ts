import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credentials } from '../../cli/sign';
import { recordHarnessCredential } from './secrets';
import { startOwnMoto, type MotoServer } from './servers';

/** An IAM principal in the auth-enabled moto: its ARN as STS reports it, and its keys. */
export interface Principal {
  arn: string;
  credentials: Credentials;
}

export const ACCOUNT = '123456789012';

// moto authenticates every request after the first INITIAL_NO_AUTH_ACTION_COUNT ones: exactly the three
// that create the admin below (who then creates everyone else with signed requests).
const BOOTSTRAP_CALLS = 3;
// Before auth starts, moto ignores the key but still routes by the signed scope, so bootstrap calls are signed too.
const BOOTSTRAP_KEYS = { accessKeyId: 'AKIABOOTSTRAPDROVER0', secretAccessKey: 'bootstrap' };
recordHarnessCredential(BOOTSTRAP_KEYS.accessKeyId, 'moto bootstrap access key id');

/** Every key the auth-enabled moto mints for the harness is recorded: the suite's secrets scan looks for each, exactly. */
function record(who: string, credentials: Credentials): Credentials {
  recordHarnessCredential(credentials.accessKeyId, `${who} access key id`);
  recordHarnessCredential(credentials.secretAccessKey, `${who} secret access key`);
  if (credentials.sessionToken) recordHarnessCredential(credentials.sessionToken, `${who} session token`);
  return credentials;
}

function xml(text: string, tag: string): string {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text);
  if (!m) throw new Error(`no <${tag}> in ${text.slice(0, 300)}`);
  return m[1];
}

/**
 * A second moto with IAM authentication on (`INITIAL_NO_AUTH_ACTION_COUNT`): it checks SigV4 signatures
 * against the access keys of its own IAM users and assumed roles, so a tampered signature really fails
 * at STS and GetCallerIdentity answers with the signer's ARN. STS is pointed at it, nothing else.
 */
export class AuthMoto {
  private admin!: Credentials;
  private constructor(readonly server: MotoServer) {}

  get endpoint(): string {
    return this.server.endpoint;
  }

  static async start(): Promise<AuthMoto> {
    const server = await startOwnMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_CALLS) } });
    const m = new AuthMoto(server);
    try {
      await m.call('iam', 'CreateUser', { UserName: 'drover-test-admin' }, BOOTSTRAP_KEYS);
      await m.call('iam', 'PutUserPolicy', { UserName: 'drover-test-admin', PolicyName: 'all', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) }, BOOTSTRAP_KEYS);
      const key = await m.call('iam', 'CreateAccessKey', { UserName: 'drover-test-admin' }, BOOTSTRAP_KEYS);
      m.admin = record('admin drover-test-admin', { accessKeyId: xml(key, 'AccessKeyId'), secretAccessKey: xml(key, 'SecretAccessKey') });
      // From here on every request is authenticated: an unknown key must be refused.
      const denied = await m.raw('sts', 'GetCallerIdentity', {}, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' });
      if (denied.status !== 403) throw new Error(`moto at ${server.endpoint} does not enforce IAM authentication (answered ${denied.status})`);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return m;
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }

  /** An IAM user with an access key. */
  async user(name: string): Promise<Principal> {
    const user = await this.call('iam', 'CreateUser', { UserName: name });
    const key = await this.call('iam', 'CreateAccessKey', { UserName: name });
    return { arn: xml(user, 'Arn'), credentials: record(`user ${name}`, { accessKeyId: xml(key, 'AccessKeyId'), secretAccessKey: xml(key, 'SecretAccessKey') }) };
  }

  /** A session of role `role` (created on first use, assumable by the admin): an `assumed-role/<role>/<session>` ARN. */
  async roleSession(role: string, session: string): Promise<Principal> {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/${role}`;
    const exists = await this.raw('iam', 'GetRole', { RoleName: role }, this.admin);
    if (exists.status !== 200) {
      const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/drover-test-admin` }, Action: 'sts:AssumeRole' }] };
      await this.call('iam', 'CreateRole', { RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) });
    }
    const out = await this.call('sts', 'AssumeRole', { RoleArn: roleArn, RoleSessionName: session });
    return {
      arn: xml(out, 'Arn'),
      credentials: record(`session ${role}/${session}`, { accessKeyId: xml(out, 'AccessKeyId'), secretAccessKey: xml(out, 'SecretAccessKey'), sessionToken: xml(out, 'SessionToken') }),
    };
  }

  /** One query-protocol call (IAM or STS), signed; throws unless it answers 200. */
  async call(service: 'iam' | 'sts', action: string, params: Record<string, string>, credentials: Credentials = this.admin): Promise<string> {
    const res = await this.raw(service, action, params, credentials);
    if (res.status !== 200) throw new Error(`${service}:${action} answered ${res.status}: ${res.text.slice(0, 300)}`);
    return res.text;
  }

  private async raw(service: 'iam' | 'sts', action: string, params: Record<string, string>, credentials: Credentials): Promise<{ status: number; text: string }> {
    const url = new URL(this.endpoint);
    const body = new URLSearchParams({ Action: action, Version: service === 'iam' ? '2010-05-08' : '2011-06-15', ...params }).toString();
    const request = new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    const signed = await new SignatureV4({ credentials, region: 'us-east-1', service, sha256: Sha256 }).sign(request);
    const res = await fetch(`${this.endpoint}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    return { status: res.status, text: await res.text() };
  }
}
