// seqsch fused inference kernels on the tfjs wasm heap: RMSNorm (optionally after a residual add),
// SiLU(gate)·up, and one decode-attention step against an in-place KV cache (rotary on q and k,
// this step's k/v written into the cache, q·Kᵀ·scale + padding bias, softmax, ·V; GQA aware).
//
// Like blas.cc, JS hands over the heap's ArrayBuffer and writes byte offsets and sizes into a
// Float64Array registered once (setFusedParams); the slots of each op are listed below and mirrored
// in src/kernels/fused.ts. The addon allocates nothing on the heap and keeps no pointer into it
// between calls. It decides no shapes or fallbacks and has no gradients: inference only.
#include <napi.h>
#include "fused-kernels.h"
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

// ---- parameter slots (see src/kernels/fused.ts, F_*)
// RmsNorm: out = (x [+ res]) / sqrt(mean((x [+ res])²) + eps) · w, and sum = x + res when res is given.
enum NormParam { N_X = 0, N_RES, N_W, N_OUT, N_SUM, N_ROWS, N_D, N_EPS };
// SwiGLU: out = gate·sigmoid(gate)·up, gate/up rows with their own strides (a fused gate|up output).
enum GluParam { G_GATE = 0, G_GATE_STRIDE, G_UP, G_UP_STRIDE, G_OUT, G_ROWS, G_I };
// Attention: T new positions per batch row (T = 1: a decode step; T > 1: a prefill, causal within the T).
// GatherRows: out[i] = x[idx[i]] for rows of rowFloats 4-byte elements (GatherV2, axis 0, batchDims 0).
enum GatherParam { R_X = 0, R_ROWS, R_ROW_FLOATS, R_IDX, R_N, R_OUT };
enum AttnParam {
  A_B = 0, A_NH, A_NKV, A_HD,
  A_Q, A_Q_STRIDE, A_K, A_K_STRIDE, A_V, A_V_STRIDE,  // (B, ·) rows; stride in floats between rows
  A_COS, A_SIN, A_ROPE_ROWS,                          // (P, hd) rotary tables
  A_POS, A_POS_B,                                     // int32 position ids, B entries or 1 shared
  A_KCACHE, A_VCACHE, A_CAP, A_PAST,                  // (B, nKv, cap, hd) caches, rows [0, past) filled
  A_MASK, A_MASK_LEN, A_MASK_FLOAT,                   // (B, maskLen) 1 = real, 0 = padding; -1: none
  A_OUT, A_SCALE,                                     // (B, nH·hd)
  A_THREADS,                                          // threads that may share the work
  A_T,                                                // new positions per row; q/k/v/out rows are b·T + t, pos posB·T entries
  A_ROW_SLOT, A_ROW_PAST, A_CACHE_ROWS,               // optional (-1: off) int32 (B) cache row and cached positions of each
                                                      // batch row (continuous batching); the caches then hold cacheRows rows
  A_COUNT
};
constexpr int F_COUNT = 32;
static_assert(A_COUNT <= F_COUNT, "parameter block too small");

double* params = nullptr;
Napi::Reference<Napi::Float64Array> paramsRef;

using namespace seqsch_fused;

// ---- N-API plumbing

bool begin(const Napi::CallbackInfo& info, const char* name, uint8_t** heap, int64_t* heapBytes) {
  Napi::Env env = info.Env();
  if (params == nullptr) {
    Napi::Error::New(env, std::string(name) + ": call setFusedParams first").ThrowAsJavaScriptException();
    return false;
  }
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, std::string(name) + "(heap: ArrayBuffer) expected").ThrowAsJavaScriptException();
    return false;
  }
  Napi::ArrayBuffer buf = info[0].As<Napi::ArrayBuffer>();
  *heap = static_cast<uint8_t*>(buf.Data());
  *heapBytes = static_cast<int64_t>(buf.ByteLength());
  return true;
}

