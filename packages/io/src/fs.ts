import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes `data` to `file` whole or not at all: it goes to a temporary file in the same folder,
 * which is then renamed into place, so a crash never leaves half a file behind.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(err as Error).message}`);
  }
}

/** Reads a whole file, with an error that names the file when it cannot be read. */
export function readFileNamed(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}
