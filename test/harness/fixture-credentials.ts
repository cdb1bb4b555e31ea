import { recordHarnessCredential } from './secrets';

/**
 * Passwords the tests themselves hand to drover or to the emulator, recorded in the harness's credential
 * registry by the global setup (integration tier) and unit-env.ts (unit and workflow tiers), so the
 * secrets scan finds them exactly, in any encoding and in free text (`creating shop with not-a-secret-1`),
 * not only where they happen to match a password's shape. Only values no scanned store legitimately
 * holds are listed:
 * - `not-a-secret-1`: the RDS master password faults, dblifecycle, aurora and activities tests send in
 *   CreateDBInstance/CreateDBCluster. moto keeps it in its RDS model, which the scan does not read (scanMoto
 *   reads S3, SNS and SQS only); AWS returns no master password from any Describe call, so drover has no
 *   business writing it anywhere. The one scanned store that would hold it legitimately is moto's request
 *   recorder (`*.recording.jsonl`), and no recording moto (worker-kill, chaos) is sent it.
 * - `hunter2-hunter2`: a password redeploy.unit's failing hook prints (its script is in a planted directory)
 *   and audit.unit hands to the scrubber in memory; drover must redact it wherever it writes.
 * - ENGINE_MASTER_PASSWORD: the real test engines' master password (PostgreSQL and MariaDB), which the engine tests
 *   put in moto's Secrets Manager for drover's engine activities to read at the moment they connect. moto's Secrets
 *   Manager is not a scanned store; drover must write it nowhere (docs/fence.md, "Credentials").
 */
export const ENGINE_MASTER_PASSWORD = 'engine-master-Pw-0b6e71';

export const FIXTURE_PASSWORDS = [
  { value: 'not-a-secret-1', what: 'RDS master password of the tests\' fixture databases' },
  { value: 'hunter2-hunter2', what: 'password a redeploy unit test\'s hook prints' },
  { value: ENGINE_MASTER_PASSWORD, what: 'master password of the real test engines (PostgreSQL, MariaDB), read by drover from Secrets Manager' },
] as const;

/** Record the fixture passwords in the registry at `dir` (the harness's secrets directory). */
export function recordFixturePasswords(dir?: string): void {
  for (const p of FIXTURE_PASSWORDS) recordHarnessCredential(p.value, p.what, dir);
}
