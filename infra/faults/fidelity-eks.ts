/**
 * Fidelity rules for eks: see fidelity.ts for the mechanism, and docs/emulator-support.md for the table.
 */
import type { FidelityRule } from './fidelity';

export const EKS_FIDELITY_RULES: readonly FidelityRule[] = [];
