# Builds build/Release/seqsch_blas.node under native/ (scripts/build-native.mjs copies it to build/).
# Lives in native/ rather than the repo root so that npm does not run its implicit `node-gyp rebuild`
# (which would fail the install where no compiler exists).
# With OpenBLAS only when scripts/build-native.mjs found it and sets SEQSCH_GYP_OPENBLAS=1 (a probe compile);
# otherwise the own packed GEMM (native/own-gemm.h) alone, which needs nothing but a C++ compiler.
{
  "variables": {
    "openblas%": "<!(node -p \"process.env.SEQSCH_GYP_OPENBLAS === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "seqsch_blas",
      "sources": ["blas.cc", "fused.cc"],
      "include_dirs": ["<!(node -p \"require('path').dirname(require.resolve('node-addon-api/package.json'))\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-trapping-math", "-fno-math-errno"],
      "conditions": [
        ["openblas==1", {"defines": ["SEQSCH_HAVE_OPENBLAS"], "libraries": ["-lopenblas"]}]
      ]
    }
  ]
}
