import type { Workflow } from '@temporalio/common';
import type * as bundle from '../workflows';
import type { ListedKind, WORKFLOW_TYPES } from '../contracts/ids';

/**
 * The workflow function a kind of run starts, as a type: the CLI names workflows by their type names
 * (contracts/ids.ts WORKFLOW_TYPES) and never loads workflow code, but every start is typed by the
 * function it starts. A name the workflow bundle does not export is a compile error here.
 */
export type WorkflowOf<K extends ListedKind> = (typeof bundle)[(typeof WORKFLOW_TYPES)[K]] extends infer W extends Workflow ? W : never;

/** The input a kind of run takes (its workflow function's one argument). */
export type InputOf<K extends ListedKind> = Parameters<WorkflowOf<K>>[0];
