import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { buildCheckedBundle, HISTORIES_DIR } from '../bundle';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';

/** `drover bundle --out FILE`: the prebuilt workflow bundle production workers load, checked against the recorded histories first. */
export function bundleCommand(io: CliIO, _setExit: SetExit): Command {
  return new Command('bundle')
    .description('build the workflow bundle production workers load (DROVER_WORKFLOW_BUNDLE), after replaying every recorded workflow history against it')
    .requiredOption('--out <file>', 'where to write the bundle')
    .option('--histories <dir>', 'the recorded histories and their index.json', HISTORIES_DIR)
    .action(async (opts: { out: string; histories: string }) => {
      if (!fs.existsSync(path.join(opts.histories, 'index.json'))) throw new CliError('invalid options', EXIT.USAGE, [`--histories: ${opts.histories} holds no index.json of recorded histories`]);
      const { code, replayed, failures } = await buildCheckedBundle(opts.histories);
      if (replayed === 0) throw new CliError('no recorded history to check the bundle against; not written', EXIT.USAGE, [`--histories: ${opts.histories}/index.json lists none`]);
      if (failures.length > 0) throw new CliError(`the bundle does not replay ${failures.length} of ${replayed} recorded histories; not written`, EXIT.FAILED, failures);
      fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
      fs.writeFileSync(opts.out, code);
      io.out(`wrote ${opts.out}: ${replayed} recorded histories replay against it`);
    });
}
