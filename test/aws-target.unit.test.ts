/**
 * The emulator rule (config/endpoints.ts): where AWS calls go when the dev stack runs, when a real AWS
 * configuration exists, and what DROVER_PROFILE says; and the CLI's refusal when nothing decides.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeAwsTarget, realAwsConfiguration, resolveAwsTarget } from '../config/endpoints';
import { awsConfig } from '../cli/context';
import { CliError } from '../cli/io';

const MOTO = 'http://127.0.0.1:5055';

describe('resolveAwsTarget', () => {
  test.each([
    ['AWS_ENDPOINT_URL always wins', { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', DROVER_PROFILE: 'aws' }, MOTO, 'AWS_PROFILE', { kind: 'endpoint', endpoint: 'http://127.0.0.1:4566' }],
    ['no dev stack, nothing set: real AWS', {}, undefined, undefined, { kind: 'aws', why: 'no AWS_ENDPOINT_URL and no dev stack running' }],
    ['the dev stack on a machine without AWS configuration: the emulator', {}, MOTO, undefined, { kind: 'dev-stack', endpoint: MOTO, why: 'the dev stack runs and this machine has no AWS configuration' }],
    ['the dev stack beside a real configuration: undecided', {}, MOTO, '/home/sre/.aws/credentials', { kind: 'ambiguous', endpoint: MOTO, real: '/home/sre/.aws/credentials' }],
    ['DROVER_PROFILE=dev: the emulator, whatever else exists', { DROVER_PROFILE: 'dev' }, MOTO, 'AWS_PROFILE', { kind: 'dev-stack', endpoint: MOTO, why: 'DROVER_PROFILE=dev' }],
    ['DROVER_PROFILE=aws: real AWS while the dev stack runs', { DROVER_PROFILE: 'aws' }, MOTO, 'AWS_PROFILE', { kind: 'aws', why: 'DROVER_PROFILE=aws' }],
    ['DROVER_PROFILE=dev with no dev stack: refused', { DROVER_PROFILE: 'dev' }, undefined, undefined, { kind: 'invalid', problem: "DROVER_PROFILE=dev, but the dev stack's emulator is not running: start it with drover dev up" }],
    ['a DROVER_PROFILE that is no profile: refused, even beside AWS_ENDPOINT_URL', { DROVER_PROFILE: 'prod', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, MOTO, undefined, { kind: 'invalid', problem: 'DROVER_PROFILE: expected "dev" (the dev stack\'s emulator) or "aws" (real AWS), got "prod"' }],
  ])('%s', (_what, env, devMoto, real, expected) => {
    expect(resolveAwsTarget({ env, devMoto, real })).toEqual(expected);
  });
});

describe('realAwsConfiguration', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-home-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  test('none: no credential variable, no profile, no shared files', () => {
    expect(realAwsConfiguration({}, home)).toBeUndefined();
  });

  test.each(['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'])('%s names one', (name) => {
    expect(realAwsConfiguration({ [name]: 'x' }, home)).toBe(name);
  });

  test('the shared config or credentials file, at its default place or where the SDK variables point', () => {
    fs.mkdirSync(path.join(home, '.aws'));
    fs.writeFileSync(path.join(home, '.aws', 'config'), '[default]\nregion = ap-south-1\n');
    expect(realAwsConfiguration({}, home)).toBe(path.join(home, '.aws', 'config'));
    const elsewhere = path.join(home, 'creds');
    fs.writeFileSync(elsewhere, '[default]\n');
    expect(realAwsConfiguration({ AWS_SHARED_CREDENTIALS_FILE: elsewhere }, home)).toBe(elsewhere);
    expect(realAwsConfiguration({ AWS_CONFIG_FILE: path.join(home, 'missing') }, fs.mkdtempSync(path.join(os.tmpdir(), 'drover-home-')))).toBeUndefined();
  });
});

describe("the CLI's AWS configuration", () => {
  test('undecided: exit 2, naming both and the three ways to decide', () => {
    let error: unknown;
    try {
      awsConfig({ kind: 'ambiguous', endpoint: MOTO, real: 'AWS_PROFILE' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliError);
    expect({ message: (error as CliError).message, code: (error as CliError).exitCode, lines: (error as CliError).lines }).toEqual({
      message: `which AWS? undecided: the dev stack's moto at ${MOTO} runs, and a real AWS configuration exists (AWS_PROFILE)`,
      code: 2,
      lines: ["DROVER_PROFILE=dev: use the dev stack's emulator", 'DROVER_PROFILE=aws: use real AWS (the dev stack keeps running)', 'or name an endpoint with AWS_ENDPOINT_URL'],
    });
  });

  test('the emulator: its endpoint; real AWS: none, even when AWS_ENDPOINT_URL was in the environment', () => {
    expect(awsConfig({ kind: 'dev-stack', endpoint: MOTO, why: 'DROVER_PROFILE=dev' }).endpoint).toBe(MOTO);
    expect(awsConfig({ kind: 'aws', why: 'DROVER_PROFILE=aws' }).endpoint).toBeUndefined();
  });

  test('each target in one line, as the worker prints it at start', () => {
    expect(describeAwsTarget({ kind: 'endpoint', endpoint: 'http://127.0.0.1:4566' })).toBe('AWS at http://127.0.0.1:4566 (AWS_ENDPOINT_URL)');
    expect(describeAwsTarget({ kind: 'dev-stack', endpoint: MOTO, why: 'DROVER_PROFILE=dev' })).toBe(`AWS emulator: the dev stack's moto at ${MOTO} (DROVER_PROFILE=dev)`);
    expect(describeAwsTarget({ kind: 'aws', why: 'DROVER_PROFILE=aws' })).toBe('real AWS endpoints (DROVER_PROFILE=aws)');
  });
});
