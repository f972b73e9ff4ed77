// seqsch fused inference kernels on the tfjs wasm heap: RMSNorm (optionally after a residual add),
// SiLU(gate)·up, one decode-attention step against an in-place KV cache (rotary on q and k,
// this step's k/v written into the cache, q·Kᵀ·scale + padding bias, softmax, ·V; GQA aware), and a whole
// decoder layer in one call (those kernels and its seven products back to back, intermediates off the heap).
//
// Like blas.cc, JS hands over the heap's ArrayBuffer and writes byte offsets and sizes into a
// Float64Array registered once (setFusedParams); the slots of each op are listed below and mirrored
// in src/kernels/fused.ts. The addon allocates nothing on the heap and keeps no pointer into it
// between calls. It decides no shapes or fallbacks and has no gradients: inference only.
#include <napi.h>
#include "fused-kernels.h"
#include "gemm.h"
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
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
// DecoderLayer: the attention slots above (q/k/v/out unused: its own scratch), then these, from slot 32.
enum LayerParam {
  L_X = 32, L_OUT,                          // (N, d) input and output rows
  L_W_IN, L_W_POST,                         // (d) norm weights
  L_WQ, L_WK, L_WV, L_WO,                   // (d, nH·hd), (d, nKv·hd) ×2, (nH·hd, d)
  L_WG, L_WU, L_WD,                         // (d, I) ×2, (I, d)
  L_D, L_I, L_EPS,
  L_THR,                                    // 7 slots: threads of the q, k, v, o, gate, up, down products
  L_LAST_ONLY = L_THR + 7,                  // 1: output only each batch row's last position, (B, d)
  L_COUNT
};
constexpr int F_COUNT = 64;
static_assert((int)A_COUNT <= (int)L_X && (int)L_COUNT <= F_COUNT, "parameter block too small");

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
  rmsNormRows(reinterpret_cast<const float*>(heap + xo), res ? reinterpret_cast<const float*>(heap + ro) : nullptr, w,
              reinterpret_cast<float*>(heap + oo), res ? reinterpret_cast<float*>(heap + so) : nullptr, 0, rows, d, eps);
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

/**
 * Reads the attention slots other than q/k/v/out into `a` (caches and mask included) and checks them against the
 * heap; false, with a RangeError thrown, when something is off. `cacheGiven`: A_KCACHE ≥ 0 (else the caller
 * supplies scratch caches of T rows and past must be 0).
 */