/** An operand of `count` 4-byte elements at byte offset `off` lies inside the heap and is aligned. */
inline bool inHeap(int64_t off, int64_t count, int64_t heapBytes) {
  return off >= 0 && off % 4 == 0 && count >= 0 && off + 4 * count <= heapBytes;
}

void rangeError(const Napi::CallbackInfo& info, const char* name) {
  Napi::RangeError::New(info.Env(), std::string(name) + ": operand outside the heap, misaligned or bad size").ThrowAsJavaScriptException();
}

void SetFusedParams(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < F_COUNT) {
    Napi::TypeError::New(env, "setFusedParams(params: Float64Array of fusedParamCount) expected").ThrowAsJavaScriptException();
    return;
  }
  Napi::Float64Array p = info[0].As<Napi::Float64Array>();
  paramsRef = Napi::Persistent(p);
  params = p.Data();
}

void RmsNorm(const Napi::CallbackInfo& info) {
  uint8_t* heap;
  int64_t bytes;
  if (!begin(info, "rmsNorm", &heap, &bytes)) return;
  const double* p = params;
  const int64_t rows = (int64_t)p[N_ROWS], d = (int64_t)p[N_D];
  const int64_t xo = (int64_t)p[N_X], ro = (int64_t)p[N_RES], wo = (int64_t)p[N_W], oo = (int64_t)p[N_OUT], so = (int64_t)p[N_SUM];
  const bool res = ro >= 0;
  if (rows < 0 || d < 1 || !inHeap(xo, rows * d, bytes) || !inHeap(wo, d, bytes) || !inHeap(oo, rows * d, bytes) ||
      (res && (!inHeap(ro, rows * d, bytes) || !inHeap(so, rows * d, bytes)))) {
    return rangeError(info, "rmsNorm");
  }
  const float eps = (float)p[N_EPS];
  const float* w = reinterpret_cast<const float*>(heap + wo);
  for (int64_t r = 0; r < rows; r++) {
    const float* x = reinterpret_cast<const float*>(heap + xo) + r * d;
    float* o = reinterpret_cast<float*>(heap + oo) + r * d;
    if (res) {
      const float* y = reinterpret_cast<const float*>(heap + ro) + r * d;
      float* s = reinterpret_cast<float*>(heap + so) + r * d;
      for (int64_t i = 0; i < d; i++) s[i] = x[i] + y[i];
      x = s;
    }
    double ss = 0;  // mean of squares in double: d ≤ a few thousand, one rounding at the end
    for (int64_t i = 0; i < d; i++) ss += (double)x[i] * x[i];
    const float inv = (float)(1.0 / std::sqrt((double)(float)(ss / d) + eps));
    for (int64_t i = 0; i < d; i++) o[i] = (x[i] * inv) * w[i];
  }
}

void SwiGLU(const Napi::CallbackInfo& info) {
  uint8_t* heap;
  int64_t bytes;
  if (!begin(info, "swiglu", &heap, &bytes)) return;
  const double* p = params;
  const int64_t rows = (int64_t)p[G_ROWS], I = (int64_t)p[G_I], gs = (int64_t)p[G_GATE_STRIDE], us = (int64_t)p[G_UP_STRIDE];
  const int64_t go = (int64_t)p[G_GATE], uo = (int64_t)p[G_UP], oo = (int64_t)p[G_OUT];
  if (rows < 1 || I < 1 || gs < I || us < I || !inHeap(go, (rows - 1) * gs + I, bytes) || !inHeap(uo, (rows - 1) * us + I, bytes) ||
      !inHeap(oo, rows * I, bytes)) {
    return rangeError(info, "swiglu");
  }
  const float* g = reinterpret_cast<const float*>(heap + go);
  const float* u = reinterpret_cast<const float*>(heap + uo);
  float* o = reinterpret_cast<float*>(heap + oo);
  if (hasAvx2) swigluAvx2(g, gs, u, us, o, rows, I);
  else swigluDefault(g, gs, u, us, o, rows, I);
}

