/**
 * The user's own boxes for `gradlens evaluate --images DIR --boxes FILE`: COCO-style JSON
 * (`images` with file_name/width/height, `annotations` with image_id/bbox [x, y, w, h]/category_id,
 * `categories` with id/name) or CSV lines `file,x0,y0,x1,y1,class`. Every box is checked against its
 * picture: inside it, not empty, of a class the model has; every picture must have a box.
 */

import * as fs from 'fs';
import * as path from 'path';
import { didYouMean } from '@gradlens/nn';
import { CliError } from './args';
import { readCsv } from './csv';

/** One box in picture pixels (x1, y1 exclusive), with the class it shows. */
export interface LabelledBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  label: number;
  /** Where it was given, for messages: `boxes.csv line 4`, `boxes.json annotation 12`. */
  where: string;
}

/** A class as written in the boxes file: an index, or a name to match against the model's classes. */
type ClassText = string;

/** A box as read from the file, before it is matched to a picture and a class. */
export interface RawBox {
  file: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  cls: ClassText;
  where: string;
}

function num(v: string | undefined, what: string, where: string): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isFinite(n))
    throw new CliError(`${where}: ${what} must be a number, got '${v ?? ''}'`, 2);
  return n;
}

function readCsvBoxes(file: string): RawBox[] {
  const rows = readCsv(file, '--boxes');
  const out: RawBox[] = [];
  rows.forEach((r, i) => {
    const f = r.fields;
    if (i === 0 && f[0]?.toLowerCase() === 'file' && f[1]?.toLowerCase() === 'x0') return;
    const where = `${path.basename(file)} line ${r.line}`;
    if (f.length !== 6) throw new CliError(`${where}: expected file,x0,y0,x1,y1,class, got ${f.length} fields`, 2);
    out.push({
      file: f[0]!,
      x0: num(f[1], 'x0', where),
      y0: num(f[2], 'y0', where),
      x1: num(f[3], 'x1', where),
      y1: num(f[4], 'y1', where),
      cls: f[5]!,
      where,
    });
  });
  return out;
}

/** A value from the file in a message: its JSON, cut at 80 characters (a bbox may be a million numbers, or nested past JSON.stringify's stack). */
function shownJson(v: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(v) ?? String(v);
  } catch {
    return '(a value nested too deeply to show)';
  }
  return json.length > 80 ? `${json.slice(0, 80)}… (${json.length} characters)` : json;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function readCocoBoxes(file: string): RawBox[] {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`--boxes ${file}: not valid JSON: ${(e as Error).message}`, 2);
  }
  const name = path.basename(file);
  if (!isRecord(doc) || !Array.isArray(doc.images) || !Array.isArray(doc.annotations)) {
    throw new CliError(
      `--boxes ${file}: expected COCO-style JSON with "images" and "annotations" arrays (or a CSV file,x0,y0,x1,y1,class)`,
      2,
    );
  }
  const images = new Map<unknown, string>();
  doc.images.forEach((im: unknown, i: number) => {
    if (!isRecord(im) || typeof im.file_name !== 'string' || im.id === undefined)
      throw new CliError(`${name} images[${i}]: needs "id" and "file_name"`, 2);
    images.set(im.id, im.file_name);
  });
  const categories = new Map<unknown, string>();
  if (Array.isArray(doc.categories)) {
    doc.categories.forEach((c: unknown, i: number) => {
      if (!isRecord(c) || c.id === undefined) throw new CliError(`${name} categories[${i}]: needs "id"`, 2);
      if (typeof c.name === 'string') categories.set(c.id, c.name);
    });
  }
  return doc.annotations.map((a: unknown, i: number) => {
    const where = `${name} annotations[${i}]`;
    if (!isRecord(a)) throw new CliError(`${where}: not an object`, 2);
    const fileName = images.get(a.image_id);
    if (fileName === undefined) throw new CliError(`${where}: image_id ${shownJson(a.image_id)} is not in "images"`, 2);
    const b = a.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw new CliError(`${where}: bbox must be [x, y, width, height], got ${shownJson(b)}`, 2);
    const [x, y, w, h] = b as number[];
    if (a.category_id === undefined) throw new CliError(`${where}: needs "category_id"`, 2);
    // a category with a name is matched by name; without one, its id is the class index
    const cls = categories.get(a.category_id) ?? String(a.category_id);
    return { file: fileName, x0: x!, y0: y!, x1: x! + w!, y1: y! + h!, cls, where };
  });
}

