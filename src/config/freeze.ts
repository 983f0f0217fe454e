/**
 * A loaded config never changes: every stage gets a read-only view of its slice, so no stage can
 * alter what another sees (or what the next reload would compare against).
 */

/** Deep read-only view of a value. */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Freeze `value` and everything reachable from it (plain objects and arrays); returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
