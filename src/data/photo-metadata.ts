/**
 * A photo's metadata carried from the input to its colorized outputs: EXIF, XMP, IPTC and
 * the color profile, written into the encoded output's container (JPEG APPn segments, PNG
 * chunks, WebP RIFF chunks) without touching its pixels, so every way of colorizing — the
 * sharp encode and both native streaming encoders — gets the same metadata the same way
 * and nothing is encoded twice.
 *
 * Color management: every decode converts the photo to sRGB through its own ICC profile
 * (sharp does, data/decode.ts), the model works in sRGB, and the outputs stay sRGB. An
 * input that had a profile gets the sRGB profile on its outputs (never its own profile,
 * which would misdescribe sRGB pixels); an untagged input stays untagged (sRGB by
 * convention). Why not convert back into the input's profile: the outputs' colors come
 * from an sRGB-gamut model and an in-sRGB-gamut chroma add, so a wider profile would add
 * nothing but a second conversion, and with stripped metadata the sRGB output is still
 * read right.
 *
 * EXIF orientation is set to 1 (also XMP's tiff:Orientation): the pixels are upright
 * after decoding. IPTC-IIM has a place in JPEG only (APP13); PNG and WebP outputs keep EXIF,
 * XMP and the profile.
 */
import zlib from 'node:zlib';
import sharp from 'sharp';
import type { EncodeFormat } from './decode.js';

/** What an output carries (each part optional). */
export interface PhotoMetadata {
  /** EXIF as TIFF data ("II*\0" / "MM\0*" first, no "Exif\0\0"), orientation 1. */
  exif?: Buffer;
  xmp?: Buffer;
  /** The JPEG APP13 payload ("Photoshop 3.0\0" and its IPTC resources). */
  iptc?: Buffer;
  /** The ICC profile of the output's pixels: sRGB, when the input had a profile. */
  icc?: Buffer;
}

const EXIF_PREFIX = Buffer.from('Exif\0\0', 'latin1');
const XMP_JPEG_PREFIX = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');
const ICC_JPEG_PREFIX = Buffer.from('ICC_PROFILE\0', 'latin1');
/** Largest payload of one JPEG APPn segment (its length field counts itself). */
const JPEG_SEGMENT_MAX = 65533;
const TAG_ORIENTATION = 0x0112;

let srgbProfile: Promise<Buffer> | undefined;

/** libvips' built-in sRGB profile, read once from a 1-pixel image tagged with it. */
function srgbIcc(): Promise<Buffer> {
  srgbProfile ??= sharp(Buffer.alloc(3), { raw: { width: 1, height: 1, channels: 3 } })
    .withIccProfile('srgb')
    .png()
    .toBuffer()
    .then(async (png) => {
      const { icc } = await sharp(png).metadata();
      if (!icc) throw new Error('sharp gave no sRGB profile');
      return icc;
    });
  return srgbProfile;
}

/** TIFF data with IFD0's orientation set to 1 (a copy; unreadable EXIF is kept as it is). */
export function exifUpright(tiff: Buffer): Buffer {
  const out = Buffer.from(tiff);
  if (out.length < 8) return out;
  const order = out.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return out;
  const le = order === 'II';
  const u16 = (o: number) => (le ? out.readUInt16LE(o) : out.readUInt16BE(o));
  const ifd = le ? out.readUInt32LE(4) : out.readUInt32BE(4);
  if (ifd + 2 > out.length) return out;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > out.length) break;
    // A SHORT (type 3) with count 1: its value sits in the entry's first two value bytes.
    if (u16(e) === TAG_ORIENTATION && u16(e + 2) === 3) {
      if (le) out.writeUInt16LE(1, e + 8);
      else out.writeUInt16BE(1, e + 8);
    }
  }
  return out;
}

