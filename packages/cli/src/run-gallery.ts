/** The `index.html` of an `explain` run over several pictures: the gallery table of the run, self-contained but for the pictures it links. */

import { esc, GALLERY_CSS, galleryTable } from './gallery';
import type { GalleryRow } from './gallery';
import type { MethodSpec } from './methods';

/** The page: a title, the model, and the pictures × methods table (each cell links the method's main picture). */
export function runGalleryHtml(
  model: string,
  rows: readonly GalleryRow[],
  methods: readonly MethodSpec[],
  seconds: (m: MethodSpec) => number,
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gradlens explain: ${esc(model)}, ${rows.length} pictures</title>
<style>body { font-family: sans-serif; margin: 16px; } .scroll { overflow-x: auto; } table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: 4px; text-align: center; vertical-align: top; } img { width: 128px; image-rendering: pixelated; }
${GALLERY_CSS}</style></head>
<body><h1>gradlens explain: ${esc(model)}</h1>
<p>${rows.length} pictures × ${methods.length} methods; under each picture, the target explained and the model's top class; each column header gives the method's mean time per picture.</p>
${galleryTable(rows, methods, seconds).replace(/<small>true /g, '<small>target ')}
</body></html>
`;
}
