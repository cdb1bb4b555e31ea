import fs from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { AWS_REGION_SHAPE } from '../../runbooks/aws-regions';
import { formatProblems } from '../../runbooks/load';
import { awsConfig } from '../context';
import { discoverRunbook } from '../init';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { parseOptions } from '../options';

const region = z.string().regex(AWS_REGION_SHAPE, { error: 'expected an AWS region name such as ap-south-1' });
const options = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, { error: 'expected lower-case letters, digits and dashes, starting with a letter' }).max(63),
    primary: region,
    standby: region,
    zone: z.string().min(1, { error: 'required: the hosted zone of the application records' }),
    alarmPrefix: z.string().min(1).optional(),
    out: z.string().min(1),
    force: z.boolean().optional(),
  })
  .refine((o) => o.primary !== o.standby, { path: ['standby'], message: 'must differ from --primary' });

/** `drover init`: write a starting runbook discovered from the account (reads only), each guess marked. */
export function initCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('init')
    .description('write a starting runbook discovered from an AWS account for a region pair (reads only; every guess is marked "# GUESSED:")')
    .requiredOption('--name <name>', 'the runbook name')
    .requiredOption('--primary <region>', 'the primary region')
    .requiredOption('--standby <region>', 'the standby region')
    .requiredOption('--zone <zone>', 'the Route 53 hosted zone of the records that move')
    .option('--alarm-prefix <prefix>', 'CloudWatch alarms whose names start with this prefix are the health alarms')
    .option('--out <file>', 'where to write it (refuses to overwrite without --force)', 'runbook.yaml')
    .option('--force', 'overwrite --out')
    .action(async (raw: unknown) => {
      const o = parseOptions(options, raw);
      if (fs.existsSync(o.out) && !o.force) throw new CliError('invalid options', EXIT.USAGE, [`--out: ${o.out} exists; give --force to overwrite it`]);
      let result;
      try {
        result = await discoverRunbook({ name: o.name, primary: o.primary, standby: o.standby, zone: o.zone, alarmPrefix: o.alarmPrefix }, awsConfig());
      } catch (e) {
        const message = (e as Error).message.split('\n')[0];
        if (/^no hosted zone /.test(message)) throw new CliError(message, EXIT.NOT_FOUND, ['--zone: the zone of the records a failover moves']);
        throw new CliError(`cannot read the account: ${message}`, EXIT.UNAVAILABLE, ['check the AWS endpoint, credentials and regions']);
      }
      fs.writeFileSync(o.out, result.text);
      const f = result.found;
      io.out(`wrote ${o.out}: ${f.records} record pairs, ${f.databases} database${f.databases === 1 ? '' : 's'}, ${f.clusters} clusters, ${f.alarms} alarms found in the account`);
      io.out(`guessed (marked "# GUESSED:" in the file; check each): ${result.guesses.join('; ')}`);
      if (result.problems.length > 0) {
        // What the account could not tell (no record pair, no replica) leaves required parts empty.
        for (const line of formatProblems(o.out, result.problems)) io.err(line);
        io.err(`${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} to fix before it validates`);
        setExit(EXIT.FAILED);
        return;
      }
      io.out(`next: drover validate ${o.out}`);
      setExit(EXIT.OK);
    });
}
