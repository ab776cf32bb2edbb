/**
 * The pictures a command works on: `--image a.png b.jpg …` and/or `--images folder/`, with an
 * optional `--targets targets.csv` (file,class). Everything is checked before any weights load:
 * a missing picture, an empty folder, a CSV naming a file that is not in the list.
 */

import * as fs from 'fs';
import * as path from 'path';
import { CliError } from './args';
import { readCsv } from './csv';

/** File name endings read as pictures (PNG and JPEG, what @gradlens/io decodes). */
export const PICTURE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** One picture to work on. */
export interface PictureEntry {
  /** Path as given (or folder + name). */
  file: string;
  /** Name for its outputs: the file name without extension, made unique in the run (`cat`, `cat_jpg`). */
  stem: string;
  /** The class from --targets, as written there (checked like --target); undefined when the CSV has no row for it. */
  target?: string;
}

/** True when `file` ends with a picture extension (case-insensitive). */
export function isPictureName(file: string): boolean {
  return PICTURE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/**
 * The pictures of a folder (not its subfolders), sorted by name. Files that are not pictures (by
 * their extension) are skipped with one warning; hidden files silently. An empty result is an error.
 */
export function listFolder(dir: string, onWarning: (m: string) => void): string[] {
  if (!fs.existsSync(dir)) throw new CliError(`--images: folder not found: ${dir}`, 2);
  if (!fs.statSync(dir).isDirectory()) throw new CliError(`--images: not a folder: ${dir} (for one picture use --image)`, 2);
  const names = fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();
  const files = names.filter((n) => fs.statSync(path.join(dir, n)).isFile());
  const pictures = files.filter(isPictureName);
  const others = files.filter((n) => !isPictureName(n));
  if (others.length > 0) {
    const shown = others.slice(0, 5).join(', ') + (others.length > 5 ? `, … (${others.length - 5} more)` : '');
    onWarning(
      `--images ${dir}: skipping ${others.length} file${others.length === 1 ? '' : 's'} that ${others.length === 1 ? 'is' : 'are'} not a picture (${PICTURE_EXTENSIONS.join(', ')}): ${shown}`,
    );
  }
  if (pictures.length === 0)
    throw new CliError(`--images ${dir}: no pictures in the folder (${PICTURE_EXTENSIONS.join(', ')}; subfolders are not searched)`, 2);
  return pictures.map((n) => path.join(dir, n));
}

/** Unique output stems: the file name without extension, with its extension added (then a number) when two pictures share it. */
export function uniqueStems(files: readonly string[]): string[] {
  const base = files.map((f) => path.basename(f, path.extname(f)));
  const count = new Map<string, number>();
  for (const b of base) count.set(b, (count.get(b) ?? 0) + 1);
  const used = new Set<string>();
  return files.map((f, i) => {
    let s = base[i]!;
    if (count.get(s)! > 1) s = `${s}_${path.extname(f).slice(1) || 'noext'}`;
    let t = s;
    for (let k = 2; used.has(t); k++) t = `${s}_${k}`;
    used.add(t);
    return t;
  });
}

/**
 * Reads --targets (file,class; a header row `file,class` is allowed): each file is matched by its
 * path as given, relative to the CSV's folder, or by its name; one that is not among the pictures is
 * an error, as is a file named twice. Returns the class text per picture index.
 */
export function readTargetsCsv(csv: string, files: readonly string[]): Map<number, string> {
  const rows = readCsv(csv, '--targets');
  const out = new Map<number, string>();
  const resolved = files.map((f) => path.resolve(f));
  const names = files.map((f) => path.basename(f));
  rows.forEach((r, i) => {
    const [file, cls, ...rest] = r.fields;
    if (i === 0 && file?.toLowerCase() === 'file' && cls?.toLowerCase() === 'class') return;
    if (file === undefined || file === '' || cls === undefined || cls === '' || rest.some((x) => x !== '')) {
      throw new CliError(
        `${csv}: line ${r.line}: expected two fields file,class (quote a list of classes: "3,17"), got '${r.fields.join(',')}'`,
        2,
      );
    }
    let k = resolved.indexOf(path.resolve(file));
    if (k < 0) k = resolved.indexOf(path.resolve(path.dirname(csv), file));
    if (k < 0) {
      const byName = names.flatMap((n, j) => (n === path.basename(file) ? [j] : []));
      if (byName.length > 1)
        throw new CliError(`${csv}: line ${r.line}: '${file}' matches ${byName.length} pictures by name; give its path`, 2);
      k = byName[0] ?? -1;
    }
    if (k < 0) {
      const why =
        fs.existsSync(file) || fs.existsSync(path.resolve(path.dirname(csv), file))
          ? 'is not among the pictures of this run'
          : 'does not exist';
      throw new CliError(`${csv}: line ${r.line}: picture '${file}' ${why}`, 2);
    }
    if (out.has(k)) throw new CliError(`${csv}: line ${r.line}: picture '${file}' is named twice`, 2);
    out.set(k, cls);
  });
  return out;
}

/** The pictures of the command line: --image files (each must exist), then --images folder's; --targets attached. */
export function pictureEntries(
  images: readonly string[],
  folder: string | undefined,
  targetsCsv: string | undefined,
  onWarning: (m: string) => void,
): PictureEntry[] {
  for (const f of images) {
    if (!fs.existsSync(f)) throw new CliError(`image not found: ${f}`, 2);
    if (!fs.statSync(f).isFile())
      throw new CliError(`image is not a file: ${f}${fs.statSync(f).isDirectory() ? ' (for a folder use --images)' : ''}`, 2);
  }
  const files = [...images, ...(folder === undefined ? [] : listFolder(folder, onWarning))];
  const seen = new Set<string>();
  for (const f of files) {
    const r = path.resolve(f);
    if (seen.has(r)) throw new CliError(`picture ${f} is given twice`, 2);
    seen.add(r);
  }
  const stems = uniqueStems(files);
  const targets = targetsCsv === undefined ? new Map<number, string>() : readTargetsCsv(targetsCsv, files);
  return files.map((file, i) => ({ file, stem: stems[i]!, target: targets.get(i) }));
}
