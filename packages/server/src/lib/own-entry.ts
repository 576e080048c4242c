/**
 * `table[key]` for a key that came from outside (a log line's level, a Sentry attribute name, a
 * check-in's interval unit, a Telegram command, a query string): only the table's own entries.
 * A plain lookup also finds what every object inherits, so `constructor`, `toString` or
 * `__proto__` would read a function and pass for a known entry.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** `target[key] = value` as an own entry, also for `__proto__` (assigning that key sets the prototype and keeps nothing). */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
