import type { MethodKind, MethodSpec } from './methods';

/** One picture's row of the gallery: its picture, true and predicted class, and the file of each method's map. */
export interface GalleryRow {
  name: string;
  /** Relative URL of the input picture. */
  input: string;
  label: string;
  predicted: string;
  /** The model's top class is not the true one. */
  wrong: boolean;
  /** Relative URL of each method's picture, by method name. */
  cells: Map<string, string>;
}

/** Escapes text for HTML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The column groups of the gallery, in order: what kind of map each method gives. */
const GROUPS: readonly { kind: MethodKind; title: string }[] = [
  { kind: 'gradient', title: 'Gradients and relevance (input resolution)' },
  { kind: 'cam', title: 'CAM family (layer resolution, over the picture)' },
  { kind: 'occlusion', title: 'Perturbation' },
];

/** The methods ordered by group (stable within a group), with the groups that have any. */
export function groupMethods(methods: readonly MethodSpec[]): { ordered: MethodSpec[]; groups: { title: string; count: number }[] } {
  const ordered: MethodSpec[] = [];
  const groups: { title: string; count: number }[] = [];
  for (const g of GROUPS) {
    const these = methods.filter((m) => m.kind === g.kind);
    if (these.length === 0) continue;
    ordered.push(...these);
    groups.push({ title: g.title, count: these.length });
  }
  return { ordered, groups };
}

/**
 * The gallery table: pictures as rows, methods as columns grouped by kind under a group header; the
 * picture column is sticky, so the table scrolls sideways under it on a narrow screen (a line above
 * says so); rows whose picture the model misclassifies are marked. `seconds` gives each method's mean time.
 */
export function galleryTable(rows: readonly GalleryRow[], methods: readonly MethodSpec[], seconds: (m: MethodSpec) => number): string {
  const { ordered, groups } = groupMethods(methods);
  const groupRow = groups.map((g) => `<th colspan="${g.count}" class="group">${esc(g.title)}</th>`).join('');
  const head = ordered
    .map((m) => `<th title="${esc(m.summary)}">${esc(m.title)}<br><small>${seconds(m).toFixed(2)} s</small></th>`)
    .join('');
  const body = rows
    .map((r) => {
      const cells = ordered
        .map((m) => {
          const f = r.cells.get(m.name);
          return f ? `<td><img src="${f}" alt="${esc(`${m.title} of ${r.name}`)}" loading="eager"></td>` : '<td>—</td>';
        })
        .join('');
      const mark = r.wrong ? '<br><b class="wrong-mark">✗ misclassified</b>' : '';
      return `<tr class="${r.wrong ? 'wrong' : 'right'}"><th class="input"><img src="${r.input}" alt="${esc(r.name)}"><br>${esc(r.name)}<br><small>true ${esc(r.label)}<br>predicted ${esc(r.predicted)}</small>${mark}</th>${cells}</tr>`;
    })
    .join('\n');
  const wrong = rows.filter((r) => r.wrong).length;
  const note = `<p class="scroll-note">${ordered.length} methods in ${groups.length} groups; on a narrow screen the table scrolls sideways (shift + wheel, or drag) while the picture column stays.${wrong ? ` ${wrong} of ${rows.length} pictures are misclassified (marked ✗, red): their maps explain the true class, not the one predicted.` : ''}</p>`;
  return `${note}\n<div class="scroll"><table class="gallery"><thead><tr><th rowspan="2" class="input">picture</th>${groupRow}</tr><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** A colour bar as HTML: the bar picture between "low" and "high". */
export function colorBarHtml(src: string, colormap: string): string {
  return `<span class="cbar">low <img src="${src}" alt="${esc(colormap)} colour bar, low to high" width="160" height="12"> high</span>`;
}

/** The gallery's CSS: sticky picture column, group headers, misclassified rows. */
export const GALLERY_CSS = `.gallery th.input { position: sticky; left: 0; z-index: 2; background: #fff; box-shadow: 2px 0 0 #ccc; }
.gallery th.group { background: #f0f0f0; font-size: 12px; }
.gallery tr.wrong th.input { background: #fde8e8; } .gallery tr.wrong td { background: #fff4f4; }
.wrong-mark { color: #b00; }
.scroll-note { color: #555; font-size: 12px; margin: 4px 0; }
.cbar { white-space: nowrap; font-size: 12px; } .cbar img { vertical-align: middle; border: 1px solid #888; image-rendering: pixelated; }`;
