/** Atomic writes and output folders against planted symlinks, pseudo files and killed writers (issue 19). */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkOutputFolder, ensureDir, writeFileAtomic } from '../../src';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-writes-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const temporaries = (d: string): string[] => fs.readdirSync(d).filter((f) => f.endsWith('.gradlens-tmp'));

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves no temporary behind', () => {
    const file = path.join(dir, 'a.txt');
    writeFileAtomic(file, 'hello');
    writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
    expect(temporaries(dir)).toEqual([]);
  });

  it('replaces a symlink at the target instead of writing through it', () => {
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    const link = path.join(dir, 'out.png');
    fs.symlinkSync(victim, link);
    writeFileAtomic(link, 'new picture');
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(link, 'utf8')).toBe('new picture');
  });

  it('uses unpredictable temporary names created exclusively (a planted symlink at the old name is not followed)', () => {
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    // the old scheme's name for this process and millisecond, planted as a symlink
    for (let dt = -5; dt <= 50; dt++) {
      try {
        fs.symlinkSync(victim, path.join(dir, `.x.png.${process.pid}.${Date.now() + dt}.tmp`));
      } catch {
        // already planted
      }
    }
    writeFileAtomic(path.join(dir, 'x.png'), 'data');
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.readFileSync(path.join(dir, 'x.png'), 'utf8')).toBe('data');
  });

  it('removes the temporaries of a writer that was killed, and keeps those of live processes', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    fs.writeFileSync(path.join(dir, `.m.png.${deadPid}.0123456789abcdef.gradlens-tmp`), 'half a file');
    const live = path.join(dir, `.m.png.${process.ppid}.0123456789abcdef.gradlens-tmp`);
    fs.writeFileSync(live, 'someone is still writing');
    writeFileAtomic(path.join(dir, 'm.png'), 'whole');
    expect(temporaries(dir)).toEqual([path.basename(live)]);
  });

  it('refuses a target that is a folder, without leaving a temporary', () => {
    fs.mkdirSync(path.join(dir, 'sub'));
    expect(() => writeFileAtomic(path.join(dir, 'sub'), 'x')).toThrow(/^cannot write .*sub: it exists and is not a regular file$/);
    expect(temporaries(dir)).toEqual([]);
  });

  it('fails at once under /proc instead of spinning', () => {
    const t0 = Date.now();
    expect(() => writeFileAtomic('/proc/x/y.png', 'x')).toThrow(/cannot create folder \/proc\/x: /);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('makes missing folders, and says which part is not a folder', () => {
    writeFileAtomic(path.join(dir, 'a', 'b', 'c.txt'), 'deep');
    expect(fs.readFileSync(path.join(dir, 'a', 'b', 'c.txt'), 'utf8')).toBe('deep');
    fs.writeFileSync(path.join(dir, 'plain'), '');
    expect(() => ensureDir(path.join(dir, 'plain', 'x'))).toThrow(/plain exists and is not a folder/);
  });
});

describe('checkOutputFolder', () => {
  it('accepts a creatable folder and leaves nothing behind', () => {
    checkOutputFolder(path.join(dir, 'new', 'deeper'));
    expect(fs.readdirSync(dir)).toEqual([]);
  });
  it('refuses /proc/x, a file, and a path through a file', () => {
    expect(() => checkOutputFolder('/proc/x')).toThrow(/^cannot write into the output folder \/proc\/x: /);
    fs.writeFileSync(path.join(dir, 'f'), '');
    expect(() => checkOutputFolder(path.join(dir, 'f'))).toThrow(/f is not a folder/);
    expect(() => checkOutputFolder(path.join(dir, 'f', 'g'))).toThrow(/f is not a folder/);
  });
});
