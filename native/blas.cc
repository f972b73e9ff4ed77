// seqsch_blas: float32 matmuls on the tfjs wasm backend's heap, without copies — OpenBLAS's cblas_sgemm where the
// build found OpenBLAS, else seqsch's own packed GEMM (native/own-gemm.h; the choice is native/gemm.h's).
//
// JS hands over the wasm memory's ArrayBuffer and byte offsets of a, b and the output inside it;
// the call parameters travel in a Float64Array registered once with setParams(), so one matmul is a
// single N-API call with one argument (the heap) plus an optional batch index table. The addon does
// no allocation and keeps no pointer into the heap between calls (the heap moves when wasm memory
// grows). It does not decide shapes, broadcasting or fallbacks: src/kernels/blas.ts does.
#include <napi.h>
#include "gemm.h"  // one product on the addon's thread pool (native/pool.h), shared with the fused kernels
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

// Layout of the parameter block (Float64Array, see P_* in src/kernels/blas.ts).
enum Param {
  P_TRANS_A = 0,   // 0/1: a is stored (K, M) instead of (M, K)
  P_TRANS_B,       // 0/1: b is stored (N, K) instead of (K, N)
  P_M,             // rows of the output
  P_N,             // columns of the output
  P_K,             // inner dimension
  P_A_OFF,         // byte offset of a in the heap
  P_B_OFF,         // byte offset of b
  P_C_OFF,         // byte offset of the output
  P_BATCH,         // number of output matrices
  P_A_STRIDE,      // elements between consecutive a matrices (0: broadcast one matrix)
  P_B_STRIDE,      // elements between consecutive b matrices (0: broadcast)
  P_BIAS_OFF,      // byte offset of the bias, or -1 for none
  P_BIAS_LEN,      // 1 (scalar bias) or N (one per output column)
  P_ACT,           // activation, see Act
  P_ALPHA,         // leakyrelu slope
  P_THREADS,       // threads for this call (0: leave as is); see gemmPool
  P_COUNT
};
enum Act { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_SIGMOID = 4, ACT_ELU = 5 };

double* params = nullptr;           // points into the registered Float64Array's (non-wasm) buffer
Napi::Reference<Napi::Float64Array> paramsRef;  // keeps that buffer alive
using seqsch_gemm::Gemm;
using seqsch_gemm::gemmBlock;

void SetParams(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "setParams(params: Float64Array) expected").ThrowAsJavaScriptException();
    return;
  }
  Napi::Float64Array p = info[0].As<Napi::Float64Array>();
  if (p.ElementLength() < P_COUNT) {
    Napi::RangeError::New(env, "setParams: Float64Array too short").ThrowAsJavaScriptException();
    return;
  }
  paramsRef = Napi::Persistent(p);
  params = p.Data();
}

inline void applyEpilogue(float* c, int64_t rows, int64_t n, const float* bias, int64_t biasLen, int act,
                          float alpha) {
  if (bias == nullptr && act == ACT_LINEAR) return;
  for (int64_t i = 0; i < rows; i++) {
    float* row = c + i * n;
    if (bias != nullptr) {
      if (biasLen == 1) {
        const float b0 = bias[0];
        for (int64_t j = 0; j < n; j++) row[j] += b0;
      } else {
        for (int64_t j = 0; j < n; j++) row[j] += bias[j];
      }
    }
    switch (act) {
      case ACT_RELU:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] > 0.f ? row[j] : 0.f;
        break;
      case ACT_RELU6:
        for (int64_t j = 0; j < n; j++) row[j] = std::fmin(std::fmax(row[j], 0.f), 6.f);
        break;
      case ACT_LEAKYRELU:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] > 0.f ? row[j] : alpha * row[j];
        break;
      case ACT_SIGMOID:
        for (int64_t j = 0; j < n; j++) row[j] = 1.f / (1.f + std::exp(-row[j]));
        break;
      case ACT_ELU:
        for (int64_t j = 0; j < n; j++) row[j] = row[j] > 0.f ? row[j] : std::expm1(row[j]);
        break;
      default:
        break;
    }
  }
}

