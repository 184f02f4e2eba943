// What the two halves of the oneDNN addon share: colorgan_dnnl.cc (kernels on the tfjs
// wasm heap, pixel loops, the module's exports) and dnnl_graph.cc (the generator's
// inference as one chain of oneDNN primitives).
#pragma once

#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <stdexcept>
#include <string>

namespace colorgan {

inline dnnl::engine& eng() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// Per thread: the service runs one model per worker thread, and a stream, a primitive's
// scratch buffer and the caches built on them are not safe to share between threads.
inline dnnl::stream& strm() {
  thread_local dnnl::stream s(eng());
  return s;
}

// Activations as numbered in the params of both halves (and src/backend/native.ts,
// src/backend/native-graph.ts). LEAKY takes a slope, passed as float bits.
enum Act { LINEAR = 0, RELU = 1, LEAKY = 2, TANH = 3, SIGMOID = 4, N_ACTS };

inline float floatFromBits(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The activation as a oneDNN eltwise post-op (nothing for LINEAR).
inline void appendActivation(dnnl::post_ops& po, int act, float alpha) {
  using dnnl::algorithm;
  switch (act) {
    case LINEAR: break;
    case RELU: po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
    case LEAKY: po.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
    case TANH: po.append_eltwise(1.f, algorithm::eltwise_tanh, 0.f, 0.f); break;
    case SIGMOID: po.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
    default: throw std::runtime_error("unsupported activation " + std::to_string(act));
  }
}

// ---------------------------------------------------------------------------------
// N-API helpers

inline napi_value throwError(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

// A typed array's data and byte length (4- and 1-byte element types only).
inline bool typedArrayBytes(napi_env env, napi_value v, void** data, size_t* bytes) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) return false;
  size_t el = type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array ? 4
              : type == napi_uint8_array || type == napi_int8_array ? 1 : 0;
  if (el == 0) return false;
  *bytes = length * el;
  return true;
}

// A typed array of exactly this type, or false.
template <typename T>
bool typedArrayOf(napi_env env, napi_value v, napi_typedarray_type want, T** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  size_t offset;
  napi_value ab;
  void* d;
  if (napi_get_typedarray_info(env, v, &type, length, &d, &ab, &offset) != napi_ok || type != want) return false;
  *data = static_cast<T*>(d);
  return true;
}

// The generator graph's exports (dnnl_graph.cc), added to the module by colorgan_dnnl.cc.
napi_value GraphCreate(napi_env env, napi_callback_info info);
napi_value GraphRun(napi_env env, napi_callback_info info);
napi_value GraphFree(napi_env env, napi_callback_info info);

}  // namespace colorgan
