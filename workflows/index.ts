// The workflow bundle's entry point: every workflow drover runs.
export { regionFailover } from './regionFailover';
export { drillQuery, statusQuery } from '../contracts/run';
export { approveUpdate, rejectUpdate } from '../contracts/messages';
export { promoteReplica } from './promoteReplica';
export { failback } from './failback';
export { drill } from './drill';
export { rebuildCluster } from './rebuildCluster';
export { cleanupRetained } from './cleanup';
export { runbookLock } from './runbookLock';
export { readiness } from './readiness';
