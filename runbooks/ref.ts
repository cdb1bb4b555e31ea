/** How a run names its runbook: the worker loads its own copy and refuses one whose digest differs. Pure: workflows import it. */
export interface RunbookRef {
  /** The runbook's `name`. */
  name: string;
  /** `sha256:<hex>` of the runbook file the starter validated. */
  digest: string;
}
