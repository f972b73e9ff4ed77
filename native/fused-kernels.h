// The compute loops of seqsch's fused inference kernels (native/fused.cc holds the N-API glue):
// RMSNorm, SiLU(gate)·up and decode attention on raw float pointers. Header-only so that a scratch
// micro-benchmark can include it without Node; nothing here allocates heap memory of tfjs or checks
// bounds (the glue does).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include "pool.h"

namespace seqsch_fused {

// AVX2+FMA loops are chosen at run time (no -march flags): the always-inlined bodies below are compiled twice.
#if defined(__x86_64__) && defined(__GNUC__)
inline bool detectAvx2() {
  __builtin_cpu_init();  // may run before libgcc's own constructor has filled the CPU model
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
const bool hasAvx2 = detectAvx2();
#else
const bool hasAvx2 = false;
#endif

/** Additive bias of a padding key, as src/model/attention.ts's MASKED. */
constexpr float MASKED = -1e9f;

// exp(x) for x ≤ 88 without a libm call, so loops over it vectorise: Cephes' expf polynomial after
// x = n·ln2 + r (|r| ≤ ln2/2), 2^n put into the exponent bits; max error ~2 ulp. x < -87.3 gives 0
// (as expf underflows), which is what softmax needs for masked scores.
inline float fastExp(float x) {
  const float xc = x < -87.3f ? -87.3f : (x > 88.0f ? 88.0f : x);
  // round-to-nearest of x·log2(e) by the 1.5·2^23 trick (no floorf call, which would not vectorise)
  const float magic = 12582912.0f;
  const float n = (xc * 1.44269504088896341f + magic) - magic;
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < -87.3f ? 0.0f : p * scale;
}

/** Σ a[i]·b[i] over n floats with 8 independent partial sums (vectorises without -ffast-math). */
inline float dot(const float* a, const float* b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/**
 * s[t] = q·K[t] for t < len, K (len, hd) row-major. Eight keys at a time, each with its own 8-lane
 * partial sums: eight independent chains keep the FMA units busy where one dot per key would wait
 * on its own additions.
 */
#if defined(__x86_64__) && defined(__GNUC__)
/**
 * scores()'s eight-key block in AVX2 intrinsics, bit-identical to it (the same fused multiply-adds per lane in
 * the same order; the eight lane sums of each key added in the same tree, done for eight keys at once after an
 * 8×8 transpose instead of key by key): 2.5–4.3× faster for hd 32–128 (measured on the project machine).
 */
__attribute__((target("avx2,fma"))) inline void scores8Avx2(const float* q, const float* K, int hd, float* s) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (int i = 0; i < hd; i += 8) {
    const __m256 qv = _mm256_loadu_ps(q + i);
    a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 0 * hd + i), a0);
    a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 1 * hd + i), a1);
    a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 2 * hd + i), a2);
    a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 3 * hd + i), a3);
    a4 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 4 * hd + i), a4);
    a5 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 5 * hd + i), a5);
    a6 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 6 * hd + i), a6);
    a7 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(K + 7 * hd + i), a7);
  }
  // transpose: lane kk of c_l is lane l of a_kk
  const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1), t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
  const __m256 t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5), t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  const __m256 c0 = _mm256_permute2f128_ps(u0, u4, 0x20), c1 = _mm256_permute2f128_ps(u1, u5, 0x20), c2 = _mm256_permute2f128_ps(u2, u6, 0x20), c3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  const __m256 c4 = _mm256_permute2f128_ps(u0, u4, 0x31), c5 = _mm256_permute2f128_ps(u1, u5, 0x31), c6 = _mm256_permute2f128_ps(u2, u6, 0x31), c7 = _mm256_permute2f128_ps(u3, u7, 0x31);
  // ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), as scores() sums each key's lanes
  _mm256_storeu_ps(s, _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c4), _mm256_add_ps(c1, c5)), _mm256_add_ps(_mm256_add_ps(c2, c6), _mm256_add_ps(c3, c7))));
}
#endif

inline void scores(const float* q, const float* K, int hd, int64_t len, float* s) {
  int64_t t = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (hasAvx2 && hd % 8 == 0) {
    for (; t + 8 <= len; t += 8) scores8Avx2(q, K + t * hd, hd, s + t);
  }
#endif
  if (hd % 8 == 0) {
    for (; t + 8 <= len; t += 8) {
      float acc[8][8] = {};
      for (int i = 0; i < hd; i += 8)
        for (int kk = 0; kk < 8; kk++)
          for (int l = 0; l < 8; l++) acc[kk][l] += q[i + l] * K[(t + kk) * hd + i + l];
      for (int kk = 0; kk < 8; kk++)
        s[t + kk] = ((acc[kk][0] + acc[kk][4]) + (acc[kk][1] + acc[kk][5])) + ((acc[kk][2] + acc[kk][6]) + (acc[kk][3] + acc[kk][7]));
    }
  }
  for (; t < len; t++) s[t] = dot(q, K + t * hd, hd);
}

