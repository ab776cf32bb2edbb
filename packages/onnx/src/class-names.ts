/** metadata_props keys read for class names, in this order (the first present wins). */
export const CLASS_NAME_KEYS: readonly string[] = ['class_names', 'classes', 'labels', 'names', 'id2label'];

/** Names from an index → name map (`{"0": "cat"}` or Python's `{0: 'cat'}`); the indices must be 0…n−1. */
function fromIndexMap(entries: [string, string][], key: string): string[] {
  const names: string[] = [];
  for (const [k, v] of entries) {
    if (!/^\d+$/.test(k.trim())) throw new Error(`metadata '${key}': '${k}' is not a class index`);
    names[Number(k)] = v;
  }
  for (let i = 0; i < names.length; i++) if (names[i] === undefined) throw new Error(`metadata '${key}' has no name for class ${i}`);
  return names;
}

/** Python's dict repr as Ultralytics writes it: `{0: 'person', 1: "it's"}` → entries, or null if it is not one. */
function pythonDict(raw: string): [string, string][] | null {
  const body = raw.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) return null;
  const entry = /\s*(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(,|$)/y;
  const inner = body.slice(1, -1);
  const out: [string, string][] = [];
  entry.lastIndex = 0;
  while (entry.lastIndex < inner.length) {
    const m = entry.exec(inner);
    if (!m) return null;
    out.push([m[1]!, (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1')]);
    if (m[4] === '') break;
  }
  return out;
}

/**
 * Class names from a model's metadata_props: the first of CLASS_NAME_KEYS present, as a JSON array of
 * strings, a JSON object or Python dict from index to name, one name per line, or comma-separated.
 * Returns null when no key is present.
 */
export function classNamesFromMetadata(metadata: Readonly<Record<string, string>>): { key: string; names: string[] } | null {
  for (const key of CLASS_NAME_KEYS) {
    const raw = metadata[key];
    if (raw === undefined) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed)) {
      if (!parsed.every((s) => typeof s === 'string'))
        throw new Error(`metadata '${key}' is a JSON array with entries that are not strings`);
      return { key, names: parsed as string[] };
    }
    if (parsed !== null && typeof parsed === 'object') {
      const entries = Object.entries(parsed as Record<string, unknown>);
      if (!entries.every((e): e is [string, string] => typeof e[1] === 'string'))
        throw new Error(`metadata '${key}' is a JSON object with values that are not strings`);
      return { key, names: fromIndexMap(entries, key) };
    }
    const dict = pythonDict(raw);
    if (dict) return { key, names: fromIndexMap(dict, key) };
    const names = raw.includes('\n')
      ? raw
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean)
      : raw.split(',').map((s) => s.trim());
    return { key, names };
  }
  return null;
}
