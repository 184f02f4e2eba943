// Optional JPEG → JPEG colorization in the DCT domain (libjpeg-turbo, Debian's
// libjpeg62-turbo-dev). A colorized photo keeps the photo's luma; for a JPEG that luma is
// already stored as quantized DCT coefficients, so this path
//   open():   entropy-decodes the coefficients (no inverse DCT, no color conversion) and
//             returns the 8×8-block means of Y (DC / 8 + 128): the model's input;
//   finish(): copies the Y coefficients unchanged (bit-exact luma, no generation loss),
//             builds Cb and Cr (4:2:0) from the model's U,V — the digital ITU-R 601 U,V
//             are JFIF's Cb,Cr — with a forward DCT, and entropy-codes the result.
//             Guided upsampling (chroma = a·Y + b, pixels.h) needs the luma under each
//             chroma sample: the mean of its 2×2 (4:2:2: 2×1) luma pixels, which a
//             reduced inverse DCT of each luma block gives directly.
//             The optimal Huffman tables (what sharp writes) come from symbol counts taken
//             here — the luma's on a thread started by open(), while the model runs — so
//             libjpeg codes in one pass instead of two (the same bytes).
// About half the work of decode + encode. Chroma is kept inside the RGB gamut at each
// block's mean luma (the pixel path does it per pixel; here a decoder may still clip a
// few saturated pixels of a textured block).
#include <node_api.h>

#include <algorithm>
#include <csetjmp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <jpeglib.h>
// Exported by libjpeg-turbo, declared only in its internal headers (jchuff.h, jpegint.h).
void jpeg_gen_optimal_table(j_compress_ptr cinfo, JHUFF_TBL* htbl, long freq[]);
extern const int jpeg_natural_order[];
}

#include "pixels.h"

