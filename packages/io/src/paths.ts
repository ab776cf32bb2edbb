/** The two path helpers io needs, as Node's posix `path` computes them, without importing `path` (browsers have none). */

/** The last component of `file` ('a/b.png' → 'b.png'), trailing slashes ignored, as path.basename. */
export function baseName(file: string): string {
  let end = file.length;
  while (end > 1 && file[end - 1] === '/') end--;
  const trimmed = file.slice(0, end);
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** The extension of `file` with its dot ('b.PNG' → '.PNG'; '.bashrc' and 'b' → ''), as path.extname. */
export function extName(file: string): string {
  const base = baseName(file);
  const dot = base.lastIndexOf('.');
  return dot <= 0 || (dot === 1 && base === '..') ? '' : base.slice(dot);
}