bool readAttention(const Napi::CallbackInfo& info, const char* name, const double* p, uint8_t* heap, int64_t bytes, Attn& a, bool* cacheGiven) {
  a.B = (int64_t)p[A_B];
  a.T = (int64_t)p[A_T];
  a.nH = (int64_t)p[A_NH];
  a.nKv = (int64_t)p[A_NKV];
  a.hd = (int64_t)p[A_HD];
  a.posB = (int64_t)p[A_POS_B];
  a.cap = (int64_t)p[A_CAP];
  a.past = (int64_t)p[A_PAST];
  a.maskLen = (int64_t)p[A_MASK_LEN];
  a.scale = (float)p[A_SCALE];
  const int64_t ropeRows = (int64_t)p[A_ROPE_ROWS];
  const int64_t co = (int64_t)p[A_COS], so = (int64_t)p[A_SIN], po = (int64_t)p[A_POS], kco = (int64_t)p[A_KCACHE], vco = (int64_t)p[A_VCACHE];
  const int64_t mo = (int64_t)p[A_MASK];
  const int64_t rso = (int64_t)p[A_ROW_SLOT], rpo = (int64_t)p[A_ROW_PAST];
  const int64_t hd = a.hd, B = a.B, T = a.T;
  const int64_t R = rso >= 0 ? (int64_t)p[A_CACHE_ROWS] : B;  // rows the caches hold
  *cacheGiven = kco >= 0;
  const bool shapesOk = B >= 1 && T >= 1 && a.nKv >= 1 && a.nH >= a.nKv && a.nH % a.nKv == 0 && hd >= 2 && hd % 2 == 0 && a.past >= 0 &&
                        a.cap >= a.past + T && (a.posB == 1 || a.posB == B) && ropeRows >= 1 && (mo < 0 || a.maskLen == a.past + T) &&
                        (*cacheGiven || (a.past == 0 && rso < 0 && rpo < 0));
  if (!shapesOk || !inHeap(co, ropeRows * hd, bytes) || !inHeap(so, ropeRows * hd, bytes) || !inHeap(po, a.posB * T, bytes) ||
      (*cacheGiven && (!inHeap(kco, R * a.nKv * a.cap * hd, bytes) || !inHeap(vco, R * a.nKv * a.cap * hd, bytes))) ||
      (rso >= 0 && !inHeap(rso, B, bytes)) || (rpo >= 0 && !inHeap(rpo, B, bytes)) ||
      (mo >= 0 && !inHeap(mo, B * a.maskLen, bytes))) {
    rangeError(info, name);
    return false;
  }
  a.cosT = reinterpret_cast<const float*>(heap + co);
  a.sinT = reinterpret_cast<const float*>(heap + so);
  a.pos = reinterpret_cast<const int32_t*>(heap + po);
  for (int64_t i = 0; i < a.posB * T; i++) {
    if (a.pos[i] < 0 || a.pos[i] >= ropeRows) {
      Napi::RangeError::New(info.Env(), std::string(name) + ": position id " + std::to_string(a.pos[i]) + " outside the rotary table of " +
                                            std::to_string(ropeRows) + " rows").ThrowAsJavaScriptException();
      return false;
    }
  }
  if (rso >= 0 || rpo >= 0) {
    // every batch row on its own cache row inside the caches, with at most `past` positions cached
    const int32_t* slot = rso >= 0 ? reinterpret_cast<const int32_t*>(heap + rso) : nullptr;
    const int32_t* rp = rpo >= 0 ? reinterpret_cast<const int32_t*>(heap + rpo) : nullptr;
    for (int64_t b = 0; b < B; b++) {
      if ((slot != nullptr && (slot[b] < 0 || slot[b] >= R)) || (rp != nullptr && (rp[b] < 0 || rp[b] > a.past))) {
        Napi::RangeError::New(info.Env(), std::string(name) + ": batch row " + std::to_string(b) + " has cache row " + std::to_string(slot ? slot[b] : b) +
                                              " (of " + std::to_string(R) + ") or cached positions " + std::to_string(rp ? rp[b] : a.past) +
                                              " (at most " + std::to_string(a.past) + ")").ThrowAsJavaScriptException();
        return false;
      }
    }
    a.rowSlot = slot;
    a.rowPast = rp;
  }
  a.kc = *cacheGiven ? reinterpret_cast<float*>(heap + kco) : nullptr;
  a.vc = *cacheGiven ? reinterpret_cast<float*>(heap + vco) : nullptr;
  const bool maskFloat = p[A_MASK_FLOAT] != 0;
  a.maskI = mo >= 0 && !maskFloat ? reinterpret_cast<const int32_t*>(heap + mo) : nullptr;
  a.maskF = mo >= 0 && maskFloat ? reinterpret_cast<const float*>(heap + mo) : nullptr;
  return true;
}

