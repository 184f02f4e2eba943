/**
 * Input-size limits shared by every decoder: the Node one (data/decode.ts, the CLI's
 * --max-pixels default) and the browser app's (web/src), which cannot import sharp.
 */

/** Default refusal threshold: 100 megapixels (≈300 MB of decoded RGB). */
export const DEFAULT_MAX_PIXELS = 100_000_000;
