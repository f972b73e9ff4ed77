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
// DecodeModel: the attention and layer slots above (A_KCACHE/A_VCACHE and L_X … L_WD unused: per layer in its second
// argument), then these.
enum ModelParam {
  M_IDS = L_COUNT,                          // int32 (B) this step's token ids
  M_EMBED, M_VOCAB,                         // (V, d) embedding, V
  M_NORM, M_HEAD, M_HEAD_THR,               // (d) final norm weight, (d, V) head, the head product's threads
  M_LOGITS,                                 // (B, V) output
  M_LAYERS,                                 // number of layers
  M_COUNT
};
constexpr int M_PER_LAYER = 11;  // per layer: K cache, V cache, then the nine weights in LayerWeights' order
constexpr int F_COUNT = 64;
static_assert((int)A_COUNT <= (int)L_X && (int)M_COUNT <= F_COUNT, "parameter block too small");

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
  a.rowSlot = nullptr;  // a reused Attn (decodeModel keeps its per-layer ones) must not keep an earlier call's rows
  a.rowPast = nullptr;
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
/** One layer's weights, (in, out) row-major as src/model/llama.ts holds them. */
struct LayerWeights {
  const float *in, *post, *q, *k, *v, *o, *g, *u, *d;
};

/** The layer's weight offsets (slots L_W_IN … L_WD, or a decodeModel layer block) inside the heap, as pointers. */
bool readLayerWeights(const double* off, uint8_t* heap, int64_t bytes, int64_t d, int64_t I, int64_t qW, int64_t kvW, LayerWeights& w) {
  // off: inputNorm, postNorm, q, k, v, o, gate, up, down
  const int64_t counts[9] = {d, d, d * qW, d * kvW, d * kvW, qW * d, d * I, d * I, I * d};
  const float** dst[9] = {&w.in, &w.post, &w.q, &w.k, &w.v, &w.o, &w.g, &w.u, &w.d};
  for (int i = 0; i < 9; i++) {
    if (!inHeap((int64_t)off[i], counts[i], bytes)) return false;
    *dst[i] = reinterpret_cast<const float*>(heap + (int64_t)off[i]);
  }
  return true;
}

/**
 * The layer's arithmetic (DecoderLayer's doc below), x (N, d) → out (M, d); x and out may live off the heap (the
 * whole-step kernel's residual stream). `a` is the checked attention, `p` supplies the product thread counts.
 */