namespace {

struct ErrorMgr {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void errorExit(j_common_ptr c) {
  ErrorMgr* e = reinterpret_cast<ErrorMgr*>(c->err);
  (*c->err->format_message)(c, e->message);
  longjmp(e->jump, 1);
}

// Warnings (e.g. "Premature end of JPEG file") are errors here: a damaged photo goes to
// the general path, which reports it.
void emitMessage(j_common_ptr c, int level) {
  if (level < 0) errorExit(c);
}

// Huffman symbol counts of one table pair (DC, AC), as libjpeg's gather pass takes them
// (jchuff.c encode_mcu_gather); slot 256 is jpeg_gen_optimal_table's.
struct HuffCounts {
  long dc[257] = {};
  long ac[257] = {};
  // One block, its component's last DC value carried along.
  void block(const JCOEF* b, int& lastDc) {
    int v = b[0] - lastDc;
    lastDc = b[0];
    dc[bitsOf(v)]++;
    int run = 0;
    for (int k = 1; k < DCTSIZE2; k++) {
      const int c = b[jpeg_natural_order[k]];
      if (c == 0) {
        run++;
        continue;
      }
      for (; run > 15; run -= 16) ac[0xF0]++;  // ZRL
      ac[(run << 4) + bitsOf(c)]++;
      run = 0;
    }
    if (run > 0) ac[0]++;  // EOB
  }
  // A dummy block of a partial MCU: DC equal to the block before it, no AC.
  void dummy() {
    dc[0]++;
    ac[0]++;
  }
  static int bitsOf(int v) {
    unsigned a = unsigned(v < 0 ? -v : v);
    int n = 0;
    for (; a; a >>= 1) n++;
    return n;
  }
};

struct Transcode {
  jpeg_decompress_struct src{};
  ErrorMgr srcErr{};
  std::vector<uint8_t> bytes;
  jvirt_barray_ptr* coefs = nullptr;
  jvirt_barray_ptr outArr[3] = {nullptr, nullptr, nullptr};
  JDIMENSION wb[3] = {0, 0, 0}, hb[3] = {0, 0, 0};  // output chroma arrays, in blocks
  int vSamp = 2;                                    // output luma vertical sampling
  bool busy = false;                                // a finish() is running or ran
  bool open = false;
  std::vector<JBLOCKROW> lumaRows;                  // the luma array's rows (fetched once: access is not thread-safe)
  HuffCounts luma;                                  // the output luma's counts, by lumaCounting
  std::thread lumaCounting;
  ~Transcode() {
    if (lumaCounting.joinable()) lumaCounting.join();
    if (open) jpeg_destroy_decompress(&src);
  }
  // The output's luma blocks in its scan order (MCUs of 2 × vSamp blocks), dummy blocks of
  // partial MCUs included, as libjpeg's transcoder feeds them to the entropy coder.
  // MCUs of the output across and down (each 2 × vSamp luma blocks, one per chroma block).
  JDIMENSION mcusAcross() const { return (src.image_width + 15) / 16; }
  JDIMENSION mcusDown() const { return (src.image_height + 8 * vSamp - 1) / (8 * vSamp); }
  void countLuma() {
    const JDIMENSION lw = (src.image_width + 7) / 8, lh = (src.image_height + 7) / 8;
    const JDIMENSION mx = mcusAcross(), my = mcusDown();
    int last = 0;
    for (JDIMENSION r = 0; r < my; r++)
      for (JDIMENSION c = 0; c < mx; c++)
        for (int yi = 0; yi < vSamp; yi++)
          for (int xi = 0; xi < 2; xi++) {
            const JDIMENSION row = r * vSamp + yi, col = c * 2 + xi;
            if (row < lh && col < lw) luma.block(lumaRows[row][col], last);
            else luma.dummy();
          }
  }
};

// Blocks of a component for 4:2:0 output (Y 2×2, chroma 1×1), rounded up to whole MCUs.
JDIMENSION blocks(JDIMENSION pixels, int samp, int maxSamp) {
  const JDIMENSION b = (pixels * samp + maxSamp * DCTSIZE - 1) / (maxSamp * DCTSIZE);
  return (b + samp - 1) / samp * samp;
}

// open: read header + coefficients. Returns an error string or "" on success.
std::string openJpeg(Transcode& t) {
  t.src.err = jpeg_std_error(&t.srcErr.pub);
  t.srcErr.pub.error_exit = errorExit;
  t.srcErr.pub.emit_message = emitMessage;
  if (setjmp(t.srcErr.jump)) return t.srcErr.message;
  jpeg_create_decompress(&t.src);
  t.open = true;
  jpeg_mem_src(&t.src, t.bytes.data(), (unsigned long)t.bytes.size());
  jpeg_read_header(&t.src, TRUE);
  if (t.src.data_precision != 8) return "not an 8-bit JPEG";
  const int nc = t.src.num_components;
  if (!((nc == 3 && t.src.jpeg_color_space == JCS_YCbCr) || (nc == 1 && t.src.jpeg_color_space == JCS_GRAYSCALE)))
    return "not a YCbCr or grayscale JPEG";
  if (t.src.comp_info[0].h_samp_factor != t.src.max_h_samp_factor || t.src.comp_info[0].v_samp_factor != t.src.max_v_samp_factor)
    return "luma is not at full resolution";
  // Output: Y 2×2 with Cb, Cr 1×1 (4:2:0, as sharp writes). The photo's own Y array is
  // reused, so it must hold whole MCU rows: with a luma sampled 1×1 in the photo (gray
  // or 4:4:4) and an odd number of block rows, the output is 4:2:2 (Y 2×1) instead.
  const JDIMENSION yRows = (t.src.image_height + 7) / 8;
  t.vSamp = (t.src.comp_info[0].v_samp_factor == 2 || yRows % 2 == 0) ? 2 : 1;
  for (int c = 1; c < 3; c++) {
    t.wb[c] = blocks(t.src.image_width, 1, 2);
    t.hb[c] = blocks(t.src.image_height, 1, t.vSamp);
    t.outArr[c] = (*t.src.mem->request_virt_barray)((j_common_ptr)&t.src, JPOOL_IMAGE, TRUE, t.wb[c], t.hb[c], 1);
  }
  t.coefs = jpeg_read_coefficients(&t.src);
  t.outArr[0] = t.coefs[0];
  const jpeg_component_info* y = &t.src.comp_info[0];
  t.lumaRows.resize(y->height_in_blocks);
  for (JDIMENSION r = 0; r < y->height_in_blocks; r++)
    t.lumaRows[r] = (*t.src.mem->access_virt_barray)((j_common_ptr)&t.src, t.coefs[0], r, 1, FALSE)[0];
  return "";
}

// 8×8 block means of Y in levels (blocks outside the luma array are never read).
void blockMeans(Transcode& t, float* out, JDIMENSION bw, JDIMENSION bh) {
  jpeg_component_info* y = &t.src.comp_info[0];
  const float q0 = y->quant_table->quantval[0];
  for (JDIMENSION by = 0; by < bh; by++) {
    JBLOCKARRAY row = (*t.src.mem->access_virt_barray)((j_common_ptr)&t.src, t.coefs[0], by, 1, FALSE);
    for (JDIMENSION bx = 0; bx < bw; bx++) out[size_t(by) * bw + bx] = row[0][bx][0] * q0 / 8.f + 128.f;
  }
}

// libjpeg's DCT basis: F(u) = 1/2 C(u) Σ f(x) cos((2x+1)uπ/16), C(0) = 1/√2.
struct DctBasis {
  float m[8][8];  // m[x][u]
  DctBasis() {
    for (int u = 0; u < 8; u++)
      for (int x = 0; x < 8; x++) m[x][u] = 0.5f * (u == 0 ? float(M_SQRT1_2) : 1.f) * float(std::cos((2 * x + 1) * u * M_PI / 16));
  }
};
const DctBasis basis;

// The Arai–Agui–Nakajima factorization of the 8-point DCT (5 multiplications instead of
// 64): a scaled DCT, out[k·step] = libjpeg's F(k) (see DctBasis) · 2√2·a(k), the scale
// a(k) folded into the quantization (aanRecip). Against the matrix form: the same
// quantized coefficients but for ±1 at rounding boundaries (0.07% of them).
inline void aan8(float d0, float d1, float d2, float d3, float d4, float d5, float d6, float d7, float* o, size_t step) {
  const float t0 = d0 + d7, t7 = d0 - d7, t1 = d1 + d6, t6 = d1 - d6;
  const float t2 = d2 + d5, t5 = d2 - d5, t3 = d3 + d4, t4 = d3 - d4;
  // even part
  const float e10 = t0 + t3, e13 = t0 - t3, e11 = t1 + t2, e12 = t1 - t2;
  o[0] = e10 + e11;
  o[4 * step] = e10 - e11;
  const float z1 = (e12 + e13) * 0.707106781f;
  o[2 * step] = e13 + z1;
  o[6 * step] = e13 - z1;
  // odd part
  const float o10 = t4 + t5, o11 = t5 + t6, o12 = t6 + t7;
  const float z5 = (o10 - o12) * 0.382683433f;
  const float z2 = 0.541196100f * o10 + z5;
  const float z4 = 1.306562965f * o12 + z5;
  const float z3 = o11 * 0.707106781f;
  const float z11 = t7 + z3, z13 = t7 - z3;
  o[5 * step] = z13 + z2;
  o[3 * step] = z13 - z2;
  o[1 * step] = z11 + z4;
  o[7 * step] = z11 - z4;
}

// 1 / (quantizer · the AAN output scale) per coefficient, natural order: the 2-D AAN
// output is F(v,u) · 8·a(v)·a(u), a(0) = 1, a(k) = √2·cos(kπ/16).
void aanRecip(const UINT16* quantval, float* recip) {
  float a[8];
  for (int k = 0; k < 8; k++) a[k] = k == 0 ? 1.f : float(M_SQRT2 * std::cos(k * M_PI / 16));
  for (int v = 0; v < 8; v++)
    for (int u = 0; u < 8; u++) recip[v * 8 + u] = float(1.0 / (double(quantval[v * 8 + u]) * 8.0 * a[v] * a[u]));
}

// Forward DCT of one 8×8 block (rows `stride` apart) and quantization as libjpeg does
// it (round half away from zero), into natural order; `recip` from aanRecip.
__attribute__((target_clones("avx2", "default")))
void forwardDct(const float* in, size_t stride, const float* recip, JCOEF* out) {
  float tmp[64], res[64];
  for (int y = 0; y < 8; y++) {
    const float* r = in + y * stride;
    aan8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tmp + y * 8, 1);
  }
  for (int u = 0; u < 8; u++)
    aan8(tmp[u], tmp[8 + u], tmp[16 + u], tmp[24 + u], tmp[32 + u], tmp[40 + u], tmp[48 + u], tmp[56 + u], res + u, 8);
  for (int k = 0; k < 64; k++) {
    const float r = res[k] * recip[k];
    const int a = int(std::fabs(r) + 0.5f);
    out[k] = JCOEF(r < 0 ? -a : a);
  }
}

// One row of chroma samples (levels − 128, the DCT's level shift), bilinear along x from
// the row's chroma at model width, kept in the RGB gamut at luma `ymean` (the pixel
// core's rule; a block mean may lie just outside [0, 255], see gamutFactor). Then clamped
// to what an 8-bit Cb/Cr sample holds, [−128, 127]: in gamut |U−128| <= 126.998 and
// |V−128| <= 127.004, so only the 127 bound on Cr can bind (V−128 in (127, 127.004],
// next to pure red at Y ≈ 76) — a JPEG sample range, not part of the colour rule.
__attribute__((target_clones("avx2", "default")))
void chromaLine(const float* rowU, const float* rowV, const int32_t* x0s, const float* fxs, const float* ymean, size_t n,
                float* cb, float* cr) {
  for (size_t k = 0; k < n; k++) {
    const int i = x0s[k];
    const float f = fxs[k];
    const float du = rowU[i] + f * (rowU[i + 1] - rowU[i]);
    const float dv = rowV[i] + f * (rowV[i + 1] - rowV[i]);
    const float t = colorgan::gamutFactor(ymean[k], colorgan::rgbOffsets(du, dv));
    cb[k] = std::min(127.f, std::max(-128.f, t * du));
    cr[k] = std::min(127.f, std::max(-128.f, t * dv));
  }
}

// The same for guided coefficients: du, dv hold a·Y + b (guidedChroma) on entry, and
// each sample is kept in gamut at its own luma ysub.
__attribute__((target_clones("avx2", "default")))
void gamutLine(const float* du, const float* dv, const float* ysub, size_t n, float* cb, float* cr) {
  for (size_t k = 0; k < n; k++) {
    const float t = colorgan::gamutFactor(ysub[k], colorgan::rgbOffsets(du[k], dv[k]));
    cb[k] = std::min(127.f, std::max(-128.f, t * du[k]));
    cr[k] = std::min(127.f, std::max(-128.f, t * dv[k]));
  }
}

// Pair means of the DCT basis: h[i][u] = (m[2i][u] + m[2i+1][u]) / 2, so that a block's
// inverse DCT averaged over pixel pairs is Σu h[i][u] F(u) along each axis.
struct HalfBasis {
  float h[4][8];
  HalfBasis() {
    for (int i = 0; i < 4; i++)
      for (int u = 0; u < 8; u++) h[i][u] = 0.5f * (basis.m[2 * i][u] + basis.m[2 * i + 1][u]);
  }
};
const HalfBasis half;

// Mean luma under each chroma sample of one luma block: 4 columns × (vs == 2 ? 4 : 8)
// rows, written at out[row * stride + col], levels (dequantized; not clamped to 0..255).
__attribute__((target_clones("avx2", "default")))
void lumaUnderChroma(const JCOEF* c, const float* q, int vs, float* out, size_t stride) {
  float tmp[8][4];
  int rowsUsed = 0;  // coefficient rows after the last nonzero one contribute nothing
  for (int v = 0; v < 8; v++) {  // along x: pairs
    bool zero = true;
    for (int u = 0; u < 8; u++) zero &= c[v * 8 + u] == 0;
    if (zero) {
      for (int i = 0; i < 4; i++) tmp[v][i] = 0.f;
      continue;
    }
    rowsUsed = v + 1;
    float f[8];
    for (int u = 0; u < 8; u++) f[u] = float(c[v * 8 + u]) * q[v * 8 + u];
    for (int i = 0; i < 4; i++) {
      float acc = 0;
      for (int u = 0; u < 8; u++) acc += half.h[i][u] * f[u];
      tmp[v][i] = acc;
    }
  }
  const int rows = vs == 2 ? 4 : 8;
  for (int j = 0; j < rows; j++) {  // along y: pairs (4:2:0) or single rows (4:2:2)
    const float* hv = vs == 2 ? half.h[j] : basis.m[j];
    for (int i = 0; i < 4; i++) {
      float acc = 128.f;
      for (int v = 0; v < rowsUsed; v++) acc += hv[v] * tmp[v][i];
      out[size_t(j) * stride + i] = acc;
    }
  }
}

struct Chroma {
  const float* grid;  // gw×gh×planes (row-major, gw wide): U,V at network scale, or guided coefficients in levels (pixels.h)
  int planes;         // 2 or 4
  int gw, gh;         // the model grid
  float scale;        // network → levels (U,V only)
};

struct DestMgr {
  unsigned char* buf = nullptr;
  unsigned long len = 0;
};

std::string finishJpeg(Transcode& t, const Chroma& ch, int quality, bool twoPass, DestMgr& dest) {
  jpeg_compress_struct dst{};
  ErrorMgr dstErr{};
  dst.err = jpeg_std_error(&dstErr.pub);
  dstErr.pub.error_exit = errorExit;
  if (setjmp(dstErr.jump)) {
    jpeg_destroy_compress(&dst);
    return dstErr.message;
  }
  if (setjmp(t.srcErr.jump)) {
    jpeg_destroy_compress(&dst);
    return t.srcErr.message;
  }
  jpeg_create_compress(&dst);
  const JDIMENSION W = t.src.image_width, H = t.src.image_height;
  dst.image_width = W;
  dst.image_height = H;
  dst.input_components = 3;
  dst.in_color_space = JCS_YCbCr;
  jpeg_set_defaults(&dst);
  jpeg_set_colorspace(&dst, JCS_YCbCr);
  jpeg_set_quality(&dst, quality, TRUE);  // the chroma table; luma keeps the photo's own
  dst.comp_info[0].h_samp_factor = 2;
  dst.comp_info[0].v_samp_factor = t.vSamp;
  for (int c = 1; c < 3; c++) dst.comp_info[c].h_samp_factor = dst.comp_info[c].v_samp_factor = 1;
  const JQUANT_TBL* yq = t.src.comp_info[0].quant_table;
  std::memcpy(dst.quant_tbl_ptrs[0]->quantval, yq->quantval, sizeof yq->quantval);
  dst.optimize_coding = TRUE;  // as sharp's default
  dst.density_unit = t.src.density_unit;
  dst.X_density = t.src.X_density;
  dst.Y_density = t.src.Y_density;

  // Cb, Cr from the model, one row of 8×8 chroma blocks at a time.
  jpeg_component_info* sy = &t.src.comp_info[0];
  const float q0 = yq->quantval[0];
  float recip[64];
  aanRecip(dst.quant_tbl_ptrs[1]->quantval, recip);
  const int vs = t.vSamp;  // luma rows per chroma row
  const JDIMENSION cw = t.wb[1] * 8;
  std::vector<int32_t> x0s(cw);
  std::vector<float> fxs(cw);
  for (JDIMENSION cx = 0; cx < cw; cx++) {  // bilinear taps along x: chroma sample cx is centred at luma 2cx+1
    const colorgan::Tap t = colorgan::bilinearTap(std::min<double>(2.0 * cx + 1.0, W) / W * ch.gw, ch.gw);
    x0s[cx] = t.x0;
    fxs[cx] = float(t.f);
  }
  // Row pointers first (libjpeg's array access is not thread-safe; in-memory arrays keep
  // their pointers), then the block rows in parallel.
  const JDIMENSION nby = t.hb[1];
  std::vector<JBLOCKROW> cbRows(nby), crRows(nby), yRowsOf(sy->height_in_blocks);
  for (JDIMENSION by = 0; by < nby; by++) {
    cbRows[by] = (*t.src.mem->access_virt_barray)((j_common_ptr)&t.src, t.outArr[1], by, 1, TRUE)[0];
    crRows[by] = (*t.src.mem->access_virt_barray)((j_common_ptr)&t.src, t.outArr[2], by, 1, TRUE)[0];
  }
  for (JDIMENSION yb = 0; yb < sy->height_in_blocks; yb++)
    yRowsOf[yb] = (*t.src.mem->access_virt_barray)((j_common_ptr)&t.src, t.coefs[0], yb, 1, FALSE)[0];
  const std::vector<int32_t> runEnd = colorgan::chromaRuns(x0s.data(), int(cw));
  float deq[64];
  for (int k = 0; k < 64; k++) deq[k] = yq->quantval[k];
  const JDIMENSION lumaW = sy->width_in_blocks, lumaH = sy->height_in_blocks;
#pragma omp parallel
  {
    std::vector<float> ymean(cw), cb(size_t(cw) * 8), cr(size_t(cw) * 8), row(4 * (size_t(ch.gw) + 1)), du(cw), dv(cw);
    std::vector<float> ysub(ch.planes == 4 ? size_t(cw) * 8 : 0);
#pragma omp for schedule(dynamic, 4)
    for (JDIMENSION by = 0; by < nby; by++) {
      if (ch.planes == 4) {
        // The luma under each of this block row's chroma samples: luma block rows
        // vs·by .. vs·by + vs − 1 (edge-clamped), 4 chroma columns per luma block.
        for (int part = 0; part < vs; part++) {
          const JBLOCKROW yRow = yRowsOf[std::min<JDIMENSION>(by * vs + part, lumaH - 1)];
          for (JDIMENSION lb = 0; lb < cw / 4; lb++)
            lumaUnderChroma(yRow[std::min<JDIMENSION>(lb, lumaW - 1)], deq, vs, ysub.data() + size_t(part) * 4 * cw + lb * 4, cw);
        }
      }
      for (int j = 0; j < 8; j++) {
        const JDIMENSION cy = by * 8 + j;
        const colorgan::Tap ty = colorgan::bilinearTap(std::min<double>(double(vs) * cy + vs / 2.0, H) / H * ch.gh, ch.gh);
        const float ay = float(ty.f);
        float* cbj = cb.data() + size_t(j) * cw;
        float* crj = cr.data() + size_t(j) * cw;
        if (ch.planes == 4) {
          const float* ys = ysub.data() + size_t(j) * cw;
          colorgan::guidedRow(ch.grid, ch.gw, ty.x0, ty.x1, 1 - ay, ay, row.data());
          colorgan::guidedChroma(0, int(cw), x0s.data(), runEnd.data(), fxs.data(), row.data(), ys, du.data(), dv.data());
          gamutLine(du.data(), dv.data(), ys, cw, cbj, crj);
          continue;
        }
        // Mean luma of the 8×8 luma block under each chroma sample of this row.
        const JBLOCKROW yRow = yRowsOf[std::min<JDIMENSION>((cy * vs) / 8, lumaH - 1)];
        for (JDIMENSION cx = 0; cx < cw; cx++)
          ymean[cx] = yRow[std::min<JDIMENSION>(cx / 4, lumaW - 1)][0] * q0 / 8.f + 128.f;
        float* rowU = row.data();
        float* rowV = row.data() + ch.gw + 1;
        colorgan::chromaRow(ch.grid, ch.gw, ty.x0, ty.x1, (1 - ay) * ch.scale, ay * ch.scale, rowU, rowV);
        chromaLine(rowU, rowV, x0s.data(), fxs.data(), ymean.data(), cw, cbj, crj);
      }
      for (JDIMENSION bx = 0; bx < t.wb[1]; bx++) {
        forwardDct(cb.data() + bx * 8, cw, recip, cbRows[by][bx]);
        forwardDct(cr.data() + bx * 8, cw, recip, crRows[by][bx]);
      }
    }
  }

  // The optimal tables from the counts (chroma's here: few symbols, mostly EOB; the luma's
  // were taken while the model ran, joined by the caller), so libjpeg codes in one pass;
  // `twoPass` leaves it to libjpeg's own counting pass.
  if (!twoPass) {
    HuffCounts chroma;
    int lastCb = 0, lastCr = 0;
    for (JDIMENSION r = 0; r < t.mcusDown(); r++)
      for (JDIMENSION c = 0; c < t.mcusAcross(); c++) {
        chroma.block(cbRows[r][c], lastCb);
        chroma.block(crRows[r][c], lastCr);
      }
    jpeg_gen_optimal_table(&dst, dst.dc_huff_tbl_ptrs[0], t.luma.dc);
    jpeg_gen_optimal_table(&dst, dst.ac_huff_tbl_ptrs[0], t.luma.ac);
    jpeg_gen_optimal_table(&dst, dst.dc_huff_tbl_ptrs[1], chroma.dc);
    jpeg_gen_optimal_table(&dst, dst.ac_huff_tbl_ptrs[1], chroma.ac);
    dst.optimize_coding = FALSE;
  }
  jpeg_mem_dest(&dst, &dest.buf, &dest.len);
  jpeg_write_coefficients(&dst, t.outArr);
  jpeg_finish_compress(&dst);
  jpeg_destroy_compress(&dst);
  return "";
}

// ---------------------------------------------------------------------------------
// N-API

void finalize(napi_env, void* data, void*) { delete static_cast<Transcode*>(data); }

napi_value fail(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

// Both calls run on a libuv worker thread and return promises; a Job carries one call.
struct Job {
  Transcode* t = nullptr;
  bool opening = true;
  std::vector<float> means;          // open
  std::vector<float> uv;             // finish: the chroma grid, 2 or 4 planes
  int planes = 2, gw = 0, gh = 0, quality = 90;
  bool twoPass = false;              // finish: libjpeg's own counting pass (tests compare)
  float scale = 1;
  DestMgr dest;                      // finish
  std::string error;
  napi_ref handleRef = nullptr;      // finish: keeps the handle (and t) alive
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

void execute(napi_env, void* data) {
  Job& j = *static_cast<Job*>(data);
  Transcode& t = *j.t;
  if (j.opening) {
    j.error = openJpeg(t);
    if (!j.error.empty()) return;
    const JDIMENSION bw = (t.src.image_width + 7) / 8, bh = (t.src.image_height + 7) / 8;
    j.means.resize(size_t(bw) * bh);
    blockMeans(t, j.means.data(), bw, bh);
    t.lumaCounting = std::thread([&t] { t.countLuma(); });  // while the model runs; finish joins it
  } else {
    const Chroma ch{j.uv.data(), j.planes, j.gw, j.gh, j.scale};
    if (t.lumaCounting.joinable()) t.lumaCounting.join();  // started by open, run while the model ran: finishJpeg uses its counts
    j.error = finishJpeg(t, ch, j.quality, j.twoPass, j.dest);
    // One output per open: free the coefficients (tens of MB for a large photo) now
    // rather than when the garbage collector gets to the handle.
    t.coefs = nullptr;
    jpeg_destroy_decompress(&t.src);
    t.open = false;
    std::vector<uint8_t>().swap(t.bytes);
  }
}

void complete(napi_env env, napi_status, void* data) {
  Job* j = static_cast<Job*>(data);
  napi_value result;
  if (!j->error.empty()) {
    napi_value msg;
    napi_create_string_utf8(env, j->error.c_str(), j->error.size(), &msg);
    napi_create_error(env, nullptr, msg, &result);
    napi_reject_deferred(env, j->deferred, result);
    if (j->opening) delete j->t;  // never handed to JS
  } else if (j->opening) {
    Transcode* t = j->t;
    const uint32_t bw = (t->src.image_width + 7) / 8, bh = (t->src.image_height + 7) / 8;
    napi_value handle, meansBuf, means, v;
    napi_create_object(env, &result);
    napi_create_external(env, t, finalize, nullptr, &handle);
    napi_set_named_property(env, result, "handle", handle);
    void* mp;
    napi_create_arraybuffer(env, j->means.size() * 4, &mp, &meansBuf);
    std::memcpy(mp, j->means.data(), j->means.size() * 4);
    napi_create_typedarray(env, napi_float32_array, j->means.size(), meansBuf, 0, &means);
    napi_set_named_property(env, result, "means", means);
    const uint32_t nums[4] = {t->src.image_width, t->src.image_height, bw, bh};
    const char* names[4] = {"width", "height", "blocksW", "blocksH"};
    for (int i = 0; i < 4; i++) {
      napi_create_uint32(env, nums[i], &v);
      napi_set_named_property(env, result, names[i], v);
    }
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    void* copy;
    napi_create_buffer_copy(env, j->dest.len, j->dest.buf, &copy, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  if (j->dest.buf) free(j->dest.buf);
  if (j->handleRef) napi_delete_reference(env, j->handleRef);
  napi_delete_async_work(env, j->work);
  delete j;
}

napi_value queue(napi_env env, Job* j) {
  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, j->opening ? "colorgan.jpeg.open" : "colorgan.jpeg.finish", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, execute, complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

// open(buffer) → Promise<{handle, width, height, blocksW, blocksH, means: Float32Array}>
napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  bool isBuffer = false;
  if (argc < 1 || napi_is_buffer(env, a[0], &isBuffer) != napi_ok || !isBuffer) return fail(env, "open(buffer): expected a Buffer");
  void* data;
  size_t len;
  napi_get_buffer_info(env, a[0], &data, &len);
  Job* j = new Job();
  j->t = new Transcode();
  j->t->bytes.assign(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + len);
  return queue(env, j);
}

// finish(handle, uv, gw, scale, quality[, gh[, twoPass]]) → Promise<Buffer> (once per handle). The
// model grid is gw × gh (gh defaults to gw: a square grid); uv is gw×gh×2 (U,V, network
// scale) or gw×gh×4 (guided coefficients in levels, scale unused), rows gw wide.
napi_value Finish(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc < 5) return fail(env, "finish(handle, uv, gw, scale, quality[, gh[, twoPass]]): expected 5 to 7 arguments");
  void* p;
  if (napi_get_value_external(env, a[0], &p) != napi_ok || !p) return fail(env, "finish: bad handle");
  Transcode* t = static_cast<Transcode*>(p);
  if (!t->coefs || t->busy) return fail(env, "finish: already finished");
  int32_t gw = 0, gh = 0, quality = 0;
  double scale = 0;
  if (napi_get_value_int32(env, a[2], &gw) != napi_ok || napi_get_value_double(env, a[3], &scale) != napi_ok ||
      napi_get_value_int32(env, a[4], &quality) != napi_ok)
    return fail(env, "finish: bad arguments");
  napi_valuetype ghType = napi_undefined;
  if (argc >= 6) napi_typeof(env, a[5], &ghType);
  if (ghType == napi_undefined) gh = gw;
  else if (napi_get_value_int32(env, a[5], &gh) != napi_ok) return fail(env, "finish: gh must be an integer");
  bool isTa = false;
  napi_is_typedarray(env, a[1], &isTa);
  if (!isTa || gw < 1 || gh < 1 || quality < 1 || quality > 100) return fail(env, "finish: bad arguments");
  napi_typedarray_type type;
  size_t length, offset;
  void* uv;
  napi_value ab;
  napi_get_typedarray_info(env, a[1], &type, &length, &uv, &ab, &offset);
  const int planes = colorgan::chromaPlanes(length, gw, gh);
  if (type != napi_float32_array || !planes) return fail(env, "finish: uv must be a Float32Array of gw×gh×2 (U,V) or gw×gh×4 (guided)");
  const size_t n = size_t(gw) * size_t(gh) * planes;
  Job* j = new Job();
  j->t = t;
  j->opening = false;
  j->uv.assign(static_cast<const float*>(uv), static_cast<const float*>(uv) + n);
  j->planes = planes;
  j->gw = gw;
  j->gh = gh;
  j->scale = float(scale);
  j->quality = quality;
  bool twoPass = false;
  if (argc >= 7) napi_get_value_bool(env, a[6], &twoPass);
  j->twoPass = twoPass;
  t->busy = true;
  napi_create_reference(env, a[0], 1, &j->handleRef);
  return queue(env, j);
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"finish", nullptr, Finish, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
