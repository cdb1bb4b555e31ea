import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { runbookJsonSchemaText } from '../../runbooks/json-schema';
import { EXIT, type CliIO, type SetExit } from '../io';

/**
 * `drover schema [--out FILE]`: the runbook's JSON Schema, for editors. Point the YAML language server at it
 * with a comment in the runbook: `# yaml-language-server: $schema=./runbook.schema.json`.
 */
export function schemaCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('schema')
    .description("print the runbook's JSON Schema (draft-07) for editors' autocompletion; drover validate remains the full check")
    .option('--out <file>', 'write it to FILE instead of printing it')
    .action((opts: { out?: string }) => {
      const text = runbookJsonSchemaText();
      if (opts.out === undefined) {
        io.out(text.trimEnd());
        setExit(EXIT.OK);
        return;
      }
      try {
        writeFileSync(opts.out, text);
      } catch (e) {
        io.err(`drover: cannot write ${opts.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        setExit(EXIT.USAGE);
        return;
      }
      io.out(`wrote ${opts.out}; add "# yaml-language-server: $schema=${opts.out}" to a runbook (a path relative to the runbook) for your editor`);
      setExit(EXIT.OK);
    });
}