/**
 * Copies rows x[idx[i]] → out[i]; returns -1, or the position in idx of the first index outside
 * [0, rows) (nothing is guaranteed written then; JS throws tfjs's message).
 */
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  uint8_t* heap;
  int64_t bytes;
  if (!begin(info, "gatherRows", &heap, &bytes)) return info.Env().Undefined();
  const double* p = params;
  const int64_t rows = (int64_t)p[R_ROWS], rf = (int64_t)p[R_ROW_FLOATS], n = (int64_t)p[R_N];
  const int64_t xo = (int64_t)p[R_X], io = (int64_t)p[R_IDX], oo = (int64_t)p[R_OUT];
  if (rows < 0 || rf < 0 || n < 0 || !inHeap(xo, rows * rf, bytes) || !inHeap(io, n, bytes) || !inHeap(oo, n * rf, bytes)) {
    rangeError(info, "gatherRows");
    return info.Env().Undefined();
  }
  const int32_t* idx = reinterpret_cast<const int32_t*>(heap + io);
  for (int64_t i = 0; i < n; i++) {
    if (idx[i] < 0 || idx[i] >= rows) return Napi::Number::New(info.Env(), (double)i);
  }
  const uint8_t* x = heap + xo;
  uint8_t* out = heap + oo;
  const size_t rowBytes = 4 * (size_t)rf;
  for (int64_t i = 0; i < n; i++) std::memcpy(out + i * rowBytes, x + (int64_t)idx[i] * rowBytes, rowBytes);
  return Napi::Number::New(info.Env(), -1);
}

