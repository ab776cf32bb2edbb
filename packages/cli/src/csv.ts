/** A small CSV reader (RFC 4180: commas, double-quoted fields with "" for a quote, CRLF or LF) for the CLI's target and box lists. */

import * as fs from 'fs';
import { CliError } from './args';

/** One CSV row with its 1-based line number, for error messages. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** Parses CSV text into rows of trimmed fields; blank lines and lines starting with # are left out. Throws on an unclosed quote. */
export function parseCsv(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = (): void => {
    fields.push(field);
    const blank = fields.length === 1 && fields[0]!.trim() === '';
    if (!blank && !fields[0]!.trimStart().startsWith('#')) rows.push({ line: rowLine, fields: fields.map((f) => f.trim()) });
    fields = [];
    field = '';
  };
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field.trim() === '') {
      field = '';
      quoted = true;
      continue;
    }
    if (ch === ',') {
      fields.push(field);
      field = '';
      continue;
    }
    if (ch === '\r' && s[i + 1] === '\n') continue;
    if (ch === '\n') {
      endRow();
      line++;
      rowLine = line;
      continue;
    }
    field += ch;
  }
  if (quoted) throw new CliError(`${file}: line ${rowLine}: a quoted field is not closed`, 2);
  if (field !== '' || fields.length > 0) endRow();
  return rows;
}

/** Reads a CSV file; a missing or unreadable file is a usage error naming the option. */
export function readCsv(file: string, option: string): CsvRow[] {
  if (!fs.existsSync(file)) throw new CliError(`${option}: file not found: ${file}`, 2);
  if (!fs.statSync(file).isFile()) throw new CliError(`${option}: not a file: ${file}`, 2);
  return parseCsv(fs.readFileSync(file, 'utf8'), file);
}
