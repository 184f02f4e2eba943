// Optional streaming colorizer for large photos: one libvips pipeline (the libvips that
// sharp bundles, so no second copy is loaded) that decodes the photo, adds the model's
// upsampled chroma to each pixel's own luma, and encodes the result, strip by strip:
// decode, our pixel work and encode overlap, as in sharp's own decode → encode. PNG is
// our own encoder (below): libvips deflates it on one thread, which alone takes as long
// as sharp's whole decode → PNG.
//
// sharpen(input: Buffer, width, height, uv, gw, x0s, fxs, tyIndex, tyWeight, scale,
//         format: "jpeg" | "png" | "webp" | "raw", quality[, gh]) → Promise<Buffer>
// ("raw": the RGB bytes, width × height × 3, for tests of the encoders).
// The model grid is gw × gh (gh defaults to gw: a square grid); uv is gw×gh×2 (U,V) or
// gw×gh×4 (guided coefficients, pixels.h), rows gw wide; x0s index grid columns (< gw),
// tyIndex grid rows (< gh).
// The photo must be 8-bit, 1 or 3 bands, without alpha, upright and width×height (the
// JS side checks with sharp's metadata and uses the general path otherwise).
#include <node_api.h>
#include <vips/vips.h>

#include <zlib.h>  // Node's (build.mjs puts its headers first); the symbols are node's

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "pixels.h"

namespace {

struct Job {
  napi_ref inputRef = nullptr;  // keeps the encoded input alive while libvips reads it
  const void* data = nullptr;
  size_t length = 0;
  int width = 0, height = 0, gw = 0, gh = 0;  // photo, model grid
  std::vector<float> uv, fxs, tyW;  // uv: the chroma grid, 2 or 4 planes (pixels.h)
  int planes = 2;
  std::vector<int32_t> x0s, runEnd, tyI;
  float scale = 1;
  std::string format;
  int quality = 90;
  void* out = nullptr;
  size_t outLength = 0;
  std::string error;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

// Per-region work: decode (by preparing the input region), then compose row by row.
int generate(VipsRegion* outRegion, void* seq, void* /*a*/, void* b, gboolean* /*stop*/) {
  VipsRegion* in = static_cast<VipsRegion*>(seq);
  const Job& job = *static_cast<const Job*>(b);
  const VipsRect& r = outRegion->valid;
  if (vips_region_prepare(in, &r)) return -1;
  const int bands = in->im->Bands;
  std::vector<float> row(4 * (size_t(job.gw) + 1)), du(r.width), dv(r.width), ys(r.width);
  for (int y = r.top; y < r.top + r.height; y++) {
    const auto [rowU, rowV] = colorgan::gridRow(job.uv.data(), job.planes, job.gw, job.tyI[2 * y], job.tyI[2 * y + 1], job.tyW[2 * y],
                                                job.tyW[2 * y + 1], job.scale, row.data());
    colorgan::composeRow(reinterpret_cast<const uint8_t*>(VIPS_REGION_ADDR(in, r.left, y)), bands,
                         reinterpret_cast<uint8_t*>(VIPS_REGION_ADDR(outRegion, r.left, y)), r.left, r.width,
                         job.x0s.data(), job.runEnd.data(), job.fxs.data(), rowU, rowV, du.data(), dv.data(), ys.data());
  }
  return 0;
}

std::string vipsError() {
  std::string e = vips_error_buffer();
  vips_error_clear();
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  const size_t nl = e.find('\n');
  return nl == std::string::npos ? e : e.substr(0, nl);
}

// ---- PNG with a parallel deflate (the pigz method) ---------------------------------
// The filtered scanlines (filter byte 0 = none on each row, sharp's default) are cut into
// chunks of whole rows, ~1 MB; each is deflated on a thread of its own as raw deflate
// with the 32 KB before it as dictionary (so the ratio is a single stream's), ending in a
// sync flush (byte-aligned, not final) except the last: concatenated, with the zlib
// header and the Adler-32 of the whole (adler32_combine), they are one zlib stream. A
// chunk is deflated as soon as libvips has produced its rows, so decode and compose (one
// thread: the photo is read sequentially) overlap the deflating (all threads).
// zlib is Node's own (the symbols node exports, the API of its zlib.h): nothing to link
// or ship. Level 6, 32 KB window, memLevel 8, default strategy: what libspng uses for
// sharp's png() (compression 6, no filtering).
// The pipeline's output is always 8-bit RGB.
class PngEncoder {
 public:
  PngEncoder(int width, int height)
      : width_(width), height_(height), rowBytes_(1 + 3 * size_t(width)),
        rowsPerChunk_(int(std::max<size_t>(1, (size_t(1) << 20) / rowBytes_))) {
    // Every core (sharp's libvips concurrency is 1 with glibc's allocator).
    const int n = std::max(1u, std::thread::hardware_concurrency());
    try {
      for (int i = 0; i < n; i++) threads_.emplace_back([this] { work(); });
    } catch (const std::system_error& e) {
      close();
      throw std::runtime_error(std::string("png: cannot start a deflate thread (") + e.what() + ")");
    }
    filling_ = newChunk();
  }
  ~PngEncoder() { close(); }

