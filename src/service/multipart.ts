/**
 * The photo in a multipart/form-data body (an HTML form's or `curl -F image=@photo.jpg`):
 * the first part that is a file, else the part named "image", else null.
 */

/** The boundary of a multipart/form-data Content-Type, or null if it is not one. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

export function multipartImage(body: Buffer, boundary: string): Buffer | null {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  let named: Buffer | null = null;
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString('latin1') === '--') break; // the closing delimiter
    const headEnd = body.indexOf('\r\n\r\n', start, 'latin1');
    if (headEnd < 0) break;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`, 'latin1'), headEnd + 4);
    if (next < 0) break;
    const head = body.subarray(start, headEnd).toString('latin1');
    const content = body.subarray(headEnd + 4, next);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? '';
    if (/;\s*filename\*?=/i.test(disposition)) return content;
    if (named === null && /;\s*name="?image"?(;|\s*$)/i.test(disposition)) named = content;
    at = next + 2;
  }
  return named;
}
