/**
 * CDKTF's test helpers (Testing.synth, Testing.toHaveResourceWithProperties, ...), re-exported so
 * that tests, like all code outside infra/eks, import no cdktf module directly.
 */
export { Testing } from 'cdktf';