  // vips_sink_disc's callback: `area` (whole rows, in order) of `region`.
  static int writeRows(VipsRegion* region, VipsRect* area, void* a) {
    PngEncoder& e = *static_cast<PngEncoder*>(a);
    for (int y = area->top; y < area->top + area->height; y++) e.addRow(VIPS_REGION_ADDR(region, 0, y));
    return 0;
  }

  // The PNG (g_malloc'd), once every row is in.
  void finish(void** out, size_t* length) {
    close();
    if (!error_.empty()) throw std::runtime_error(error_);
    if (row_ != height_) throw std::runtime_error("png: rows missing");
    uLong adler = adler32(0, nullptr, 0);
    size_t total = 8 + 25 + 12 + 2 + 4;  // signature, IHDR, IEND; zlib header, Adler-32
    for (const auto& c : chunks_) {
      adler = adler32_combine(adler, c->adler, z_off_t(c->length));
      total += 12 + c->out.size();  // an IDAT each
    }
    uint8_t* p = static_cast<uint8_t*>(g_malloc(total));
    *out = p;
    *length = total;
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::memcpy(p, signature, 8);
    uint8_t ihdr[13] = {0, 0, 0, 0, 0, 0, 0, 0, 8, 2, 0, 0, 0};  // 8-bit RGB, no interlace
    put32(ihdr, width_);
    put32(ihdr + 4, height_);
    p = chunk(p + 8, "IHDR", {{ihdr, 13}});
    static const uint8_t zlibHeader[2] = {0x78, 0x9c};  // deflate, 32 KB window, default level
    uint8_t trailer[4];
    put32(trailer, uint32_t(adler));
    for (size_t k = 0; k < chunks_.size(); k++) {
      const bool first = k == 0, last = k + 1 == chunks_.size();
      p = chunk(p, "IDAT", {{zlibHeader, first ? 2 : 0}, {chunks_[k]->out.data(), chunks_[k]->out.size()}, {trailer, last ? 4 : 0}});
    }
    chunk(p, "IEND", {});
  }

 private:
  struct Chunk {
    std::vector<uint8_t> in;  // the dictionary (the stream's 32 KB before the chunk), then its rows
    size_t dict = 0, length = 0;  // length: of the rows
    bool last = false;
    std::vector<uint8_t> out;  // raw deflate
    uLong adler = 0;
  };

  static void put32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
  }

  // One PNG chunk of the concatenated parts at p; returns its end.
  static uint8_t* chunk(uint8_t* p, const char* type, std::initializer_list<std::pair<const uint8_t*, size_t>> parts) {
    uint8_t* body = p + 4;
    std::memcpy(body, type, 4);
    uint8_t* q = body + 4;
    for (const auto& [data, n] : parts) {
      if (n) std::memcpy(q, data, n);
      q += n;
    }
    put32(p, uint32_t(q - body - 4));
    put32(q, uint32_t(crc32(0, body, uInt(q - body))));
    return q + 4;
  }

  void addRow(const void* pixels) {
    auto& in = filling_->in;
    in.push_back(0);  // filter: none
    in.insert(in.end(), static_cast<const uint8_t*>(pixels), static_cast<const uint8_t*>(pixels) + rowBytes_ - 1);
    if (++row_ % rowsPerChunk_ && row_ != height_) return;
    // Full: the next chunk's dictionary is this one's tail (copied before a thread frees it).
    filling_->length = in.size() - filling_->dict;
    filling_->last = row_ == height_;
    auto next = filling_->last ? nullptr : newChunk(std::min<size_t>(32768, filling_->length), in.data() + in.size());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      chunks_.push_back(std::move(filling_));
    }
    ready_.notify_one();
    filling_ = std::move(next);
  }

  // An empty chunk for the next rows, after `dict` bytes of dictionary that end at `end`.
  std::unique_ptr<Chunk> newChunk(size_t dict = 0, const uint8_t* end = nullptr) {
    auto c = std::make_unique<Chunk>();
    c->dict = dict;
    c->in.reserve(dict + size_t(std::min(rowsPerChunk_, height_ - row_)) * rowBytes_);
    c->in.assign(end - dict, end);
    return c;
  }

