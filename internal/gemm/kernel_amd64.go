package gemm

const kernelBuilt = true

// kernel4x8 adds alpha * A[0:4][0:k] * Bp to C[0:4][0:8]: A[i][l] is the value rowStep*i + colStep*l
// values past a, Bp a packed panel (k rows of 8), C with row stride ldc. k >= 1. It needs AVX2 and FMA.
//
//go:noescape
func kernel4x8(k int, a *float64, rowStep, colStep int, bp *float64, c *float64, ldc int, alpha float64)
