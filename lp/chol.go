package lp

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// cholesky is the factor U of a symmetric positive definite matrix A = UᵀU, by LAPACK's dpotrf through
// gonum, without mat.Cholesky's condition estimate (a third of a factorization's time at n = 1,500, and
// the interior point needs none) and solving a vector by two triangular solves (dtrsv) rather than a
// one-column dtrsm.
type cholesky struct {
	u blas64.Triangular
}

// factor factors the n x n matrix whose upper triangle a holds (row-major; a is overwritten) and reports
// whether it is positive definite.
func (c *cholesky) factor(n int, a []float64) bool {
	s := blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: a}
	if _, ok := lapack64.Potrf(s); !ok {
		return false
	}
	c.u = blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: n, Stride: n, Data: a}
	return true
}

// solve returns A⁻¹ r.
func (c *cholesky) solve(r []float64) []float64 {
	x := append([]float64(nil), r...)
	v := blas64.Vector{N: len(x), Inc: 1, Data: x}
	blas64.Trsv(blas.Trans, c.u, v)   // Uᵀ z = r
	blas64.Trsv(blas.NoTrans, c.u, v) // U x = z
	return x
}
