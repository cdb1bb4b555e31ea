/**
 * The "no secrets" scan the suite's global teardown runs over every workflow history and audit event:
 * it must find what it looks for (so a passing scan means something), including inside base64 payloads,
 * and report where and what without the secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findSecrets } from '../audit/scrub';
import { describeFindings, historyTexts, scanAuditDir, scanHistory } from './harness/secrets';
import { testTempDir } from './harness/servers';

// Fakes, in the shapes of the real things.
const AKIA = 'AKIAQWERTYUIOPASDFGH';
const SESSION_TOKEN = `IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQD${'x7Kq/Pz+'.repeat(30)}`;
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('findSecrets', () => {
  test('finds access key ids, session tokens, secret keys and SigV4 signatures, by kind only', () => {
    const text = `Authorization: AWS4-HMAC-SHA256 Credential=${AKIA}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=${'ab'.repeat(32)}; X-Amz-Security-Token: ${SESSION_TOKEN}; secret ${SECRET}`;
    const found = findSecrets(text);
    expect(new Set(found)).toEqual(new Set(['access key id', 'session token', 'secret access key', 'SigV4 signature']));
    expect(found.join(' ')).not.toContain(AKIA);
    expect(findSecrets(`temporary ASIA${'Z'.repeat(16)}`)).toEqual(['access key id']);
  });

  test('does not flag the suite\'s fake keys, hex digests, run ids or base64url (a JWE)', () => {
    expect(findSecrets('drover-test drover-test')).toEqual([]);
    expect(findSecrets(`sha256 ${'0a1b'.repeat(16)} run 01a20245-a83c-7c09-aaa2-a9b66a7fa187`)).toEqual([]);
    expect(findSecrets(`eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.${'-'}${'Ab3dEf5hIj7lMn9pQr1tUv3xYz5bCd7fGh9jKl1nOp3r'.slice(0, 40)}_rest`)).toEqual([]);
  });
});

describe('the history walker', () => {
  const history = {
    events: [
      { eventId: '1', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', workflowExecutionStartedEventAttributes: { input: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ reason: 'clean' })) }] } } },
      { eventId: '7', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', workflowExecutionUpdateAcceptedEventAttributes: { acceptedRequest: { input: { args: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ identity: { headers: { authorization: `AWS4-HMAC-SHA256 Credential=${AKIA}/x` } } })) }] } } } } },
      { eventId: '9', eventType: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', activityTaskScheduledEventAttributes: { input: { payloads: [{ metadata: {}, data: new Uint8Array(Buffer.from(JSON.stringify({ token: SESSION_TOKEN }))) }] } } },
    ],
  };

  test('decodes payloads (base64 in a history\'s JSON, bytes in the proto) and names the event of each finding', () => {
    // Encoded, the secrets are invisible to a plain text search: the walker must decode them.
    expect(JSON.stringify(history.events[1])).not.toContain(AKIA);
    expect(historyTexts(history.events[1]).join('\n')).toContain(AKIA);
    expect(scanHistory(history)).toEqual([
      { eventId: '7', kind: 'access key id' },
      { eventId: '9', kind: 'session token' },
    ]);
  });

  test('AWS\'s documentation example key, pasted on purpose by tests, is not a finding; any other key is', () => {
    const event = (key: string) => ({ events: [{ eventId: '3', input: { payloads: [{ data: b64(JSON.stringify({ reason: `key ${key} pasted by mistake` })) }] } }] });
    expect(scanHistory(event('AKIAIOSFODNN7EXAMPLE'))).toEqual([]);
    expect(scanHistory(event(AKIA))).toEqual([{ eventId: '3', kind: 'access key id' }]);
  });

  test('the report names workflow, event and kind, never the secret', () => {
    const report = describeFindings(scanHistory(history).map((f) => ({ ...f, workflowId: 'failover-x', runId: 'r1' })), []);
    expect(report).toContain('history of failover-x (run r1), event 7: access key id');
    expect(report).not.toContain(AKIA);
    expect(report).not.toContain(SESSION_TOKEN.slice(0, 30));
  });
});

describe('the audit scan', () => {
  test('counts every event line and finds a secret in one', () => {
    const dir = testTempDir('audit-scan-');
    fs.mkdirSync(path.join(dir, 'rb', 'wf'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'rb', 'wf', 'run.jsonl'), `${JSON.stringify({ seq: 0, detail: 'ok' })}\n${JSON.stringify({ seq: 1, detail: `key ${AKIA}` })}\n`);
    const { events, findings } = scanAuditDir(dir);
    expect(events).toBe(2);
    expect(findings).toEqual([{ file: path.join('rb', 'wf', 'run.jsonl'), line: 2, kind: 'access key id' }]);
  });
});
