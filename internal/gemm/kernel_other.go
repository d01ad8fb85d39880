//go:build !amd64

package gemm

const kernelBuilt = false

func kernel4x8(k int, a *float64, rowStep, colStep int, bp *float64, c *float64, ldc int, alpha float64) {
	panic("gemm: no vector kernel on this architecture")
}
