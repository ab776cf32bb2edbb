/**
 * Evaluation samples from the user's own pictures and boxes (`evaluate --images DIR --boxes FILE`):
 * one sample per box, the picture stretched to the model's input size (so no box is cropped away) and
 * the box scaled with it.
 */

import * as path from 'path';
import type { RasterImage } from '@gradlens/io';
import type { EvaluationSample } from '@gradlens/explain';
import type { Tensor } from '@gradlens/tensor';
import { boxesPerPicture, readBoxesFile } from './boxes';
import { prepareImage, readPicture } from './image';
import type { LoadedModel } from './model';
import { pictureEntries } from './picture-list';
import { modelOutput } from './targets';

/** The user's pictures, decoded, and their boxes as read (checked against the model once it is loaded). */
export interface UserData {
  files: string[];
  pictures: RasterImage[];
  raw: ReturnType<typeof readBoxesFile>;
  boxesFile: string;
  folder: string;
}

/** Reads the pictures of `folder` and the boxes file: usage errors (exit 2) for a missing or empty folder, an unreadable picture or boxes file. */
export function readUserData(folder: string, boxesFile: string, onWarning: (m: string) => void): UserData {
  const entries = pictureEntries([], folder, undefined, onWarning);
  const raw = readBoxesFile(boxesFile);
  const files = entries.map((e) => e.file);
  return { files, pictures: files.map((f) => readPicture(f)), raw, boxesFile, folder };
}

/** The samples of the user's data for `loaded`: every box checked (inside its picture, a class of the model), every picture boxed. */
export function userSamples(data: UserData, loaded: LoadedModel): { samples: EvaluationSample[]; source: string; dispose: () => void } {
  const first = data.pictures[0]!;
  const probe = prepareImage(first, { size: loaded.size, mean: loaded.mean, std: loaded.std, reference: true });
  const out = modelOutput(loaded.model, probe.input);
  probe.input.dispose();
  const classCount = out.shape[1] ?? 0;
  const boxes = boxesPerPicture(data.raw, data.boxesFile, data.files, data.pictures.map((p) => ({ width: p.width, height: p.height })), loaded.classes, classCount);
  const tensors: Tensor[] = [];
  const samples: EvaluationSample[] = [];
  data.pictures.forEach((p, i) => {
    const image = prepareImage(p, { size: loaded.size, mean: loaded.mean, std: loaded.std, reference: true }).input;
    tensors.push(image);
    const sx = loaded.size / p.width;
    const sy = loaded.size / p.height;
    for (const b of boxes[i]!) samples.push({ image, label: b.label, box: { x0: b.x0 * sx, y0: b.y0 * sy, x1: b.x1 * sx, y1: b.y1 * sy } });
  });
  const source = `${samples.length} boxes on ${data.files.length} pictures of ${data.folder} (boxes from ${path.basename(data.boxesFile)}; pictures stretched to ${loaded.size}×${loaded.size})`;
  return { samples, source, dispose: () => { for (const t of tensors) t.dispose(); } };
}
