/**
 * Error messages quote names from the model (node, value and op names), which a hostile or damaged file
 * can fill with newlines or megabytes: the importer's messages are kept to one short line here.
 */

/** The longest message the importer gives; a longer one is cut, saying how long it was. */
const MAX_MESSAGE = 2000;

/** `message` on one line (control characters escaped as \n, \u0000 …) and at most about 2000 characters. */
export function oneLine(message: string): string {
  const flat = message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return flat.length <= MAX_MESSAGE ? flat : `${flat.slice(0, MAX_MESSAGE)}… (message cut, ${flat.length} characters)`;
}
