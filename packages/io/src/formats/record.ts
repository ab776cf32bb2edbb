import { excerpt } from '../read-policy';

/** Sets `obj[key] = value` as an own property, so keys like "__proto__" from a file stay plain data. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Shows an untrusted name or value from a file in a message: as it is when short and printable,
 * else a quoted excerpt of at most `max` characters (a 16 MiB dtype string is never echoed whole).
 */
export function shown(value: string, max = 80): string {
  return value.length <= max && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value) ? value : excerpt(value, max);
}

/** JSON of an untrusted value, cut to a short excerpt when long. */
export function shownJson(value: unknown, max = 80): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    // a header can nest lists deeper than JSON.stringify's stack: say so rather than throw a RangeError
    return `(a value nested too deeply to show)`;
  }
  return shown(json, max);
}
