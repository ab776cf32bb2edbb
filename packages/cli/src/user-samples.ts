/**
 * Evaluation samples from the user's own pictures and boxes (`evaluate --images DIR --boxes FILE`):
 * one sample per box, the picture stretched to the model's input size (so no box is cropped away) and
 * the box scaled with it. With a shard, only its pictures are decoded.
 */

import * as path from 'path';
import type { EvaluationSample } from '@gradlens/explain';
import type { Tensor } from '@gradlens/tensor';
import { boxesPerPicture, readBoxesFile } from './boxes';
import type { RawBox } from './boxes';
import { prepareImage, readPicture } from './image';
import type { LoadedModel } from './model';
import { pictureEntries } from './picture-list';
import { sha256, sha256File, shardRange } from './shards';
import type { Shard } from './shards';
import { modelOutput } from './targets';

/** The samples a run scores, with what the part files of a sharded run record about each. */
export interface SampleSet {
  /** The samples scored here: the shard's, or all. */
  samples: EvaluationSample[];
  /** Per sample: its index in the whole run, its picture's name and SHA-256. */
  meta: { index: number; picture: string; hash: string }[];
  /** Samples in the whole run, and the global indices [start, end) scored here. */
  total: number;
  range: [number, number];
  /** Hash of the whole run's inputs (picture names and the boxes file, or the held-out set's definition). */
  inputsHash: string;
  /** The whole run's inputs in words. */
  source: string;
  dispose: () => void;
}

/** The user's pictures (listed, not yet decoded) and their boxes as read. */
export interface UserData {
  files: string[];
  raw: RawBox[];
  boxesFile: string;
  folder: string;
}

/** Lists the pictures of `folder` and reads the boxes file: usage errors (exit 2) for a missing or empty folder or an unreadable boxes file. */
export function readUserData(folder: string, boxesFile: string, onWarning: (m: string) => void): UserData {
  const files = pictureEntries([], folder, undefined, onWarning).map((e) => e.file);
  return { files, raw: readBoxesFile(boxesFile), boxesFile, folder };
}

/**
 * The samples of the user's data for `loaded` (of the shard's pictures when given): every box checked
 * (inside its picture, a class of the model), every picture boxed.
 */
export function userSamples(data: UserData, loaded: LoadedModel, shard?: Shard): SampleSet {
  const [a, b] = shard ? shardRange(data.files.length, shard) : [0, data.files.length];
  const pictures = new Map(data.files.slice(a, b).map((f, i) => [a + i, readPicture(f)]));
  // the class count from one forward pass (an --arch model's comes from its weights file)
  const probe = prepareImage(pictures.get(a) ?? readPicture(data.files[0]!), {
    size: loaded.size,
    mean: loaded.mean,
    std: loaded.std,
    reference: true,
  });
  const classCount = modelOutput(loaded.model, probe.input).shape[1] ?? 0;
  probe.input.dispose();
  const boxes = boxesPerPicture(data.raw, data.boxesFile, data.files, (i) => pictures.get(i) ?? null, loaded.classes, classCount);
  const total = boxes.reduce((s, l) => s + l.length, 0);
  let index = boxes.slice(0, a).reduce((s, l) => s + l.length, 0);
  const start = index;
  const tensors: Tensor[] = [];
  const samples: EvaluationSample[] = [];
  const meta: SampleSet['meta'] = [];
  for (const [i, p] of pictures) {
    const image = prepareImage(p, { size: loaded.size, mean: loaded.mean, std: loaded.std, reference: true }).input;
    tensors.push(image);
    const hash = sha256File(data.files[i]!);
    const sx = loaded.size / p.width;
    const sy = loaded.size / p.height;
    for (const bx of boxes[i]!) {
      samples.push({ image, label: bx.label, box: { x0: bx.x0 * sx, y0: bx.y0 * sy, x1: bx.x1 * sx, y1: bx.y1 * sy } });
      meta.push({ index: index++, picture: path.basename(data.files[i]!), hash });
    }
  }
  const source = `${total} boxes on ${data.files.length} pictures of ${data.folder} (boxes from ${path.basename(data.boxesFile)}; pictures stretched to ${loaded.size}×${loaded.size})`;
  const inputsHash = sha256(JSON.stringify([data.files.map((f) => path.basename(f)), sha256File(data.boxesFile)]));
  return {
    samples,
    meta,
    total,
    range: [start, index],
    inputsHash,
    source,
    dispose: () => {
      for (const t of tensors) t.dispose();
    },
  };
}
