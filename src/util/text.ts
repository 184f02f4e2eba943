/** Text helpers for messages and markup: an error message's first line, escaping for HTML and SVG. */

/** The first non-blank line of a message, trimmed (libvips and fs errors can span several lines). */
export function firstLine(msg: string): string {
  const line = msg.split('\n').find((l) => l.trim() !== '');
  return line?.trim() ?? msg;
}

const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML or SVG (XML) elements and quoted attribute values. */
export function escapeMarkup(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ENTITIES[c]!);
}
