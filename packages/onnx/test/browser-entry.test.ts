// The browser entry installs no file access: a path is one line saying what to do, bytes load as under Node.
import * as fs from 'fs';
import * as path from 'path';
import { loadOnnx } from '../src/browser';

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny_classes.onnx');

describe('@gradlens/onnx through its browser entry (no file access installed)', () => {
  test('a path is a one-line error that asks for the bytes', () => {
    expect(() => loadOnnx(FIXTURE)).toThrow(
      new RegExp(
        `^loadOnnx ${FIXTURE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: loading '.*' needs file access, which this runtime does not give: pass the model's bytes instead$`,
      ),
    );
  });

  test("the file's bytes load and run", () => {
    const m = loadOnnx(new Uint8Array(fs.readFileSync(FIXTURE)), { inputShape: [1, 3, 16, 16] });
    expect(m.inputShape).toEqual([1, 3, 16, 16]);
    expect(m.classNames()).toEqual(['cat', 'dog', 'bird']);
  });
});
