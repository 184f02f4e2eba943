/**
 * The output formats and the limits every reader and encoder shares, in a module without
 * sharp, so the command line checks its flags before anything heavy is loaded.
 */

/** The output formats, by their canonical names. */
export const ENCODE_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type EncodeFormat = (typeof ENCODE_FORMATS)[number];
/** An output format as a caller may name it: 'jpg' is 'jpeg'. */
export type EncodeFormatName = EncodeFormat | 'jpg';

/** The canonical name of a format name ('jpg' → 'jpeg'). */
export function encodeFormatOf(name: EncodeFormatName): EncodeFormat {
  return name === 'jpg' ? 'jpeg' : name;
}

/** The file extension of each output format. */
export const FORMAT_EXTENSIONS: Readonly<Record<EncodeFormat, string>> = { png: '.png', jpeg: '.jpg', webp: '.webp' };

/** JPEG and WebP quality when none is given (every encoder: sharp's and the native ones). */
export const DEFAULT_QUALITY = 92;

/** Default refusal threshold: 100 megapixels (≈300 MB of decoded RGB). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Default byte-size limit of an input file (checked before it is read). */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