void DecodeAttention(const Napi::CallbackInfo& info) {
  uint8_t* heap;
  int64_t bytes;
  if (!begin(info, "decodeAttention", &heap, &bytes)) return;
  const double* p = params;
  Attn a;
  bool cacheGiven;
  if (!readAttention(info, "decodeAttention", p, heap, bytes, a, &cacheGiven)) return;
  a.qStride = (int64_t)p[A_Q_STRIDE];
  a.kStride = (int64_t)p[A_K_STRIDE];
  a.vStride = (int64_t)p[A_V_STRIDE];
  const int64_t qo = (int64_t)p[A_Q], ko = (int64_t)p[A_K], vo = (int64_t)p[A_V], oo = (int64_t)p[A_OUT];
  const int64_t hd = a.hd, N = a.B * a.T;  // N: q/k/v/out rows
  if (!cacheGiven || a.qStride < a.nH * hd || a.kStride < a.nKv * hd || a.vStride < a.nKv * hd || !inHeap(qo, (N - 1) * a.qStride + a.nH * hd, bytes) ||
      !inHeap(ko, (N - 1) * a.kStride + a.nKv * hd, bytes) || !inHeap(vo, (N - 1) * a.vStride + a.nKv * hd, bytes) || !inHeap(oo, N * a.nH * hd, bytes)) {
    return rangeError(info, "decodeAttention");
  }
  a.q = reinterpret_cast<const float*>(heap + qo);
  a.k = reinterpret_cast<const float*>(heap + ko);
  a.v = reinterpret_cast<const float*>(heap + vo);
  a.out = reinterpret_cast<float*>(heap + oo);
  attention(a, (int)p[A_THREADS]);
}

// ---- the decoder layer in one call

/**
 * Scratch for the layer kernel's intermediates, off the wasm heap (tfjs never sees them), uninitialised. Kept
 * between calls, so a decode step allocates nothing and a prefill's layers share one block; a block above
 * kKeepFloats (a big prefill's) is given back at the next call that needs less.
 */
struct Scratch {
  std::unique_ptr<float[]> data;
  size_t size = 0;
  float* get(size_t need) {
    if (need > size || (size > kKeepFloats && need <= kKeepFloats)) {
      data.reset();  // free first: the old and the new block are never held together
      data.reset(new float[need]);
      size = need;
    }
    return data.get();
  }
  static constexpr size_t kKeepFloats = 8u << 20;  // 32 MB
} layerScratch;

// Where the layer kernel's time goes, summed over calls (layerProfile() reads and resets it): the elementwise
// phases (norms, residual adds), the q/k/v products, attention, o, gate/up, SiLU·up, down.
enum Phase { PH_NORM = 0, PH_QKV, PH_ATTN, PH_O, PH_GATE_UP, PH_SWIGLU, PH_DOWN, PH_COUNT };
const char* const kPhaseNames[PH_COUNT] = {"norms+adds", "q/k/v", "attention", "o", "gate/up", "SiLU·up", "down"};
double phaseSeconds[PH_COUNT] = {};
double layerCalls = 0;

struct LayerClock {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  LayerClock() { layerCalls++; }
  void lap(Phase ph) {
    const auto now = std::chrono::steady_clock::now();
    phaseSeconds[ph] += std::chrono::duration<double>(now - t).count();
    t = now;
  }
};

Napi::Value LayerProfile(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  for (int i = 0; i < PH_COUNT; i++) o.Set(kPhaseNames[i], Napi::Number::New(info.Env(), phaseSeconds[i]));
  o.Set("calls", Napi::Number::New(info.Env(), layerCalls));
  for (double& x : phaseSeconds) x = 0;
  layerCalls = 0;
  return o;
}

/**
 * One pre-norm LLaMA decoder layer for T new positions per batch row, x (N = B·T, d) → out (N, d):
 *   h = RMSNorm(x)·w_in;  q, k, v = h·Wq, h·Wk, h·Wv;  a = attention (rotary, cache write, mask, softmax, ·V);
 *   x1 = x + a·Wo;  h2 = RMSNorm(x1)·w_post;  out = x1 + (SiLU(h2·Wg)·(h2·Wu))·Wd.
 * Each step is the code the separate kernels run (the same products with the same thread counts, which JS
 * passes per product), so the output is bit-identical to the per-op path; what it saves is ~11 tfjs dispatches
 * and their heap tensors per layer. Weights are (in, out) row-major as src/model/llama.ts holds them.
 * lastOnly (a prefill's last layer when only the last position's logits are wanted, as llama.cpp does): keys and
 * values of all T positions go to the cache, the rest — q, attention, o, the MLP — runs for each batch row's last
 * position only, and out is (B, d). Those B rows equal the full layer's up to float rounding (products over B
 * instead of B·T rows are blocked differently); the cache rows are bit-identical.
 */
