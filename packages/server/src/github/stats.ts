/**
 * What the GitHub integration did since start, read by `/metrics` at scrape time
 * (botpulse_github_*). Per process, like every counter.
 */
export class GithubStats {
  /** Calls to GitHub by outcome: ok, rate_limited, permanent, invalid, transient. */
  readonly calls = new Map<string, number>();
  /** GitHub issues created (found again after a lost answer included, as `found`). */
  created = 0;
  found = 0;
  /** Webhook deliveries by outcome: applied, ignored, bad_signature, no_secret, invalid. */
  readonly webhooks = new Map<string, number>();
  /** Times a project's link was disabled by a permanent error. */
  disabled = 0;

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