void layerCompute(const double* p, Attn a, bool cacheGiven, int64_t d, int64_t I, float eps, bool lastOnly, const float* x, float* out,
                  const LayerWeights& w) {
  const int64_t N = a.B * a.T, qW = a.nH * a.hd, kvW = a.nKv * a.hd;
  const int64_t M = lastOnly ? a.B : N;  // rows of q, attention, o and the MLP; of the output
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
  using seqsch_gemm::Gemm;
  // (rows, K)·(K, cols) with the thread count JS chose for it (slot L_THR + index)
  const auto mm = [&](int64_t rows, const float* A, int64_t K, const float* W, int64_t cols, float* C, int which) {
    seqsch_gemm::product(Gemm{false, false, rows, cols, K, A, W, C, (int)K, (int)cols, (int)cols}, (int)p[L_THR + which]);
  };
  LayerClock clock;

  // ---- self-attention
  forRows(N, d, rowThreads, [&](int64_t r0, int64_t r1) { rmsNormRows(x, nullptr, w.in, h, nullptr, r0, r1, d, eps); });
  clock.lap(PH_NORM);
  mm(N, h, d, w.k, kvW, k, 1);
  mm(N, h, d, w.v, kvW, v, 2);
  a.k = k, a.v = v, a.out = att;
  a.qStride = qW, a.kStride = kvW, a.vStride = kvW;
  if (!lastOnly) {
    mm(N, h, d, w.q, qW, q, 0);
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
    mm(a.B, o, d, w.q, qW, q, 0);
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
  mm(M, att, qW, w.o, d, o, 3);
  clock.lap(PH_O);
  // x1 = x + o goes to `out`, its norm to h
  forRows(M, d, rowThreads, [&](int64_t r0, int64_t r1) { rmsNormRows(x, o, w.post, h, out, r0, r1, d, eps); });
  clock.lap(PH_NORM);

  // ---- SwiGLU MLP; the activation overwrites the gate
  mm(M, h, d, w.g, I, g, 4);
  mm(M, h, d, w.u, I, u, 5);
  clock.lap(PH_GATE_UP);
  forRows(M, I, rowThreads, [&](int64_t r0, int64_t r1) {
    if (hasAvx2) swigluAvx2(g + r0 * I, I, u + r0 * I, I, g + r0 * I, r1 - r0, I);
    else swigluDefault(g + r0 * I, I, u + r0 * I, I, g + r0 * I, r1 - r0, I);
  });
  clock.lap(PH_SWIGLU);
  mm(M, g, I, w.d, d, o, 6);
  clock.lap(PH_DOWN);
  forRows(M, d, rowThreads, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * d; i < r1 * d; i++) out[i] = out[i] + o[i];
  });
  clock.lap(PH_NORM);
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
  const int64_t M = lastOnly ? a.B : N;
  const int64_t xo = (int64_t)p[L_X], oo = (int64_t)p[L_OUT];
  LayerWeights w;
  // per-row cache rows (continuous batching) only on the full path: lastOnly's cacheWrite takes cache row = batch row
  if (d < 1 || I < 1 || (lastOnly && (!cacheGiven || a.rowSlot != nullptr || a.rowPast != nullptr)) || !inHeap(xo, N * d, bytes) ||
      !inHeap(oo, M * d, bytes) || !readLayerWeights(p + L_W_IN, heap, bytes, d, I, qW, kvW, w)) {
    return rangeError(info, "decoderLayer");
  }
  layerCompute(p, a, cacheGiven, d, I, (float)p[L_EPS], lastOnly, reinterpret_cast<const float*>(heap + xo),
               reinterpret_cast<float*>(heap + oo), w);
}

// ---- a whole decode step in one call

/** Residual-stream buffers of decodeModel, off the heap, kept between calls (a decode step allocates nothing). */
struct StepScratch {
  std::vector<float> data;
  float* get(size_t need) {
    if (data.size() < need) data.resize(need);
    return data.data();
  }
} stepScratch;

/**
 * One decode step of the whole model (T = 1 new position per row) in one call, ids (B) → logits (B, V):
 *   x = embed[ids];  every layer as DecoderLayer (its cache written in place);  logits = RMSNorm(x)·w_norm · head.
 * The shared slots carry the attention (positions, mask, past, capacity, row slots: the same for every layer), the
 * layer sizes and product thread counts (L_D, L_I, L_EPS, L_THR) and the M_* slots; info[1], a Float64Array of
 * 11 entries per layer, holds each layer's cache and weight offsets (K cache, V cache, then LayerWeights' order).
 * The same code as the embedding gather, L layer calls, the final norm and the head's matMul, so the logits are
 * bit-identical to the per-layer path; what it saves is every tfjs dispatch of the step but one (~16 at 4 layers).
 * Returns -1, or the position of the first id outside [0, V) (nothing is computed then; JS throws).
 */
