import { z } from 'zod';
import { runbookSchema } from './schema';

/**
 * The runbook format as a JSON Schema, generated from the zod schema that validation uses, for editors
 * (autocompletion, unknown keys, enums). It describes the input a runbook file may contain: durations are
 * strings, defaults are shown as defaults. Draft-07: the draft every YAML language server release reads
 * (2019-09 and 2020-12 came only in its 1.20 line).
 * It checks shape only: the cross-field rules (regions paired, records in their zone, steps ending at 100,
 * region names AWS has, ...) are `drover validate`'s, which stays the authority.
 */
export function runbookJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(runbookSchema, { io: 'input', target: 'draft-07', unrepresentable: 'throw' });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'drover runbook',
    description: 'A drover runbook (version 1). Shape only: run `drover validate FILE` for every rule.',
    ...rest,
  };
}

/** The schema file's text, as committed in runbooks/runbook.schema.json and printed by `drover schema`. */
export function runbookJsonSchemaText(): string {
  return `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;
}
