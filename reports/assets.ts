import fs from 'node:fs';
import path from 'node:path';

let chartJs: string | undefined;
const assetCache = new Map<string, string>();

/**
 * Chart.js's UMD build (it defines `window.Chart`), read from node_modules so the report can inline it
 * and open with no network. The package exports only its module entry points, so the UMD file is found
 * next to the resolved CommonJS entry in dist/.
 */
export function chartJsSource(): string {
  if (chartJs === undefined) {
    const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    // The source map comment would point at a file that does not travel with the report.
    chartJs = fs.readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
  }
  return chartJs;
}

/** A file shipped in reports/static/ (the report's stylesheet and chart script). */
export function reportAsset(name: 'report.css' | 'report.client.js'): string {
  let text = assetCache.get(name);
  if (text === undefined) {
    text = fs.readFileSync(path.join(__dirname, 'static', name), 'utf8');
    assetCache.set(name, text);
  }
  return text;
}

/** Text safe to put inside an inline <script> or <style>: nothing in it can close the element early. */
export function inlineSafe(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