// sgemm(heap: ArrayBuffer, batchIndex?: Int32Array) -> undefined.
// batchIndex, when given, holds 2*batch entries: for output matrix i, the a matrix index and the b
// matrix index (general broadcasting of batch dims); otherwise matrix i uses i*stride.
void Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (params == nullptr) {
    Napi::Error::New(env, "sgemm: call setParams first").ThrowAsJavaScriptException();
    return;
  }
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "sgemm(heap: ArrayBuffer, batchIndex?: Int32Array) expected").ThrowAsJavaScriptException();
    return;
  }
  Napi::ArrayBuffer heapBuf = info[0].As<Napi::ArrayBuffer>();
  uint8_t* heap = static_cast<uint8_t*>(heapBuf.Data());
  const int64_t heapBytes = static_cast<int64_t>(heapBuf.ByteLength());
  const bool ta = params[P_TRANS_A] != 0, tb = params[P_TRANS_B] != 0;
  const int64_t M = (int64_t)params[P_M], N = (int64_t)params[P_N], K = (int64_t)params[P_K];
  const int64_t aOff = (int64_t)params[P_A_OFF], bOff = (int64_t)params[P_B_OFF], cOff = (int64_t)params[P_C_OFF];
  const int64_t batch = (int64_t)params[P_BATCH];
  const int64_t aStride = (int64_t)params[P_A_STRIDE], bStride = (int64_t)params[P_B_STRIDE];
  const int64_t biasOff = (int64_t)params[P_BIAS_OFF], biasLen = (int64_t)params[P_BIAS_LEN];
  const int act = (int)params[P_ACT];
  const float alpha = (float)params[P_ALPHA];
  const int threads = (int)params[P_THREADS];

  const int32_t* index = nullptr;
  if (info.Length() > 1 && info[1].IsTypedArray()) {
    Napi::TypedArray t = info[1].As<Napi::TypedArray>();
    if (t.TypedArrayType() != napi_int32_array || (int64_t)t.ElementLength() < 2 * batch) {
      Napi::TypeError::New(env, "sgemm: batchIndex must be an Int32Array of 2*batch entries").ThrowAsJavaScriptException();
      return;
    }
    index = t.As<Napi::Int32Array>().Data();
  }

  // Bounds: a bad offset would write outside the wasm heap; check the extremes once per call.
  int64_t aMats = 1, bMats = 1;
  if (index != nullptr) {
    for (int64_t i = 0; i < batch; i++) {
      if (index[2 * i] + 1 > aMats) aMats = index[2 * i] + 1;
      if (index[2 * i + 1] + 1 > bMats) bMats = index[2 * i + 1] + 1;
    }
  }
  const int64_t aEnd = aOff + 4 * ((index ? (aMats - 1) * M * K : (batch - 1) * aStride) + M * K);
  const int64_t bEnd = bOff + 4 * ((index ? (bMats - 1) * K * N : (batch - 1) * bStride) + K * N);
  const int64_t cEnd = cOff + 4 * batch * M * N;
  const int64_t biasEnd = biasOff + 4 * biasLen;
  if (M < 0 || N < 0 || K < 0 || batch < 0 || aOff < 0 || bOff < 0 || cOff < 0 || aEnd > heapBytes ||
      bEnd > heapBytes || cEnd > heapBytes || (biasOff >= 0 && biasEnd > heapBytes) || (aOff | bOff | cOff) % 4) {
    Napi::RangeError::New(env, "sgemm: operand outside the heap or misaligned").ThrowAsJavaScriptException();
    return;
  }
  const int poolThreads = seqsch_gemm::gemmPool ? (threads > 0 ? threads : 1) : 1;
  const float* A = reinterpret_cast<const float*>(heap + aOff);
  const float* B = reinterpret_cast<const float*>(heap + bOff);
  float* C = reinterpret_cast<float*>(heap + cOff);
  const float* bias = biasOff >= 0 ? reinterpret_cast<const float*>(heap + biasOff) : nullptr;
  const int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N, ldc = (int)N;
  auto product = [&](int64_t i) {
    return Gemm{ta, tb, M, N, K, A + (index ? (int64_t)index[2 * i] * M * K : i * aStride),
                B + (index ? (int64_t)index[2 * i + 1] * K * N : i * bStride), C + i * M * N, lda, ldb, ldc};
  };
  if (poolThreads > 1 && batch >= poolThreads) {
    // many products (attention heads, a batched matmul): whole products per thread
    seqsch_gemm::setBlasThreads(1);
    struct Ctx { decltype(product)* f; };
    Ctx ctx{&product};
    seqsch_fused::pool().run(batch, poolThreads, [](const void* c, int64_t i) {
      const Gemm g = (*static_cast<const Ctx*>(c)->f)(i);
      gemmBlock(g, 0, g.M, 0, g.N);
    }, &ctx);
  } else {
    for (int64_t i = 0; i < batch; i++) seqsch_gemm::product(product(i), threads);
  }
  applyEpilogue(C, batch * M, N, bias, biasLen, act, alpha);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef SEQSCH_HAVE_OPENBLAS
  o.Set("config", Napi::String::New(env, openblas_get_config()));
  o.Set("corename", Napi::String::New(env, openblas_get_corename()));
  o.Set("threads", Napi::Number::New(env, openblas_get_num_threads()));
  o.Set("parallel", Napi::Number::New(env, openblas_get_parallel()));