void DecoderLayer(const Napi::CallbackInfo& info) {
  uint8_t* heap;
  int64_t bytes;
  if (!begin(info, "decoderLayer", &heap, &bytes)) return;
  const double* p = params;
  Attn a;
  bool cacheGiven;
  if (!readAttention(info, "decoderLayer", p, heap, bytes, a, &cacheGiven)) return;
  const int64_t d = (int64_t)p[L_D], I = (int64_t)p[L_I], N = a.B * a.T, qW = a.nH * a.hd, kvW = a.nKv * a.hd;
  // lastOnly: keys/values of every position (the cache needs them), the rest of the layer for each row's last only
  const bool lastOnly = p[L_LAST_ONLY] != 0 && a.T > 1;
  const int64_t M = lastOnly ? a.B : N;  // rows of q, attention, o and the MLP; of the output
  const int64_t xo = (int64_t)p[L_X], oo = (int64_t)p[L_OUT], wIn = (int64_t)p[L_W_IN], wPost = (int64_t)p[L_W_POST];
  const int64_t wq = (int64_t)p[L_WQ], wk = (int64_t)p[L_WK], wv = (int64_t)p[L_WV], wo = (int64_t)p[L_WO];
  const int64_t wg = (int64_t)p[L_WG], wu = (int64_t)p[L_WU], wd = (int64_t)p[L_WD];
  // per-row cache rows (continuous batching) only on the full path: lastOnly's cacheWrite takes cache row = batch row
  if (d < 1 || I < 1 || (lastOnly && (!cacheGiven || a.rowSlot != nullptr || a.rowPast != nullptr)) || !inHeap(xo, N * d, bytes) || !inHeap(oo, M * d, bytes) || !inHeap(wIn, d, bytes) ||
      !inHeap(wPost, d, bytes) || !inHeap(wq, d * qW, bytes) || !inHeap(wk, d * kvW, bytes) || !inHeap(wv, d * kvW, bytes) ||
      !inHeap(wo, qW * d, bytes) || !inHeap(wg, d * I, bytes) || !inHeap(wu, d * I, bytes) || !inHeap(wd, I * d, bytes)) {
    return rangeError(info, "decoderLayer");
  }
  const auto F = [&](int64_t off) { return reinterpret_cast<float*>(heap + off); };
  const float eps = (float)p[L_EPS];
  const int rowThreads = (int)p[A_THREADS];
  // scratch: h (N, d) | q (N, qW) | k, v (N, kvW) | att (N, qW) | o (N, d) | g, u (N, I) | caches when none is given
  // | lastOnly: the last rows of x (B, d) and their position ids (B)
  const int64_t cacheFloats = cacheGiven ? 0 : 2 * a.B * a.nKv * a.T * a.hd;
  const size_t need = (size_t)(N * (2 * d + 2 * qW + 2 * kvW + 2 * I) + cacheFloats + (lastOnly ? a.B * (d + 1) : 0));
  float* h = layerScratch.get(need);
  float* q = h + N * d;
  float* k = q + N * qW;
  float* v = k + N * kvW;
  float* att = v + N * kvW;
  float* o = att + N * qW;
  float* g = o + N * d;
  float* u = g + N * I;
  float* tail = u + N * I;
  if (!cacheGiven) {
    a.kc = tail;
    a.vc = a.kc + a.B * a.nKv * a.T * a.hd;
    a.cap = a.T;
    tail = a.vc + a.B * a.nKv * a.T * a.hd;
  }
  const float* x = F(xo);
  float* out = F(oo);
  using seqsch_gemm::Gemm;
  // (rows, K)·(K, cols) with the thread count JS chose for it (slot L_THR + index)
  const auto mm = [&](int64_t rows, const float* A, int64_t K, int64_t woff, int64_t cols, float* C, int which) {
    seqsch_gemm::product(Gemm{false, false, rows, cols, K, A, F(woff), C, (int)K, (int)cols, (int)cols}, (int)p[L_THR + which]);
  };
  LayerClock clock;

  // ---- self-attention
  forRows(N, d, rowThreads, [&](int64_t r0, int64_t r1) { rmsNormRows(x, nullptr, F(wIn), h, nullptr, r0, r1, d, eps); });
  clock.lap(PH_NORM);
  mm(N, h, d, wk, kvW, k, 1);
  mm(N, h, d, wv, kvW, v, 2);
  a.k = k, a.v = v, a.out = att;
  a.qStride = qW, a.kStride = kvW, a.vStride = kvW;
  if (!lastOnly) {
    mm(N, h, d, wq, qW, q, 0);
    a.q = q;
    clock.lap(PH_QKV);
    attention(a, rowThreads);
  } else {
    // the last row of each batch row: its normed input and its query; positions 0 … T − 2 only go to the cache
    float* xl = tail;
    int32_t* posl = reinterpret_cast<int32_t*>(xl + a.B * d);
    for (int64_t b = 0; b < a.B; b++) {
      std::memcpy(xl + b * d, x + (b * a.T + a.T - 1) * d, sizeof(float) * d);
      std::memcpy(o + b * d, h + (b * a.T + a.T - 1) * d, sizeof(float) * d);
      posl[b] = a.pos[(a.posB == 1 ? 0 : b) * a.T + a.T - 1];
    }
    mm(a.B, o, d, wq, qW, q, 0);
    clock.lap(PH_QKV);
    cacheWrite(a, a.T - 1);
    Attn last = a;  // one new position per row, after past + T − 1 cached ones
    last.T = 1;
    last.past = a.past + a.T - 1;
    last.q = q;
    last.k = k + (a.T - 1) * kvW, last.v = v + (a.T - 1) * kvW;
    last.kStride = a.T * kvW, last.vStride = a.T * kvW;
    last.pos = posl, last.posB = a.B;
    attention(last, rowThreads);
    x = xl;
  }
  clock.lap(PH_ATTN);
  mm(M, att, qW, wo, d, o, 3);
  clock.lap(PH_O);
  // x1 = x + o goes to `out`, its norm to h
  forRows(M, d, rowThreads, [&](int64_t r0, int64_t r1) { rmsNormRows(x, o, F(wPost), h, out, r0, r1, d, eps); });
  clock.lap(PH_NORM);

  // ---- SwiGLU MLP; the activation overwrites the gate
  mm(M, h, d, wg, I, g, 4);
  mm(M, h, d, wu, I, u, 5);
  clock.lap(PH_GATE_UP);
  forRows(M, I, rowThreads, [&](int64_t r0, int64_t r1) {
    if (hasAvx2) swigluAvx2(g + r0 * I, I, u + r0 * I, I, g + r0 * I, r1 - r0, I);
    else swigluDefault(g + r0 * I, I, u + r0 * I, I, g + r0 * I, r1 - r0, I);
  });
  clock.lap(PH_SWIGLU);
  mm(M, g, I, wd, d, o, 6);
  clock.lap(PH_DOWN);
  forRows(M, d, rowThreads, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * d; i < r1 * d; i++) out[i] = out[i] + o[i];
  });
  clock.lap(PH_NORM);
}

}  // namespace

/** Adds the fused kernels to the addon's exports (called from blas.cc's Init). */
void RegisterFused(Napi::Env env, Napi::Object exports) {
  exports.Set("setFusedParams", Napi::Function::New(env, SetFusedParams));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("swiglu", Napi::Function::New(env, SwiGLU));
  exports.Set("decodeAttention", Napi::Function::New(env, DecodeAttention));
  exports.Set("decoderLayer", Napi::Function::New(env, DecoderLayer));
  exports.Set("layerProfile", Napi::Function::New(env, LayerProfile));
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows));
  exports.Set("fusedParamCount", Napi::Number::New(env, F_COUNT));
  exports.Set("attentionRowSlots", Napi::Boolean::New(env, true));  // A_ROW_SLOT / A_ROW_PAST are read
  exports.Set("fusedIsa", Napi::String::New(env, hasAvx2 ? "avx2+fma" : "baseline"));
}