Napi::Value DecodeModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* heap;
  int64_t bytes;
  if (!begin(info, "decodeModel", &heap, &bytes)) return env.Undefined();
  const double* p = params;
  const int64_t L = (int64_t)p[M_LAYERS];
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      L < 1 || (int64_t)info[1].As<Napi::Float64Array>().ElementLength() < L * M_PER_LAYER) {
    Napi::TypeError::New(env, "decodeModel(heap, layers: Float64Array of 11 offsets per layer) expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double* lp = info[1].As<Napi::Float64Array>().Data();
  double slots[F_COUNT];  // the shared slots with each layer's caches put in
  std::memcpy(slots, p, sizeof slots);
  const int64_t d = (int64_t)p[L_D], I = (int64_t)p[L_I], V = (int64_t)p[M_VOCAB];
  const int64_t qW = (int64_t)(p[A_NH] * p[A_HD]), kvW = (int64_t)(p[A_NKV] * p[A_HD]);
  // every layer's caches and weights inside the heap before anything is written
  static std::vector<LayerWeights> ws;  // kept between calls: a decode step allocates nothing
  static std::vector<Attn> as;
  ws.resize((size_t)L), as.resize((size_t)L);
  bool cacheGiven;
  for (int64_t l = 0; l < L; l++) {
    slots[A_KCACHE] = lp[l * M_PER_LAYER], slots[A_VCACHE] = lp[l * M_PER_LAYER + 1];
    as[l] = Attn{};  // nothing of the previous call's step survives (its row slots pointed into tensors since freed)
    if (!readAttention(info, "decodeModel", slots, heap, bytes, as[l], &cacheGiven)) return env.Undefined();
    if (!cacheGiven || as[l].T != 1 || d < 1 || I < 1 || !readLayerWeights(lp + l * M_PER_LAYER + 2, heap, bytes, d, I, qW, kvW, ws[l])) {
      rangeError(info, "decodeModel");
      return env.Undefined();
    }
  }
  const int64_t B = as[0].B;
  const int64_t io = (int64_t)p[M_IDS], eo = (int64_t)p[M_EMBED], no = (int64_t)p[M_NORM], ho = (int64_t)p[M_HEAD], lo = (int64_t)p[M_LOGITS];
  if (V < 1 || !inHeap(io, B, bytes) || !inHeap(eo, V * d, bytes) || !inHeap(no, d, bytes) || !inHeap(ho, d * V, bytes) ||
      !inHeap(lo, B * V, bytes)) {
    rangeError(info, "decodeModel");
    return env.Undefined();
  }
  const int32_t* ids = reinterpret_cast<const int32_t*>(heap + io);
  for (int64_t b = 0; b < B; b++)
    if (ids[b] < 0 || ids[b] >= V) return Napi::Number::New(env, (double)b);
  const float* embed = reinterpret_cast<const float*>(heap + eo);
  float* x = stepScratch.get((size_t)(3 * B * d));  // x | y (ping-pong residual stream) | normed
  float* y = x + B * d;
  float* hn = y + B * d;
  for (int64_t b = 0; b < B; b++) std::memcpy(x + b * d, embed + (int64_t)ids[b] * d, sizeof(float) * d);
  const float eps = (float)p[L_EPS];
  for (int64_t l = 0; l < L; l++) {
    layerCompute(p, as[l], true, d, I, eps, false, x, y, ws[l]);
    std::swap(x, y);
  }
  forRows(B, d, (int)p[A_THREADS], [&](int64_t r0, int64_t r1) {
    rmsNormRows(x, nullptr, reinterpret_cast<const float*>(heap + no), hn, nullptr, r0, r1, d, eps);
  });
  using seqsch_gemm::Gemm;
  seqsch_gemm::product(Gemm{false, false, B, V, d, hn, reinterpret_cast<const float*>(heap + ho), reinterpret_cast<float*>(heap + lo),
                            (int)d, (int)V, (int)V},
                       (int)p[M_HEAD_THR]);
  return Napi::Number::New(env, -1);
}

}  // namespace

/** Adds the fused kernels to the addon's exports (called from blas.cc's Init). */
void RegisterFused(Napi::Env env, Napi::Object exports) {
  exports.Set("setFusedParams", Napi::Function::New(env, SetFusedParams));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("swiglu", Napi::Function::New(env, SwiGLU));
  exports.Set("decodeAttention", Napi::Function::New(env, DecodeAttention));
  exports.Set("decoderLayer", Napi::Function::New(env, DecoderLayer));
  exports.Set("decodeModel", Napi::Function::New(env, DecodeModel));
  exports.Set("layerProfile", Napi::Function::New(env, LayerProfile));
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows));
  exports.Set("fusedParamCount", Napi::Number::New(env, F_COUNT));
  exports.Set("attentionRowSlots", Napi::Boolean::New(env, true));  // A_ROW_SLOT / A_ROW_PAST are read
  exports.Set("fusedIsa", Napi::String::New(env, hasAvx2 ? "avx2+fma" : "baseline"));
}
