import type { SentryEventPayload } from '@botpulse/protocol';

/** Which part of the event decided the group. */
export type GroupingBasis =
  | 'custom' // the event's `fingerprint`
  | 'in-app-frames' // the exception chain's in-app stack frames
  | 'all-frames' // every frame, for stacks whose SDK marked no frame in-app or not
  | 'exception' // exception types and parameterised values: no frame contributed
  | 'http' // method + status + route of a failed request without an exception
  | 'message' // the parameterised log message
  | 'fallback'; // level + platform: nothing else to go on

export interface GroupingResult<V extends number = number> {
  /** 32 lowercase hex characters (md5). */
  hash: string;
  version: V;
  basis: GroupingBasis;
  /** The values that went into the hash, in order: for debugging and for showing "why grouped". */
  components: string[];
}

export type FingerprintFn<V extends number = number> = (event: SentryEventPayload) => GroupingResult<V>;

/** A grouping algorithm version. Versions live side by side; stored issues keep theirs. */
export interface Grouping<V extends number = number> {
  version: V;
  fingerprint: FingerprintFn<V>;
}