/** Reads a boxes file: `.json` as COCO, anything else as CSV. */
export function readBoxesFile(file: string): RawBox[] {
  if (!fs.existsSync(file)) throw new CliError(`--boxes: file not found: ${file}`, 2);
  if (!fs.statSync(file).isFile()) throw new CliError(`--boxes: not a file: ${file}`, 2);
  return file.toLowerCase().endsWith('.json') ? readCocoBoxes(file) : readCsvBoxes(file);
}

function classOf(cls: ClassText, names: readonly string[] | null, classCount: number, where: string): number {
  if (/^\d+$/.test(cls)) {
    const c = Number(cls);
    if (c >= classCount)
      throw new CliError(`${where}: class ${c} is out of range: the model has ${classCount} classes (0…${classCount - 1})`, 2);
    return c;
  }
  const c = names ? names.findIndex((n) => n.toLowerCase() === cls.toLowerCase()) : -1;
  if (c < 0)
    throw new CliError(
      `${where}: class '${cls}' is not a class of the model${names ? `${didYouMean(cls, names)}; classes: ${names.join(', ')}` : ' (its classes have no names: give indices)'}`,
      2,
    );
  return c;
}

/**
 * The boxes of each picture (by index in `files`), checked: each names one of the pictures (by path,
 * path relative to the boxes file, or name), lies inside it (`sizes`: width and height, null when not decoded), is not empty,
 * and has a class the model has; a picture without any box is an error.
 */
export function boxesPerPicture(
  raw: readonly RawBox[],
  boxesFile: string,
  files: readonly string[],
  sizes: (i: number) => { width: number; height: number } | null,
  names: readonly string[] | null,
  classCount: number,
): LabelledBox[][] {
  const resolved = files.map((f) => path.resolve(f));
  const base = files.map((f) => path.basename(f));
  const out: LabelledBox[][] = files.map(() => []);
  for (const b of raw) {
    let k = resolved.indexOf(path.resolve(b.file));
    if (k < 0) k = resolved.indexOf(path.resolve(path.dirname(boxesFile), b.file));
    if (k < 0) k = base.indexOf(path.basename(b.file));
    if (k < 0) throw new CliError(`${b.where}: picture '${b.file}' is not among the pictures (${files.length} in the run)`, 2);
    // a picture outside this shard is not decoded: its boxes are checked by the shard that scores it
    const { width, height } = sizes(k) ?? { width: Infinity, height: Infinity };
    if (b.x0 < 0 || b.y0 < 0 || b.x1 > width || b.y1 > height) {
      throw new CliError(
        `${b.where}: box [${b.x0}, ${b.y0}, ${b.x1}, ${b.y1}] is outside ${base[k]} (${width}×${height}); boxes are x0,y0,x1,y1 in pixels within the picture`,
        2,
      );
    }
    if (b.x1 <= b.x0 || b.y1 <= b.y0)
      throw new CliError(`${b.where}: box [${b.x0}, ${b.y0}, ${b.x1}, ${b.y1}] is empty (needs x1 > x0 and y1 > y0)`, 2);
    out[k]!.push({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, label: classOf(b.cls, names, classCount, b.where), where: b.where });
  }
  const bare = files.filter((_, i) => out[i]!.length === 0);
  if (bare.length > 0) {
    const shown =
      bare
        .slice(0, 5)
        .map((f) => path.basename(f))
        .join(', ') + (bare.length > 5 ? `, … (${bare.length - 5} more)` : '');
    throw new CliError(
      `${bare.length} picture${bare.length === 1 ? ' has' : 's have'} no box in ${path.basename(boxesFile)}: ${shown}; give each picture a box or leave it out of the folder`,
      2,
    );
  }
  return out;
}
