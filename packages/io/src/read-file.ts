/** Reading a whole regular file under io's reading policy (Node only: imported by the Node entry). */
import * as fs from 'fs';
import { formatBytes, resolveLimits, type ReadLimits } from './read-policy';

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a whole regular file, refusing directories, devices, FIFOs and sockets (opened without
 * blocking, so a FIFO cannot hang the process) and files over the size limit; errors name the file.
 */
export function readRegularFile(file: string, limits?: Partial<ReadLimits>): Uint8Array {
  const { maxFileBytes } = resolveLimits(limits);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`cannot read ${file}: it is ${kindOf(stat)}, not a regular file`);
    if (stat.size > maxFileBytes) {
      throw new Error(
        `cannot read ${file}: it has ${formatBytes(stat.size)}, over the limit of ${formatBytes(maxFileBytes)} (raise it with setReadLimits({ maxFileBytes }))`,
      );
    }
    // never from Node's shared 8 KiB pool: readers return views of these bytes, which callers may change
    const bytes = Buffer.allocUnsafeSlow(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const n = fs.readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    // a file that shrank while being read must not hand back the uninitialised rest of the buffer
    return at === bytes.length ? bytes : bytes.subarray(0, at);
  } catch (err) {
    const message = (err as Error).message;
    throw new Error(message.startsWith('cannot read ') ? message : `cannot read ${file}: ${message}`);
  } finally {
    fs.closeSync(fd);
  }
}
