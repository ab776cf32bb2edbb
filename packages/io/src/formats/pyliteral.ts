import { setOwn } from './record';

/**
 * A parser for the Python literal subset a .npy header uses: dicts with string keys, tuples and
 * lists, quoted strings, integers (with the Python 2 `L` suffix), True, False and None.
 */

/** A parsed Python literal. Tuples and lists both become arrays. */
export type PyLiteral = string | number | boolean | null | PyLiteral[] | { [key: string]: PyLiteral };

/** Returns the value of a Python literal string; throws with the position of the first thing it cannot read. */
export function parsePyLiteral(text: string): PyLiteral {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${i}`);
  };
  const skip = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  const expect = (ch: string): void => {
    skip();
    if (text[i] !== ch) fail(`expected '${ch}'`);
    i++;
  };
  // Reads items until `close`, allowing a trailing comma.
  const items = (close: string, item: () => void): void => {
    skip();
    while (text[i] !== close) {
      item();
      skip();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      skip();
    }
    i++;
  };
  const value = (depth: number): PyLiteral => {
    if (depth > 32) fail('nesting too deep');
    skip();
    const c = text[i];
    if (c === undefined) return fail('unexpected end');
    if (c === '{') {
      i++;
      const out: { [key: string]: PyLiteral } = {};
      items('}', () => {
        const key = value(depth + 1);
        if (typeof key !== 'string') fail('dict key is not a string');
        expect(':');
        setOwn(out, String(key), value(depth + 1));
      });
      return out;
    }
    if (c === '(' || c === '[') {
      i++;
      const out: PyLiteral[] = [];
      items(c === '(' ? ')' : ']', () => out.push(value(depth + 1)));
      return out;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      if (s.includes('\\')) fail('escapes in strings are not supported');
      i = end + 1;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(i, i + 40));
    if (!m) return fail(`unexpected ${JSON.stringify(c)}`);
    i += m[0].length;
    if (m[2] === 'True') return true;
    if (m[2] === 'False') return false;
    if (m[2] === 'None') return null;
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n)) fail(`integer ${m[1] ?? ''} is too large`);
    return n;
  };
  const result = value(0);
  skip();
  if (i !== text.length) fail('unexpected text after the value');
  return result;
}
