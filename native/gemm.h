// One float32 product C = op(A)·op(B) through OpenBLAS or seqsch's own packed GEMM (native/own-gemm.h), on the
// addon's thread pool (native/pool.h) or on OpenBLAS's own threads: what tf.matMul runs on the wasm heap
// (native/blas.cc) and what the fused decoder-layer kernel (native/fused.cc) runs for its projections, so the two give
// bit-identical results.
//
// Which GEMM: OpenBLAS is compiled in only when the build found it (SEQSCH_HAVE_OPENBLAS, set by native/binding.gyp
// from scripts/build-native.mjs); without it, or with SEQSCH_GEMM=own in the environment at load, the own GEMM runs.
// The own GEMM sums each element in an order fixed by k alone (native/own-gemm-body.inc), so its blocks agree bit for
// bit with the whole product; OpenBLAS needs the fixed split below.
//
// Bit-identical needs the same blocks: OpenBLAS 0.3.21's sgemm does not give the same bits for a product and for
// the same product computed in column or row blocks (measured: most shapes of the models differ in the last bit
// somewhere), so a product's split depends only on its shape and its thread count, never on which thread runs
// which block or on how busy the machine is.
#pragma once
#ifdef SEQSCH_HAVE_OPENBLAS
#include <cblas.h>
#endif
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include "own-gemm.h"
#include "pool.h"

namespace seqsch_gemm {

/** One (M, K)·(K, N) product, op(A) and op(B) as cblas sees them; lda/ldb/ldc as for cblas_sgemm. */
struct Gemm {
  bool ta, tb;
  int64_t M, N, K;
  const float *A, *B;
  float* C;
  int lda, ldb, ldc;
};

// Where a call's threads come from. true: OpenBLAS runs single-threaded and a product is split into
// row or column blocks over seqsch_fused::pool() — the same threads the attention kernel uses, so
// no OpenBLAS worker spins on a core the attention kernel needs. false: OpenBLAS's own threads.
inline bool gemmPool = true;
inline int currentThreads = -1;  // OpenBLAS's thread count as last set

#ifdef SEQSCH_HAVE_OPENBLAS
/** true: the own GEMM runs although OpenBLAS is linked (SEQSCH_GEMM=own at load, or setGemm from JS). */
inline bool useOwn = [] {
  const char* v = std::getenv("SEQSCH_GEMM");
  return v != nullptr && std::strcmp(v, "own") == 0;
}();
constexpr bool haveOpenBlas = true;
#else
inline bool useOwn = true;
constexpr bool haveOpenBlas = false;
#endif

/** Output rows [m0, m1) and columns [n0, n1) of one product, single-threaded. */
inline void gemmBlock(const Gemm& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t m = m1 - m0, n = n1 - n0;
  if (m <= 0 || n <= 0) return;
  const float* A = g.A + (g.ta ? m0 : m0 * g.lda);  // op(A) rows m0…: stored (K, M) when transposed
  const float* B = g.B + (g.tb ? n0 * g.ldb : n0);  // op(B) columns n0…: stored (N, K) when transposed
  float* C = g.C + m0 * g.ldc + n0;
  if (g.K == 0) {
    for (int64_t i = 0; i < m; i++) std::memset(C + i * g.ldc, 0, sizeof(float) * n);
  } else if (useOwn) {
    seqsch_own::sgemm(g.ta, g.tb, m, n, g.K, A, g.lda, B, g.ldb, C, g.ldc);
  }
#ifdef SEQSCH_HAVE_OPENBLAS
  else if (m == 1 && n > 1) {
    // One output row (decode at batch 1, attention per head): a matrix-vector product. OpenBLAS
    // 0.3.21's sgemm packs B even for one row; sgemv reads it once (4-10x faster here).
    // op(A) is a contiguous K-vector either way (A is (1, K), or (K, 1) when transposed).
    if (g.tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)g.K, 1.0f, B, g.ldb, A, 1, 0.0f, C, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, (int)g.K, (int)n, 1.0f, B, g.ldb, A, 1, 0.0f, C, 1);
  } else {
    cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)g.K, 1.0f, A,
                g.lda, B, g.ldb, 0.0f, C, g.ldc);
  }
#endif
}

/**
 * One product in `threads` blocks: tall outputs (M ≥ N) split by rows (each block packs all of the small B,
 * as a prefill's weight), wide ones by columns (a decode step's few rows against a weight). Blocks are
 * multiples of 16 so each keeps whole SIMD tiles. The pool's threads share the blocks; the caller takes
 * over any block a late worker has not claimed.
 */
inline void gemmSplit(const Gemm& g, int threads) {
  const bool rows = g.M >= g.N;
  const int64_t extent = rows ? g.M : g.N;
  int64_t blocks = threads;
  if (blocks > (extent + 15) / 16) blocks = (extent + 15) / 16;
  if (blocks <= 1) return gemmBlock(g, 0, g.M, 0, g.N);
  struct Ctx { const Gemm* g; bool rows; int64_t extent, blocks; };
  const Ctx ctx{&g, rows, extent, blocks};
  seqsch_fused::pool().run(blocks, (int)blocks, [](const void* c, int64_t i) {
    const Ctx& x = *static_cast<const Ctx*>(c);
    // block i covers [i·extent/blocks, (i+1)·extent/blocks) rounded to multiples of 16
    const int64_t lo = (i * x.extent / x.blocks + 15) / 16 * 16, hi = i + 1 == x.blocks ? x.extent : ((i + 1) * x.extent / x.blocks + 15) / 16 * 16;
    if (x.rows) gemmBlock(*x.g, lo, hi < x.extent ? hi : x.extent, 0, x.g->N);
    else gemmBlock(*x.g, 0, x.g->M, lo, hi < x.extent ? hi : x.extent);
  }, &ctx);
}

/** Set OpenBLAS's own thread count (1 while the pool splits products), skipping the call when unchanged. */
inline void setBlasThreads(int n) {
#ifdef SEQSCH_HAVE_OPENBLAS
  if (n > 0 && n != currentThreads) {
    openblas_set_num_threads(n);
    currentThreads = n;
  }
#else
  (void)n;
#endif
}

/**
 * One product with `threads` threads: blocks over the pool, or OpenBLAS's own threads when the pool is off (the own
 * GEMM has no threads of its own: it always uses the pool).
 */
inline void product(const Gemm& g, int threads) {
  if (gemmPool || useOwn) {
    setBlasThreads(1);
    gemmSplit(g, threads > 0 ? threads : 1);
  } else {
    setBlasThreads(threads);
    gemmBlock(g, 0, g.M, 0, g.N);
  }
}

}  // namespace seqsch_gemm
