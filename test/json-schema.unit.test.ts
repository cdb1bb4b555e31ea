/**
 * The runbook's JSON Schema (`drover schema`), for editors: generated from the zod schema, committed as
 * runbooks/runbook.schema.json (which the example runbook names in its yaml-language-server comment), and
 * checked here with a real JSON Schema validator (Ajv, draft-07) against the example runbooks and broken ones.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { parse, parseDocument, type Document } from 'yaml';
import { exec } from '../cli/main';
import { runbookJsonSchema, runbookJsonSchemaText } from '../runbooks/json-schema';
import { APNAKART, captureIO } from './harness/fixtures';

const COMMITTED = path.join(__dirname, '../runbooks/runbook.schema.json');
const apnakartText = fs.readFileSync(APNAKART, 'utf8');

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv); // format: uri (a probe's url)
const validate = ajv.compile(JSON.parse(fs.readFileSync(COMMITTED, 'utf8')) as object);

/** What Ajv says about a document, one `path: message` line per error, in its order. */
function problems(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message}${e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : ''}`);
}

function edited(edit: (d: Document) => void): unknown {
  const d = parseDocument(apnakartText);
  edit(d);
  return d.toJS();
}

describe('the runbook JSON Schema', () => {
  test('the committed file is exactly what drover generates from the runbook schema (regenerate with drover schema --out runbooks/runbook.schema.json)', () => {
    expect(fs.readFileSync(COMMITTED, 'utf8')).toBe(runbookJsonSchemaText());
    expect(runbookJsonSchema().$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  test('the example runbook names the committed schema in its yaml-language-server comment, by a path relative to itself', () => {
    const modeline = /^# yaml-language-server: \$schema=(\S+)$/m.exec(apnakartText)?.[1];
    expect(modeline).toBe('./runbook.schema.json');
    expect(path.resolve(path.dirname(APNAKART), modeline ?? '')).toBe(COMMITTED);
  });

  test('validates the example runbook, and its variant with a list of databases', () => {
    expect(problems(parse(apnakartText))).toEqual([]);
    const listed = edited((d) => {
      const db = d.get('database', true);
      d.delete('database');
      d.set('databases', d.createNode([{ ...(JSON.parse(JSON.stringify(db)) as object), name: 'orders' }]));
    });
    expect(problems(listed)).toEqual([]);
  });

  test.each([
    ['a misspelt key', (d: Document) => d.setIn(['database', 'maxReplicaLage'], '30s'), ['/database: must NOT have additional properties (maxReplicaLage)']],
    ['an unknown routing policy', (d: Document) => d.setIn(['dns', 'records', 1, 'routing'], 'latency'), ['/dns/records/1/routing: must be equal to one of the allowed values']],
    ['a duration in words', (d: Document) => d.setIn(['dns', 'shift', 'soak'], 'five minutes'), ['/dns/shift/soak: must match pattern "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$"']],
    ['a city instead of a region', (d: Document) => d.setIn(['regions', 'primary'], 'mumbai'), ['/regions/primary: must match pattern "^[a-z]{2,4}(-[a-z]+){1,3}-\\d{1,2}$"']],
    ['no regions at all', (d: Document) => d.delete('regions'), ["/: must have required property 'regions'"]],
    ['version 2', (d: Document) => d.set('version', 2), ['/version: must be equal to constant']],
  ])('rejects a runbook with %s, at its path', (_what, edit, expected) => {
    expect(problems(edited(edit))).toEqual(expected);
  });

  test('accepts upper-case DNS names, as validation does (a pattern, never a regex flag, carries the case)', () => {
    expect(problems(edited((d) => d.setIn(['dns', 'hostedZone'], 'ApnaKart.COM')))).toEqual([]);
  });
});

describe('drover schema', () => {
  test('prints the committed schema and exits 0', async () => {
    const io = captureIO();
    expect(await exec(['schema'], io)).toBe(0);
    expect(`${io.stdout.join('\n')}\n`).toBe(fs.readFileSync(COMMITTED, 'utf8'));
    expect(io.stderr).toEqual([]);
  });

  test('--out writes it; a path it cannot write exits 2 with the path and the reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-schema-'));
    try {
      const out = path.join(dir, 'runbook.schema.json');
      const io = captureIO();
      expect(await exec(['schema', '--out', out], io)).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(COMMITTED, 'utf8'));
      expect(io.stdout).toEqual([`wrote ${out}; add "# yaml-language-server: $schema=${out}" to a runbook (a path relative to the runbook) for your editor`]);

      const bad = captureIO();
      expect(await exec(['schema', '--out', path.join(dir, 'missing', 'x.json')], bad)).toBe(2);
      expect(bad.stderr).toEqual([`drover: cannot write ${path.join(dir, 'missing', 'x.json')}: ENOENT`]);
      expect(bad.stdout).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
