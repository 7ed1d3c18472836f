/**
 * What the console's feed carries, shared by the server (src/ops) and the page (src/ops/web, which
 * imports these types only): no imports here, so the page's build takes nothing else with them.
 */

/** One second of the console's charts: counts in that second, and quantiles (seconds) over the last QUANTILE_WINDOW of them. */
export interface ConsoleSample {
  /** The second's end, epoch ms. */
  t: number;
  accepted: number;
  completed: number;
  declined: number;
  rejected: number;
  failed: number;
  httpP50: number | null;
  httpP99: number | null;
  endToEndP50: number | null;
  endToEndP99: number | null;
}

/** Consumer lag of one stage's input partition. */
export interface ConsoleLag {
  stage: string;
  topic: string;
  partition: number;
  lag: number;
}
