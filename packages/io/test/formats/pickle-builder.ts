/** Builds small pickle streams by hand for tests (protocol 2 opcodes), so damage can be placed exactly. */
export class PickleBuilder {
  private readonly out: number[] = [0x80, 2];

  private bytes(...b: number[]): this {
    this.out.push(...b);
    return this;
  }
  private u32(n: number): number[] {
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  }
  /** Raw opcode bytes. */
  op(...b: number[]): this {
    return this.bytes(...b);
  }
  global(module: string, name: string): this {
    return this.bytes(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.bytes(0x58, ...this.u32(b.length), ...b);
  }
  int(n: number): this {
    return this.bytes(0x4a, ...this.u32(n >>> 0));
  }
  mark(): this {
    return this.bytes(0x28);
  }
  tuple(): this {
    return this.bytes(0x74);
  }
  emptyTuple(): this {
    return this.bytes(0x29);
  }
  emptyDict(): this {
    return this.bytes(0x7d);
  }
  emptyList(): this {
    return this.bytes(0x5d);
  }
  setitem(): this {
    return this.bytes(0x73);
  }
  reduce(): this {
    return this.bytes(0x52);
  }
  persid(): this {
    return this.bytes(0x51);
  }
  none(): this {
    return this.bytes(0x4e);
  }
  false(): this {
    return this.bytes(0x89);
  }
  /** Pushes ('storage', torch.<type>, key, 'cpu', numel) and resolves it with BINPERSID. */
  storage(type: string, key: string, numel: number): this {
    return this.mark().str('storage').global('torch', type).str(key).str('cpu').int(numel).tuple().persid();
  }
  /** Pushes _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) for the storage pushed by `pushStorage`. */
  tensor(pushStorage: (b: this) => void, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    pushStorage(this);
    this.int(offset).mark();
    for (const s of size) this.int(s);
    this.tuple().mark();
    for (const s of stride) this.int(s);
    return this.tuple().false().global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  /** Ends the stream with STOP and returns it. */
  stop(): Uint8Array {
    return Uint8Array.from([...this.out, 0x2e]);
  }
}