  void work() {
    for (;;) {
      Chunk* c;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return next_ < chunks_.size() || closed_; });
        if (next_ == chunks_.size()) return;
        c = chunks_[next_++].get();
      }
      std::string e = compress(*c);
      if (!e.empty()) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (error_.empty()) error_ = "png: " + e;
      }
    }
  }

  // Deflate one chunk into c.out (and its Adler-32); frees its rows. An error, or "".
  static std::string compress(Chunk& c) {
    z_stream z{};
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return "deflateInit2 failed";
    const uint8_t* data = c.in.data() + c.dict;
    int rc = c.dict ? deflateSetDictionary(&z, c.in.data(), uInt(c.dict)) : Z_OK;
    z.next_in = const_cast<uint8_t*>(data);
    z.avail_in = uInt(c.length);
    c.out.resize(deflateBound(&z, c.length) + 16);
    const int flush = c.last ? Z_FINISH : Z_SYNC_FLUSH;
    size_t have = 0;
    while (rc == Z_OK) {  // one call unless the bound was too tight
      if (have == c.out.size()) c.out.resize(2 * have);
      z.next_out = c.out.data() + have;
      z.avail_out = uInt(c.out.size() - have);
      rc = deflate(&z, flush);
      have = c.out.size() - z.avail_out;
      if (rc == Z_OK && z.avail_out) break;  // flushed (Z_FINISH ends in Z_STREAM_END)
    }
    deflateEnd(&z);
    const bool done = c.last ? rc == Z_STREAM_END : rc == Z_OK && z.avail_in == 0;
    if (!done) return "deflate failed (zlib error " + std::to_string(rc) + ")";
    c.out.resize(have);
    c.adler = adler32(adler32(0, nullptr, 0), data, uInt(c.length));
    std::vector<uint8_t>().swap(c.in);
    return "";
  }

  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  const int width_, height_;
  const size_t rowBytes_;
  const int rowsPerChunk_;
  int row_ = 0;  // rows added
  std::unique_ptr<Chunk> filling_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::unique_ptr<Chunk>> chunks_;  // handed to the threads, in order
  size_t next_ = 0;  // the next one a thread takes
  bool closed_ = false;
  std::string error_;
  std::vector<std::thread> threads_;
};

void run(Job& job) {
  VipsImage* in = vips_image_new_from_buffer(job.data, job.length, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                             VIPS_FAIL_ON_TRUNCATED, nullptr);
  if (!in) throw std::runtime_error(vipsError());
  VipsImage* out = nullptr;
  try {
    if (in->Xsize != job.width || in->Ysize != job.height) throw std::runtime_error("size differs from its header");
    if (in->BandFmt != VIPS_FORMAT_UCHAR || (in->Bands != 1 && in->Bands != 3) || in->Coding != VIPS_CODING_NONE)
      throw std::runtime_error("not 8-bit gray or RGB");
    out = vips_image_new();
    if (vips_image_pipelinev(out, VIPS_DEMAND_STYLE_THINSTRIP, in, nullptr)) throw std::runtime_error(vipsError());
    out->Bands = 3;
    out->BandFmt = VIPS_FORMAT_UCHAR;
    out->Type = VIPS_INTERPRETATION_sRGB;
    if (vips_image_generate(out, vips_start_one, generate, vips_stop_one, in, &job)) throw std::runtime_error(vipsError());
    int rc;
    // The encoder settings are sharp's defaults, so this writes what encodeImage() would.
    if (job.format == "jpeg")
      rc = vips_image_write_to_buffer(out, ".jpg", &job.out, &job.outLength, "Q", job.quality, "optimize_coding", TRUE,
                                      "subsample_mode", VIPS_FOREIGN_SUBSAMPLE_ON, "keep", VIPS_FOREIGN_KEEP_NONE, nullptr);
    else if (job.format == "png") {
      PngEncoder png(out->Xsize, out->Ysize);
      rc = vips_sink_disc(out, PngEncoder::writeRows, &png);
      if (!rc) png.finish(&job.out, &job.outLength);
    } else if (job.format == "raw")
      rc = (job.out = vips_image_write_to_memory(out, &job.outLength)) ? 0 : -1;
    else if (job.format == "webp")
      rc = vips_image_write_to_buffer(out, ".webp", &job.out, &job.outLength, "Q", job.quality, "keep",
                                      VIPS_FOREIGN_KEEP_NONE, nullptr);
    else
      throw std::runtime_error("unknown output format " + job.format);
    if (rc) throw std::runtime_error(vipsError());
  } catch (...) {
    if (out) g_object_unref(out);
    g_object_unref(in);
    throw;
  }
  g_object_unref(out);
  g_object_unref(in);
}

