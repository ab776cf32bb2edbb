/** Sets `obj[key] = value` as an own property, so keys like "__proto__" from a file stay plain data. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
