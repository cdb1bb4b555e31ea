import { AuthMoto, type Principal } from './authmoto';

/**
 * A moto with IAM authentication on (authmoto.ts) for a test file, started by the first test that asks for it
 * and stopped after the file's last test, and IAM users of it allowed exactly the actions a test names: how
 * activity tests get a real AccessDenied for one call while the calls before it succeed.
 */
export function useAuthMoto() {
  let started: Promise<AuthMoto> | undefined;
  let users = 0;
  afterAll(async () => {
    if (started) await (await started).stop();
  });
  const auth = () => (started ??= AuthMoto.start());
  return {
    auth,
    /** An IAM user whose only (inline) policy allows `actions` on every resource; none: no policy at all, every call denied. */
    async principal(actions: string[]): Promise<Principal> {
      const m = await auth();
      const name = `drover-test-${process.pid}-${++users}`;
      const p = await m.user(name);
      if (actions.length > 0) {
        const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] };
        await m.call('iam', 'PutUserPolicy', { UserName: name, PolicyName: 'drover-test', PolicyDocument: JSON.stringify(policy) });
      }
      return p;
    },
  };
}