/** out = x·cos + rotate_half(x)·sin (HF: rotate_half(x) = [−x₂, x₁]), then ·scale. */
inline void rope(const float* x, const float* cos, const float* sin, float scale, float* out, int hd) {
  const int h2 = hd / 2;
  for (int i = 0; i < h2; i++) out[i] = (x[i] * cos[i] + (-x[i + h2]) * sin[i]) * scale;
  for (int i = h2; i < hd; i++) out[i] = (x[i] * cos[i] + x[i - h2] * sin[i]) * scale;
}

/**
 * T new positions per batch row (T = 1: a decode step; T > 1: a prefill, causal within the T).
 * q/k/v/out rows are (b·T + t); pos has posB·T entries (posB = 1: shared by every row).
 */
struct Attn {
  int64_t B, T, nH, nKv, hd, qStride, kStride, vStride, posB, cap, past, maskLen;
  const float *q, *k, *v, *cosT, *sinT;
  const int32_t* pos;
  // Continuous batching (optional, nullptr = off): batch row b reads/writes cache row rowSlot[b] and has rowPast[b]
  // positions cached (past is then their maximum); rows at different positions share one call.
  const int32_t* rowSlot = nullptr;
  const int32_t* rowPast = nullptr;
  float *kc, *vc, *out;
  const int32_t* maskI;
  const float* maskF;
  float scale;
};

/** o = Σ_t p[t]·V[t] over len rows of V (len, hd); with HD known at compile time the sums stay in registers. */
template <int HD>
inline void weightedSum(const float* p, const float* V, int64_t len, int hdRun, float* o) {
  const int hd = HD > 0 ? HD : hdRun;
  if (HD > 0) {
    float acc[HD > 0 ? HD : 1] = {};
    for (int64_t t = 0; t < len; t++) {
      const float w = p[t];
      const float* vt = V + t * HD;
      for (int i = 0; i < HD; i++) acc[i] += w * vt[i];
    }
    for (int i = 0; i < HD; i++) o[i] = acc[i];
  } else {
    for (int i = 0; i < hd; i++) o[i] = 0.0f;
    for (int64_t t = 0; t < len; t++) {
      const float w = p[t];
      const float* vt = V + t * hd;
      for (int i = 0; i < hd; i++) o[i] += w * vt[i];
    }
  }
}

/** softmax(s[0:len]) in place (max subtracted, as tf.softmax), in separate loops so each vectorises. */
inline void softmaxInPlace(float* s, int64_t len) {
  float part[8];
  for (int l = 0; l < 8; l++) part[l] = s[0];
  int64_t t = 0;
  for (; t + 8 <= len; t += 8)
    for (int l = 0; l < 8; l++) part[l] = s[t + l] > part[l] ? s[t + l] : part[l];
  float mx = part[0];
  for (int l = 1; l < 8; l++) mx = part[l] > mx ? part[l] : mx;
  for (; t < len; t++) mx = s[t] > mx ? s[t] : mx;
  for (t = 0; t < len; t++) s[t] = fastExp(s[t] - mx);
  for (int l = 0; l < 8; l++) part[l] = 0.0f;
  for (t = 0; t + 8 <= len; t += 8)
    for (int l = 0; l < 8; l++) part[l] += s[t + l];
  float sum = ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
  for (; t < len; t++) sum += s[t];
  const float inv = 1.0f / sum;
  for (t = 0; t < len; t++) s[t] *= inv;  // probabilities normalised before ·V, as tf.softmax then matMul
}