#else
  o.Set("config", Napi::String::New(env, "no OpenBLAS in this build"));
  o.Set("corename", Napi::String::New(env, "none"));
  o.Set("threads", Napi::Number::New(env, 1));
  o.Set("parallel", Napi::Number::New(env, 0));
#endif
  o.Set("gemmPool", Napi::Boolean::New(env, seqsch_gemm::gemmPool));
  // which GEMM runs the products: "openblas" or "own", the own GEMM's variant, and whether OpenBLAS is linked at all
  o.Set("gemm", Napi::String::New(env, seqsch_gemm::useOwn ? "own" : "openblas"));
  o.Set("ownIsa", Napi::String::New(env, seqsch_own::isaName()));
  o.Set("openblasLinked", Napi::Boolean::New(env, seqsch_gemm::haveOpenBlas));
  return o;
}

void SetThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), "setThreads(n: number) expected").ThrowAsJavaScriptException();
    return;
  }
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) n = 1;
  seqsch_gemm::setBlasThreads(n);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setParams", Napi::Function::New(env, SetParams));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setGemmPool", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsBoolean()) {
      Napi::TypeError::New(info.Env(), "setGemmPool(on: boolean) expected").ThrowAsJavaScriptException();
      return;
    }
    seqsch_gemm::gemmPool = info[0].As<Napi::Boolean>().Value();
    seqsch_gemm::currentThreads = -1;  // the next call sets OpenBLAS's count for the chosen mode
    // beside OpenBLAS's own spinning workers the attention kernel's worker must not spin too (2 cores: 3 hot threads)
    seqsch_fused::pool().spinMicros = seqsch_gemm::gemmPool || seqsch_gemm::useOwn ? 500 : 0;
  }));
  // the pool's contention record (native/pool.h): calls shared with workers, of them late, and calls run solo
  exports.Set("poolStats", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    const auto st = seqsch_fused::pool().stats();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("shared", Napi::Number::New(info.Env(), (double)st.shared));
    o.Set("late", Napi::Number::New(info.Env(), (double)st.late));
    o.Set("solo", Napi::Number::New(info.Env(), (double)st.solo));
    return o;
  }));
  exports.Set("setPoolAdaptive", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsBoolean()) {
      Napi::TypeError::New(info.Env(), "setPoolAdaptive(on: boolean) expected").ThrowAsJavaScriptException();
      return;
    }
    seqsch_fused::pool().adaptive = info[0].As<Napi::Boolean>().Value();
  }));
  // setGemm(own): the own GEMM (true) or OpenBLAS (false, only where linked); returns whether the own GEMM now runs.
  // For tests and benchmarks that compare both in one process.
  exports.Set("setGemm", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsBoolean()) {
      Napi::TypeError::New(info.Env(), "setGemm(own: boolean) expected").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    seqsch_gemm::useOwn = info[0].As<Napi::Boolean>().Value() || !seqsch_gemm::haveOpenBlas;
    seqsch_gemm::currentThreads = -1;
    return Napi::Boolean::New(info.Env(), seqsch_gemm::useOwn);
  }));
  // setGemmIsa(name): the own GEMM's variant, "generic" | "avx2" | "avx512", capped by what the CPU runs; returns the
  // variant now in use (isaName). For tests that check every variant this CPU has.
  exports.Set("setGemmIsa", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    const std::string want = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (want != "generic" && want != "avx2" && want != "avx512") {
      Napi::TypeError::New(info.Env(), "setGemmIsa(name: 'generic' | 'avx2' | 'avx512') expected").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    using seqsch_own::Isa;
    const Isa best = seqsch_own::bestIsa();
    const Isa asked = want == "avx512" ? Isa::Avx512 : want == "avx2" ? Isa::Avx2 : Isa::Generic;
    seqsch_own::isa() = (int)asked < (int)best ? asked : best;
    return Napi::String::New(info.Env(), seqsch_own::isaName());
  }));
  exports.Set("paramCount", Napi::Number::New(env, P_COUNT));
  return exports;
}

}  // namespace

void RegisterFused(Napi::Env env, Napi::Object exports);  // native/fused.cc

namespace {
Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  Init(env, exports);
  RegisterFused(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(seqsch_blas, InitAll)
