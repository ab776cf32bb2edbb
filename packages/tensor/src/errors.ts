/** An Error whose message starts with the op's name, so a user knows which call was wrong. */
export function opError(op: string, message: string): Error {
  return new Error(`${op}: ${message}`);
}

/** Formats a shape as PyTorch prints it: [2, 3, 4]. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