// The body is always inlined into the two entry points below, so it is compiled once for the
// baseline ISA and once (on x86-64) for AVX2+FMA, picked at run time: no -march flags needed.
// One call handles the (batch row, kv head) pairs [from, to): their cache rows and the g query heads
// that share each kv head. Pairs are independent, so threads may split them.
template <int HD>
__attribute__((always_inline)) inline void attentionBody(const Attn& a, int64_t from, int64_t to) {
  const int64_t hd = HD > 0 ? HD : a.hd, g = a.nH / a.nKv, T = a.T;
  thread_local std::vector<float> qr, s;  // per thread, reused across calls
  if ((int64_t)qr.size() < hd) qr.resize(hd);
  if ((int64_t)s.size() < a.past + T) s.resize(a.past + T);
  for (int64_t item = from; item < to; item++) {
    const int64_t b = item / a.nKv, kv = item % a.nKv;
    const int64_t cb = a.rowSlot != nullptr ? a.rowSlot[b] : b;  // this row's cache row
    const int64_t past = a.rowPast != nullptr ? a.rowPast[b] : a.past;  // positions it has cached
    const int32_t* pos = a.pos + (a.posB == 1 ? 0 : b) * T;  // (T) position ids of this row
    float* K = a.kc + (cb * a.nKv + kv) * a.cap * hd;  // (cap, hd)
    float* V = a.vc + (cb * a.nKv + kv) * a.cap * hd;
    // the new keys (rotated) and values go to rows [past, past + T)
    for (int64_t t = 0; t < T; t++) {
      rope(a.k + (b * T + t) * a.kStride + kv * hd, a.cosT + (int64_t)pos[t] * hd, a.sinT + (int64_t)pos[t] * hd, 1.0f, K + (past + t) * hd, (int)hd);
      std::memcpy(V + (past + t) * hd, a.v + (b * T + t) * a.vStride + kv * hd, sizeof(float) * hd);
    }
    for (int64_t j = 0; j < g; j++) {
      const int64_t h = kv * g + j;  // query heads kv·g … kv·g + g − 1 share this key/value head
      for (int64_t t = 0; t < T; t++) {
        const int64_t len = past + t + 1;  // causal: keys up to this query's own position
        rope(a.q + (b * T + t) * a.qStride + h * hd, a.cosT + (int64_t)pos[t] * hd, a.sinT + (int64_t)pos[t] * hd, a.scale, qr.data(), (int)hd);
        scores(qr.data(), K, (int)hd, len, s.data());
        if (a.maskI != nullptr) {
          const int32_t* m = a.maskI + b * a.maskLen;
          for (int64_t u = 0; u < len; u++) s[u] += m[u] == 0 ? MASKED : 0.0f;
        } else if (a.maskF != nullptr) {
          const float* m = a.maskF + b * a.maskLen;
          for (int64_t u = 0; u < len; u++) s[u] += m[u] == 0.0f ? MASKED : 0.0f;
        }
        softmaxInPlace(s.data(), len);
        weightedSum<HD>(s.data(), V, len, (int)hd, a.out + (b * T + t) * a.nH * hd + h * hd);
      }
    }
  }
}

__attribute__((always_inline)) inline void attentionAny(const Attn& a, int64_t from, int64_t to) {
  switch (a.hd) {
    case 32: return attentionBody<32>(a, from, to);
    case 64: return attentionBody<64>(a, from, to);
    case 128: return attentionBody<128>(a, from, to);
    default: return attentionBody<0>(a, from, to);
  }
}

inline void attentionDefault(const Attn& a, int64_t from, int64_t to) { attentionAny(a, from, to); }
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) inline void attentionAvx2(const Attn& a, int64_t from, int64_t to) { attentionAny(a, from, to); }
#else
inline void attentionAvx2(const Attn& a, int64_t from, int64_t to) { attentionAny(a, from, to); }
#endif

/**
 * RMSNorm of rows [r0, r1) of x (rows, d): out = x / √(mean(x²) + eps) · w; with res, x + res first, written to sum.
 * The mean of squares accumulates in double (d ≤ a few thousand, one rounding at the end).
 */
inline void rmsNormRows(const float* x0, const float* res, const float* w, float* out, float* sum, int64_t r0, int64_t r1, int64_t d, float eps) {
  for (int64_t r = r0; r < r1; r++) {
    const float* x = x0 + r * d;
    float* o = out + r * d;
    if (res != nullptr) {
      const float* y = res + r * d;
      float* s = sum + r * d;
      for (int64_t i = 0; i < d; i++) s[i] = x[i] + y[i];
      x = s;
    }
    double ss = 0;
    for (int64_t i = 0; i < d; i++) ss += (double)x[i] * x[i];
    const float inv = (float)(1.0 / std::sqrt((double)(float)(ss / d) + eps));
    for (int64_t i = 0; i < d; i++) o[i] = (x[i] * inv) * w[i];
  }
}

/**
 * fn(ctx, r0, r1) over row ranges covering [0, rows), on up to `threads` pool threads when rows·width is big
 * enough to pay for the hand-off (row-wise ops: the split changes no result).
 */
