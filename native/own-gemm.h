// seqsch's own float32 GEMM (no BLAS library needed): C = op(A)·op(B), single-threaded, for the addon's matmuls and
// the fused layer's products when OpenBLAS is not there (or not wanted: SEQSCH_OPENBLAS=0 at build, SEQSCH_GEMM=own at
// run time). native/gemm.h splits products over threads; this file does not thread, bound-check or allocate beyond
// its per-thread packing buffers.
//
// One body (native/own-gemm-body.inc: packed panels, cache blocking, an MR × NR register tile) compiled three times:
//   generic  4 × 8 tile on GCC vector extensions (SSE2 on x86-64, whatever the target has elsewhere; no FMA)
//   avx2     6 × 16 tile, AVX2 + FMA intrinsics
//   avx512   6 × 32 tile, AVX-512F intrinsics
// chosen once at load from the CPU (__builtin_cpu_supports); SEQSCH_GEMM_ISA=generic|avx2|avx512 caps the choice
// (tests compare the variants; asking for more than the CPU has gives the best it has).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SEQSCH_OWN_X86 1
#endif

namespace seqsch_own {

namespace generic {
struct V {
  typedef float T __attribute__((vector_size(16)));
  static constexpr int W = 4;
  static inline T zero() { return T{0.0f, 0.0f, 0.0f, 0.0f}; }
  static inline T load(const float* p) {
    T x;
    std::memcpy(&x, p, sizeof x);
    return x;
  }
  static inline void store(float* p, T x) { std::memcpy(p, &x, sizeof x); }
  static inline T bcast(float f) { return T{f, f, f, f}; }
  static inline T fma(T a, T b, T c) { return a * b + c; }  // two roundings: no FMA assumed
  static inline T add(T a, T b) { return a + b; }
};
constexpr int MR = 4, NV = 2;
#include "own-gemm-body.inc"
}  // namespace generic

#ifdef SEQSCH_OWN_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
struct V {
  using T = __m256;
  static constexpr int W = 8;
  static inline T zero() { return _mm256_setzero_ps(); }
  static inline T load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, T x) { _mm256_storeu_ps(p, x); }
  static inline T bcast(float f) { return _mm256_set1_ps(f); }
  static inline T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static inline T add(T a, T b) { return _mm256_add_ps(a, b); }
};
constexpr int MR = 6, NV = 2;
#include "own-gemm-body.inc"
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
namespace avx512 {
struct V {
  using T = __m512;
  static constexpr int W = 16;
  static inline T zero() { return _mm512_setzero_ps(); }
  static inline T load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  static inline T bcast(float f) { return _mm512_set1_ps(f); }
  static inline T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static inline T add(T a, T b) { return _mm512_add_ps(a, b); }
};
constexpr int MR = 6, NV = 2;
#include "own-gemm-body.inc"
}  // namespace avx512
#pragma GCC pop_options
#endif

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

/** The best variant this CPU runs. */
inline Isa bestIsa() {
  Isa best = Isa::Generic;
#ifdef SEQSCH_OWN_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
  if (best == Isa::Avx2 && __builtin_cpu_supports("avx512f")) best = Isa::Avx512;
#endif
  return best;
}

/** The best variant this CPU runs, capped by SEQSCH_GEMM_ISA when set. */
inline Isa detectIsa() {
  Isa best = bestIsa();
  const char* want = std::getenv("SEQSCH_GEMM_ISA");
  if (want != nullptr) {
    Isa cap = best;
    if (std::strcmp(want, "generic") == 0) cap = Isa::Generic;
    else if (std::strcmp(want, "avx2") == 0) cap = Isa::Avx2;
    if ((int)cap < (int)best) best = cap;
  }
  return best;
}

inline Isa& isa() {
  static Isa chosen = detectIsa();
  return chosen;
}

/** "avx512f 6×32", "avx2+fma 6×16" or "generic 4×8": the variant in use and its register tile. */
inline const char* isaName() {
  switch (isa()) {
    case Isa::Avx512: return "avx512f 6x32";
    case Isa::Avx2: return "avx2+fma 6x16";
    default: return "generic 4x8";
  }
}

/** C (m, n; ldc) = op(A)·op(B); A (m, k; lda) or with ta stored (k, m); B (k, n; ldb) or with tb stored (n, k). */
inline void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B,
                  int64_t ldb, float* C, int64_t ldc) {
#ifdef SEQSCH_OWN_X86
  if (isa() == Isa::Avx512) return avx512::sgemm(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
  if (isa() == Isa::Avx2) return avx2::sgemm(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
#endif
  generic::sgemm(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
}

}  // namespace seqsch_own