void execute(napi_env, void* data) {
  Job& job = *static_cast<Job*>(data);
  try {
    run(job);
  } catch (const std::exception& e) {
    job.error = e.what();
  }
}

void complete(napi_env env, napi_status, void* data) {
  Job* job = static_cast<Job*>(data);
  napi_value result;
  if (job->error.empty()) {
    void* copy;
    napi_create_buffer_copy(env, job->outLength, job->out, &copy, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value msg;
    napi_create_string_utf8(env, job->error.c_str(), job->error.size(), &msg);
    napi_create_error(env, nullptr, msg, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  if (job->out) g_free(job->out);
  napi_delete_reference(env, job->inputRef);
  napi_delete_async_work(env, job->work);
  delete job;
}

template <typename T>
std::vector<T> copyTyped(napi_env env, napi_value v, size_t count, const char* what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) throw std::runtime_error(std::string(what) + ": expected a typed array");
  napi_typedarray_type type;
  size_t length, offset;
  void* data;
  napi_value ab;
  napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset);
  if (length * sizeof(T) < count * sizeof(T) || length < count) throw std::runtime_error(std::string(what) + ": too short");
  std::vector<T> out(count);
  std::memcpy(out.data(), data, count * sizeof(T));
  return out;
}

// Element count of a Float32Array (0 for anything else).
size_t float32Length(napi_env env, napi_value v) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return 0;
  napi_typedarray_type type;
  size_t length, offset;
  void* data;
  napi_value ab;
  napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset);
  return type == napi_float32_array ? length : 0;
}

int32_t intArg(napi_env env, napi_value v, const char* what) {
  int32_t n;
  if (napi_get_value_int32(env, v, &n) != napi_ok) throw std::runtime_error(std::string(what) + ": expected an integer");
  return n;
}

napi_value Sharpen(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Job* job = new Job();
  try {
    if (argc < 12) throw std::runtime_error("expected 12 or 13 arguments");
    bool isBuffer = false;
    napi_is_buffer(env, a[0], &isBuffer);
    if (!isBuffer) throw std::runtime_error("input: expected a Buffer");
    void* data;
    napi_get_buffer_info(env, a[0], &data, &job->length);
    job->data = data;
    job->width = intArg(env, a[1], "width");
    job->height = intArg(env, a[2], "height");
    job->gw = intArg(env, a[4], "gw");
    napi_valuetype ghType = napi_undefined;
    if (argc >= 13) napi_typeof(env, a[12], &ghType);
    job->gh = ghType == napi_undefined ? job->gw : intArg(env, a[12], "gh");
    if (job->width < 1 || job->height < 1 || job->gw < 1 || job->gh < 1) throw std::runtime_error("bad size");
    job->planes = colorgan::chromaPlanes(float32Length(env, a[3]), job->gw, job->gh);
    if (!job->planes) throw std::runtime_error("uv: expected a Float32Array of gw×gh×2 (U,V) or gw×gh×4 (guided)");
    job->uv = copyTyped<float>(env, a[3], size_t(job->gw) * size_t(job->gh) * job->planes, "uv");
    job->x0s = copyTyped<int32_t>(env, a[5], job->width, "x0s");
    job->fxs = copyTyped<float>(env, a[6], job->width, "fxs");
    job->runEnd = colorgan::chromaRuns(job->x0s.data(), job->width);
    job->tyI = copyTyped<int32_t>(env, a[7], size_t(job->height) * 2, "tyIndex");
    job->tyW = copyTyped<float>(env, a[8], size_t(job->height) * 2, "tyWeight");
    for (int32_t i : job->x0s) if (i < 0 || i >= job->gw) throw std::runtime_error("tap out of range");
    for (int32_t i : job->tyI) if (i < 0 || i >= job->gh) throw std::runtime_error("tap out of range");
    double scale;
    napi_get_value_double(env, a[9], &scale);
    job->scale = float(scale);
    char fmt[16] = {0};
    size_t fmtLen;
    napi_get_value_string_utf8(env, a[10], fmt, sizeof fmt, &fmtLen);
    job->format = fmt;
    job->quality = intArg(env, a[11], "quality");
  } catch (const std::exception& e) {
    delete job;
    napi_throw_error(env, nullptr, (std::string("sharpen: ") + e.what()).c_str());
    return nullptr;
  }
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_reference(env, a[0], 1, &job->inputRef);
  napi_create_string_utf8(env, "colorgan.sharpen", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

napi_value Version(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_string_utf8(env, vips_version_string(), NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  // sharp has started libvips already (it must be loaded first); this is a no-op then.
  if (vips_init("colorgan")) {
    napi_throw_error(env, nullptr, "could not start libvips");
    return nullptr;
  }
  napi_property_descriptor props[] = {
      {"sharpen", nullptr, Sharpen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
