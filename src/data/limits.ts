/**
 * The input limits, in a module with no imports: the CLI checks its flags, the service its
 * requests and the web page its files against these before sharp or TensorFlow.js load.
 */

/** Default refusal threshold: 100 megapixels (≈300 MB of decoded RGB). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Default byte-size limit of an input file (checked before it is read). */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