void DecodeAttention(const Napi::CallbackInfo& info) {
  uint8_t* heap;
  int64_t bytes;
  if (!begin(info, "decodeAttention", &heap, &bytes)) return;
  const double* p = params;
  Attn a;
  a.B = (int64_t)p[A_B];
  a.T = (int64_t)p[A_T];
  a.nH = (int64_t)p[A_NH];
  a.nKv = (int64_t)p[A_NKV];
  a.hd = (int64_t)p[A_HD];
  a.qStride = (int64_t)p[A_Q_STRIDE];
  a.kStride = (int64_t)p[A_K_STRIDE];
  a.vStride = (int64_t)p[A_V_STRIDE];
  a.posB = (int64_t)p[A_POS_B];
  a.cap = (int64_t)p[A_CAP];
  a.past = (int64_t)p[A_PAST];
  a.maskLen = (int64_t)p[A_MASK_LEN];
  a.scale = (float)p[A_SCALE];
  const int64_t ropeRows = (int64_t)p[A_ROPE_ROWS];
  const int64_t qo = (int64_t)p[A_Q], ko = (int64_t)p[A_K], vo = (int64_t)p[A_V], co = (int64_t)p[A_COS], so = (int64_t)p[A_SIN];
  const int64_t po = (int64_t)p[A_POS], kco = (int64_t)p[A_KCACHE], vco = (int64_t)p[A_VCACHE], mo = (int64_t)p[A_MASK];
  const int64_t oo = (int64_t)p[A_OUT];
  const int64_t rso = (int64_t)p[A_ROW_SLOT], rpo = (int64_t)p[A_ROW_PAST];
  const int64_t hd = a.hd, B = a.B, T = a.T, N = a.B * a.T;  // N: q/k/v/out rows
  const int64_t R = rso >= 0 ? (int64_t)p[A_CACHE_ROWS] : B;  // rows the caches hold
  const bool shapesOk = B >= 1 && T >= 1 && a.nKv >= 1 && a.nH >= a.nKv && a.nH % a.nKv == 0 && hd >= 2 && hd % 2 == 0 && a.past >= 0 &&
                        a.cap >= a.past + T && (a.posB == 1 || a.posB == B) && a.qStride >= a.nH * hd && a.kStride >= a.nKv * hd &&
                        a.vStride >= a.nKv * hd && ropeRows >= 1 && (mo < 0 || a.maskLen == a.past + T);
  if (!shapesOk || !inHeap(qo, (N - 1) * a.qStride + a.nH * hd, bytes) || !inHeap(ko, (N - 1) * a.kStride + a.nKv * hd, bytes) ||
      !inHeap(vo, (N - 1) * a.vStride + a.nKv * hd, bytes) || !inHeap(co, ropeRows * hd, bytes) || !inHeap(so, ropeRows * hd, bytes) ||
      !inHeap(po, a.posB * T, bytes) || !inHeap(kco, R * a.nKv * a.cap * hd, bytes) || !inHeap(vco, R * a.nKv * a.cap * hd, bytes) ||
      (rso >= 0 && !inHeap(rso, B, bytes)) || (rpo >= 0 && !inHeap(rpo, B, bytes)) ||
      (mo >= 0 && !inHeap(mo, B * a.maskLen, bytes)) || !inHeap(oo, N * a.nH * hd, bytes)) {
    return rangeError(info, "decodeAttention");
  }
  a.q = reinterpret_cast<const float*>(heap + qo);
  a.k = reinterpret_cast<const float*>(heap + ko);
  a.v = reinterpret_cast<const float*>(heap + vo);
  a.cosT = reinterpret_cast<const float*>(heap + co);
  a.sinT = reinterpret_cast<const float*>(heap + so);
  a.pos = reinterpret_cast<const int32_t*>(heap + po);
  for (int64_t i = 0; i < a.posB * T; i++) {
    if (a.pos[i] < 0 || a.pos[i] >= ropeRows) {
      Napi::RangeError::New(info.Env(), "decodeAttention: position id " + std::to_string(a.pos[i]) + " outside the rotary table of " +
                                            std::to_string(ropeRows) + " rows").ThrowAsJavaScriptException();
      return;
    }
  }
  if (rso >= 0 || rpo >= 0) {
    // every batch row on its own cache row inside the caches, with at most `past` positions cached
    const int32_t* slot = rso >= 0 ? reinterpret_cast<const int32_t*>(heap + rso) : nullptr;
    const int32_t* rp = rpo >= 0 ? reinterpret_cast<const int32_t*>(heap + rpo) : nullptr;
    for (int64_t b = 0; b < B; b++) {
      if ((slot != nullptr && (slot[b] < 0 || slot[b] >= R)) || (rp != nullptr && (rp[b] < 0 || rp[b] > a.past))) {
        Napi::RangeError::New(info.Env(), "decodeAttention: batch row " + std::to_string(b) + " has cache row " + std::to_string(slot ? slot[b] : b) +
                                              " (of " + std::to_string(R) + ") or cached positions " + std::to_string(rp ? rp[b] : a.past) +
                                              " (at most " + std::to_string(a.past) + ")").ThrowAsJavaScriptException();
        return;
      }
    }
    a.rowSlot = slot;
    a.rowPast = rp;
  }
  a.kc = reinterpret_cast<float*>(heap + kco);
  a.vc = reinterpret_cast<float*>(heap + vco);
  a.out = reinterpret_cast<float*>(heap + oo);
  const bool maskFloat = p[A_MASK_FLOAT] != 0;
  a.maskI = mo >= 0 && !maskFloat ? reinterpret_cast<const int32_t*>(heap + mo) : nullptr;
  a.maskF = mo >= 0 && maskFloat ? reinterpret_cast<const float*>(heap + mo) : nullptr;
  attention(a, (int)p[A_THREADS]);
}

}  // namespace

/** Adds the fused kernels to the addon's exports (called from blas.cc's Init). */
void RegisterFused(Napi::Env env, Napi::Object exports) {
  exports.Set("setFusedParams", Napi::Function::New(env, SetFusedParams));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("swiglu", Napi::Function::New(env, SwiGLU));
  exports.Set("decodeAttention", Napi::Function::New(env, DecodeAttention));
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows));
  exports.Set("fusedParamCount", Napi::Number::New(env, F_COUNT));
  exports.Set("attentionRowSlots", Napi::Boolean::New(env, true));  // A_ROW_SLOT / A_ROW_PAST are read
  exports.Set("fusedIsa", Napi::String::New(env, hasAvx2 ? "avx2+fma" : "baseline"));
}
