/** Values options take, in a module of their own so the CLI's entry can name them without loading the commands. */
export const ISSUE_SORTS = ['last_seen', 'count', 'users'] as const;
/** What `send --level` takes: the dashboard's names, and Sentry's `fatal` for `critical`. */
export const SEND_LEVELS = ['critical', 'error', 'warning', 'info', 'debug', 'fatal'] as const;