function xmpUpright(xmp: Buffer): Buffer {
  const text = xmp.toString('utf8');
  const fixed = text.replace(/(tiff:Orientation\s*=\s*["'])\d+(["'])/g, '$11$2').replace(/(<tiff:Orientation>)\s*\d+\s*(<\/tiff:Orientation>)/g, '$11$2');
  return fixed === text ? xmp : Buffer.from(fixed, 'utf8');
}

/** The metadata an input's outputs carry, from its header (sharp's metadata()); null if there is none. */
export async function photoMetadataOf(header: sharp.Metadata): Promise<PhotoMetadata | null> {
  const m: PhotoMetadata = {};
  if (header.exif && header.exif.length > 8) {
    const tiff = header.exif.subarray(0, 6).equals(EXIF_PREFIX) ? header.exif.subarray(6) : header.exif;
    m.exif = exifUpright(tiff);
  }
  if (header.xmp?.length) m.xmp = xmpUpright(header.xmp);
  if (header.iptc?.length && header.iptc.toString('latin1', 0, 13) === 'Photoshop 3.0') m.iptc = header.iptc;
  if (header.icc?.length) m.icc = await srgbIcc();
  return Object.keys(m).length > 0 ? m : null;
}

/** The encoded image with `meta` written into its container; its pixel data is untouched. */
export function attachMetadata(encoded: Buffer, format: EncodeFormat, meta: PhotoMetadata): Buffer {
  switch (format) {
    case 'jpeg':
      return attachJpeg(encoded, meta);
    case 'png':
      return attachPng(encoded, meta);
    case 'webp':
      return attachWebp(encoded, meta);
  }
}

// ---- JPEG -------------------------------------------------------------------------------

function jpegSegment(marker: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xff00 | marker, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

function attachJpeg(jpeg: Buffer, m: PhotoMetadata): Buffer {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('attachMetadata: not a JPEG');
  // After SOI and a JFIF APP0, if there is one.
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + jpeg.readUInt16BE(4);
  const segs: Buffer[] = [];
  // Parts too large for one segment are left out (EXIF and XMP have no standard split here).
  if (m.exif && m.exif.length + EXIF_PREFIX.length <= JPEG_SEGMENT_MAX) segs.push(jpegSegment(0xe1, EXIF_PREFIX, m.exif));
  if (m.xmp && m.xmp.length + XMP_JPEG_PREFIX.length <= JPEG_SEGMENT_MAX) segs.push(jpegSegment(0xe1, XMP_JPEG_PREFIX, m.xmp));
  if (m.icc) {
    const room = JPEG_SEGMENT_MAX - ICC_JPEG_PREFIX.length - 2;
    const count = Math.ceil(m.icc.length / room);
    for (let i = 0; i < count; i++) {
      segs.push(jpegSegment(0xe2, ICC_JPEG_PREFIX, Buffer.from([i + 1, count]), m.icc.subarray(i * room, (i + 1) * room)));
    }
  }
  if (m.iptc && m.iptc.length <= JPEG_SEGMENT_MAX) segs.push(jpegSegment(0xed, m.iptc));
  return Buffer.concat([jpeg.subarray(0, at), ...segs, jpeg.subarray(at)]);
}

// ---- PNG --------------------------------------------------------------------------------

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function attachPng(png: Buffer, m: PhotoMetadata): Buffer {
  if (png.length < 33 || png.readUInt32BE(0) !== 0x89504e47 || png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('attachMetadata: not a PNG');
  const chunks: Buffer[] = [];
  // iCCP before the image data (and instead of an sRGB or gAMA chunk, which the encoder does not write).
  if (m.icc) chunks.push(pngChunk('iCCP', Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), zlib.deflateSync(m.icc)])));
  if (m.exif) chunks.push(pngChunk('eXIf', m.exif));
  if (m.xmp) chunks.push(pngChunk('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), m.xmp])));
  const afterIhdr = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
}

// ---- WebP -------------------------------------------------------------------------------

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat(data.length % 2 ? [head, data, Buffer.alloc(1)] : [head, data]);
}

/** The canvas size and alpha of a simple-format (VP8 or VP8L) WebP's image chunk. */
function simpleWebpInfo(fourcc: string, d: Buffer): { width: number; height: number; alpha: boolean } {
  if (fourcc === 'VP8 ' && d.length >= 10) return { width: d.readUInt16LE(6) & 0x3fff, height: d.readUInt16LE(8) & 0x3fff, alpha: false };
  if (fourcc === 'VP8L' && d.length >= 5 && d[0] === 0x2f) {
    const bits = d.readUInt32LE(1);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, alpha: ((bits >>> 28) & 1) === 1 };
  }
  throw new Error('attachMetadata: unreadable WebP image chunk');
}

function attachWebp(webp: Buffer, m: PhotoMetadata): Buffer {
  if (webp.length < 20 || webp.toString('latin1', 0, 4) !== 'RIFF' || webp.toString('latin1', 8, 12) !== 'WEBP') throw new Error('attachMetadata: not a WebP');
  const chunks: { fourcc: string; data: Buffer }[] = [];
  for (let o = 12; o + 8 <= webp.length; ) {
    const fourcc = webp.toString('latin1', o, o + 4);
    const size = webp.readUInt32LE(o + 4);
    chunks.push({ fourcc, data: webp.subarray(o + 8, o + 8 + size) });
    o += 8 + size + (size % 2);
  }
  let vp8x: Buffer;
  const first = chunks[0];
  if (first?.fourcc === 'VP8X') {
    vp8x = Buffer.from(first.data);
    chunks.shift();
  } else if (first) {
    const { width, height, alpha } = simpleWebpInfo(first.fourcc, first.data);
    vp8x = Buffer.alloc(10);
    if (alpha) vp8x[0] |= 0x10;
    vp8x.writeUIntLE(width - 1, 4, 3);
    vp8x.writeUIntLE(height - 1, 7, 3);
  } else {
    throw new Error('attachMetadata: empty WebP');
  }
  if (m.icc) vp8x[0] |= 0x20;
  if (m.exif) vp8x[0] |= 0x08;
  if (m.xmp) vp8x[0] |= 0x04;
  // Order of the extended format: VP8X, ICCP, (image), EXIF, XMP.
  const parts = [riffChunk('VP8X', vp8x)];
  if (m.icc) parts.push(riffChunk('ICCP', m.icc));
  for (const c of chunks) parts.push(riffChunk(c.fourcc, c.data));
  if (m.exif) parts.push(riffChunk('EXIF', m.exif));
  if (m.xmp) parts.push(riffChunk('XMP ', m.xmp));
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length + 4, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, body]);
}
