/**
 * What a fidelity rule is (fidelity.ts has the mechanism's story and the rules): the types the per-service rule
 * files share with the proxy.
 */
import type http from 'node:http';
import type { RequestInfo } from './identify';

/** One request, as the rules read it. */
export interface FidelityCall {
  info: RequestInfo;
  method: string;
  /** The URL path without the query string (percent-decoded where it decodes). */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The request body as it came (REST-XML rules read their XML from it). */
  body: Buffer;
  /** A request parameter: a form field (query protocols), a top-level JSON member (JSON protocols) or a URL query parameter. */
  param(name: string): string | undefined;
  /** Ask the emulator, with this request's headers, what `method path` answers (its HTTP status): what a rule looks up. */
  probe(method: string, path: string): Promise<number>;
}

/** What a rule answers instead of the emulator: an AWS error in the service's own wire format, or AWS's success (201 where the operation's is, as Route 53's creates). */
export type FidelityAnswer = { status: number; code: string; message: string } | { status: 200 | 201; ok: true; headers: Record<string, string>; body?: string };

/** What a rule remembers between requests: one map per proxy (rules keep their state under their id). */
export type FidelityState = Map<string, unknown>;

export interface FidelityRule {
  /** Stable name (`rds-identifier`), shown in the proxy's log as `fidelity:<id>`. */
  id: string;
  /** Where AWS says so, and what it says (quoted in docs/emulator-support.md). */
  source: { url: string; says: string };
  service: string;
  /** The operations it applies to; `'*'` for every operation of the service. */
  operations: readonly string[] | '*';
  /** AWS's answer to this request where the emulator's differs, or undefined to let it through. */
  refuse?(call: FidelityCall, state: FidelityState): FidelityAnswer | undefined | Promise<FidelityAnswer | undefined>;
  /** Learn from a request the emulator accepted (status 2xx). */
  observe?(call: FidelityCall, state: FidelityState): void;
  /** The emulator's successful answer (body text) rewritten as AWS would answer; returned unchanged when it already does. */
  rewrite?(call: FidelityCall, body: string, state: FidelityState): string;
}

/** What a rule keeps under `key` in the proxy's state: made by `make` on first use, the same object after. */
export function kept<T>(state: FidelityState, key: string, make: () => T): T {
  let value = state.get(key) as T | undefined;
  if (value === undefined) {
    value = make();
    state.set(key, value);
  }
  return value;
}
