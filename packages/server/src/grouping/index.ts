import type { Grouping } from './types.js';
import { GROUPING_VERSION, fingerprintV1 } from './v1.js';

export type { Grouping, GroupingBasis, GroupingResult, FingerprintFn } from './types.js';
export { parameterize, routePattern } from './parameterize.js';

/** Every released grouping version, so issues stored under an older one can still be matched. */
export const groupings: ReadonlyMap<number, Grouping> = new Map<number, Grouping>([
  [GROUPING_VERSION, { version: GROUPING_VERSION, fingerprint: fingerprintV1 }],
]);

/** The version new projects get. */
export const currentGrouping: Grouping<typeof GROUPING_VERSION> = {
  version: GROUPING_VERSION,
  fingerprint: fingerprintV1,
};
