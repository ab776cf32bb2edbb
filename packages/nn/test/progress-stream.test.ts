import { defaultProgressStream } from '../src/train/progress';

describe('the progress stream by default', () => {
  test('is process.stderr under Node', () => {
    expect(defaultProgressStream()).toBe(process.stderr);
  });

  test('where there is no process (a browser), is the console, one summary line per epoch (not a terminal)', () => {
    const stream = defaultProgressStream({});
    expect(stream.isTTY).toBe(false);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      stream.write('epoch 1/2 loss 0.5\n');
      expect(log).toHaveBeenCalledWith('epoch 1/2 loss 0.5');
    } finally {
      log.mockRestore();
    }
  });
});