template <typename F>
inline void forRows(int64_t rows, int64_t width, int threads, const F& fn) {
  constexpr int64_t minWork = 1 << 15;  // elements; below, one thread
  const int64_t chunks = threads > 1 && rows * width >= minWork ? (rows < 4 * threads ? rows : 4 * threads) : 1;
  if (chunks <= 1) return fn(0, rows);
  struct Ctx { const F* fn; int64_t rows, chunks; };
  const Ctx ctx{&fn, rows, chunks};
  pool().run(chunks, threads, [](const void* c, int64_t i) {
    const Ctx& x = *static_cast<const Ctx*>(c);
    (*x.fn)(i * x.rows / x.chunks, (i + 1) * x.rows / x.chunks);
  }, &ctx);
}

/**
 * Only the cache writes of attention: rotated keys and values of the first T1 of the T new positions of every
 * batch row go to cache rows [past, past + T1), exactly as attentionBody writes them — compiled for the same ISA
 * (rotary's multiply-adds contract to FMA under AVX2, so a baseline build would round differently). For a
 * prefill whose last layer needs the output of each row's last position only (src/kernels/fused.ts lastOnly).
 */
__attribute__((always_inline)) inline void cacheWriteBody(const Attn& a, int64_t T1) {
  const int64_t hd = a.hd, T = a.T;
  for (int64_t item = 0; item < a.B * a.nKv; item++) {
    const int64_t b = item / a.nKv, kv = item % a.nKv;
    const int32_t* pos = a.pos + (a.posB == 1 ? 0 : b) * T;
    float* K = a.kc + (b * a.nKv + kv) * a.cap * hd;
    float* V = a.vc + (b * a.nKv + kv) * a.cap * hd;
    for (int64_t t = 0; t < T1; t++) {
      rope(a.k + (b * T + t) * a.kStride + kv * hd, a.cosT + (int64_t)pos[t] * hd, a.sinT + (int64_t)pos[t] * hd, 1.0f, K + (a.past + t) * hd, (int)hd);
      std::memcpy(V + (a.past + t) * hd, a.v + (b * T + t) * a.vStride + kv * hd, sizeof(float) * hd);
    }
  }
}
inline void cacheWriteDefault(const Attn& a, int64_t T1) { cacheWriteBody(a, T1); }
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) inline void cacheWriteAvx2(const Attn& a, int64_t T1) { cacheWriteBody(a, T1); }
#else
inline void cacheWriteAvx2(const Attn& a, int64_t T1) { cacheWriteBody(a, T1); }
#endif
inline void cacheWrite(const Attn& a, int64_t T1) {
  if (hasAvx2) cacheWriteAvx2(a, T1);
  else cacheWriteDefault(a, T1);
}

/** Attention over every (row, kv head) pair, on up to `threads` threads when the work is big enough. */
inline void attention(const Attn& a, int threads) {
  const int64_t items = a.B * a.nKv;
  // below ~0.5 M multiply-adds a thread hand-off costs more than it saves
  const int64_t work = a.B * a.nH * (a.past + a.T) * a.T * a.hd * 2;
  const int64_t chunks = threads > 1 && work >= (1 << 19) ? items : 1;
  struct Ctx { const Attn* a; int64_t items, chunks; };
  const Ctx ctx{&a, items, chunks};
  pool().run(chunks, chunks > 1 ? threads : 1, [](const void* c, int64_t i) {
    const Ctx& x = *static_cast<const Ctx*>(c);
    const int64_t from = i * x.items / x.chunks, to = (i + 1) * x.items / x.chunks;
    if (hasAvx2) attentionAvx2(*x.a, from, to);
    else attentionDefault(*x.a, from, to);
  }, &ctx);
}

__attribute__((always_inline)) inline void swigluBody(const float* gate, int64_t gs, const float* up, int64_t us, float* out,
                                                      int64_t rows, int64_t I) {
  for (int64_t r = 0; r < rows; r++) {
    const float* gr = gate + r * gs;
    const float* ur = up + r * us;
    float* o = out + r * I;
    for (int64_t i = 0; i < I; i++) {
      const float x = gr[i];
      o[i] = (x * (1.0f / (1.0f + fastExp(-x)))) * ur[i];
    }
  }
}
inline void swigluDefault(const float* g, int64_t gs, const float* u, int64_t us, float* o, int64_t r, int64_t I) { swigluBody(g, gs, u, us, o, r, I); }
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) inline void swigluAvx2(const float* g, int64_t gs, const float* u, int64_t us, float* o, int64_t r, int64_t I) {
  swigluBody(g, gs, u, us, o, r, I);
}
#else
inline void swigluAvx2(const float* g, int64_t gs, const float* u, int64_t us, float* o, int64_t r, int64_t I) { swigluBody(g, gs, u, us, o, r, I); }
#endif

}  // namespace seqsch_fused
