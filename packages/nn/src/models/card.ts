import type { BundledModelCard } from './bundled';

type Check = (value: unknown) => string | null;

const str: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'a non-empty string');
const num: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'a finite number');
const triple =
  (each: Check, what: string): Check =>
  (v) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => each(x) === null) ? null : `an array of 3 ${what}`;
const positive: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'a positive number');
const size: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65536 ? null : 'an integer from 1 to 65536');
const classes: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? null : 'a non-empty array of class names (strings)';

/** The card's schema: each required field with its check; other fields are kept as they are. */
const SCHEMA: ReadonlyArray<readonly [string, Check]> = [
  ['name', str],
  ['architecture', str],
  ['classes', classes],
  ['inputSize', triple(size, 'positive integers [C, H, W]')],
  ['normalization.mean', triple(num, 'finite numbers')],
  ['normalization.std', triple(positive, 'positive numbers')],
  ['testAccuracy', num],
];

function field(card: Record<string, unknown>, dotted: string): unknown {
  let v: unknown = card;
  for (const key of dotted.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * Parses a model card (the JSON beside bundled weights) and checks it against its schema; every
 * problem is reported at once in one line that names the file and the fields.
 */
export function parseModelCard(text: string, file: string): BundledModelCard {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not a valid model card (not JSON: ${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${file}: not a valid model card (a JSON object is expected)`);
  const card = parsed as Record<string, unknown>;
  const problems: string[] = [];
  for (const [name, check] of SCHEMA) {
    const value = field(card, name);
    const want = check(value);
    if (want !== null) problems.push(value === undefined ? `${name} is missing (${want})` : `${name} must be ${want}`);
  }
  if (problems.length > 0) throw new Error(`${file}: not a valid model card: ${problems.join('; ')}`);
  return card as BundledModelCard;
}
