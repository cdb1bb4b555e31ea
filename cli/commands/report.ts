import fs from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { buildReport, trendPoint } from '../../reports/report';
import { renderHtml, renderJson, renderMarkdown } from '../../reports/render';
import { withClient } from '../context';
import { drillReportInput, recentDrills, reportInputFor } from '../drills';
import { EXIT, type CliIO, type SetExit } from '../io';
import { evaluations } from '../readiness';
import { readinessRows } from '../../contracts/readiness';
import { parseOptions } from '../options';

const options = z.object({
  format: z.enum(['md', 'json', 'html'], { error: 'expected "md", "json" or "html"' }).default('md'),
  out: z.string().min(1).optional(),
  trend: z.coerce.number().int().min(0).max(200).default(10),
  runId: z.string().min(1).optional(),
  readiness: z.coerce.number().int().min(0).max(200).default(10),
});

/** `drover report RUN [--format md|json|html] [--out FILE]`: the RTO/RPO report of a drill or a real run. */
export function reportCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('report')
    .description('the report of a drill, failover, failback or promotion: RTO, RPO, steps, critical path, gates, pass or fail')
    .argument('<run>', 'workflow id of the run (e.g. failover-apnakart, or a drill id from drover drill history)')
    .option('--format <format>', 'md, json or html (one self-contained file with charts)', 'md')
    .option('--out <file>', 'write the report to this file instead of standard output')
    .option('--trend <n>', 'how many recent drills the trend covers', '10')
    .option('--readiness <n>', "how many of the runbook's latest readiness evaluations the report lists (0: none)", '10')
    .option('--run-id <id>', 'a particular run of the workflow id (default: the latest Temporal has)')
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(options, raw);
      const text = await withClient(async (client) => {
        const report = buildReport(await reportInputFor(client, run, o.runId));
        const trend = o.trend > 0 ? (await recentDrills(client, report.runbook, o.trend)).map((d) => trendPoint(buildReport(drillReportInput(d)))) : [];
        // Best effort: a history that cannot be read is said on stderr; the report itself is what was asked for.
        const readiness = o.readiness > 0 ? await evaluations(client, report.runbook, o.readiness).then(readinessRows, (e: unknown) => (io.err(`readiness history not read: ${(e as Error).message}`), undefined)) : undefined;
        if (o.format === 'json') return renderJson(report, trend, readiness);
        if (o.format === 'html') return renderHtml(report, trend, readiness);
        return renderMarkdown(report, trend, readiness);
      });
      if (o.out) {
        fs.writeFileSync(o.out, text);
        io.err(`wrote ${o.out}`);
      } else io.out(text.replace(/\n$/, ''));
      setExit(EXIT.OK);
    });
}
