/**
 * Where an ONNX model's file and its external data come from. The importer itself reads no file: the Node
 * entry (index.ts) installs Node's file system here; the browser entry installs nothing, so a path (or a
 * model whose weights live in external files) is a one-line error there and the model comes as bytes.
 */

/** The external-data entries of a tensor, as the model gives them (strings). */
export interface ExternalEntries {
  location: string;
  offset: string | undefined;
  length: string | undefined;
}

/** File access for the importer: reading the model file, and its tensors' external data. */
export interface OnnxFileAccess {
  /** The model file's bytes and the folder its external data is looked up in. */
  readModel(file: string): { bytes: Uint8Array; path: string; dir: string };
  /**
   * The `expected` bytes of external data under `baseDir` (the model's folder): `location` inside it,
   * `offset` and `length` checked; `what` names the tensor in errors.
   */
  readExternal(baseDir: string, entries: ExternalEntries, expected: number, what: string): Uint8Array;
}

let access: OnnxFileAccess | null = null;

/** Installs the platform's file access (the Node entry installs Node's). */
export function setOnnxFileAccess(a: OnnxFileAccess | null): void {
  access = a;
}

/** The installed file access; without one, an Error saying that `what` needs files and the model must come as bytes. */
export function fileAccess(what: string): OnnxFileAccess {
  if (!access) throw new Error(`${what} needs file access, which this runtime does not give: pass the model's bytes instead`);
  return access;
}
