// Package gemm is gonum's BLAS with a faster general matrix product, Dgemm, for the thin matrices of
// training and batched forward passes (thousands of rows times tens of columns). Package nn calls it for
// its forward passes; package train makes it Gorgonia's BLAS.
//
// Gonum's Dgemm adds rows of B scaled by entries of A (axpy on SSE2, two values at a time); it skips zero
// entries of A, which makes it fast on ReLU activations, half of them zero, and slow on dense ones
// (tanh, sigmoid). Where the CPU has AVX2 and FMA, this Dgemm packs B into panels of 8 columns and
// computes 4 x 8 blocks of C in 8 vector registers, 4 values at a time, with one fused multiply-add per
// product: each loaded value of B serves 4 rows and each of A 8 columns. Elsewhere, and for products too
// small to pay for the packing, it is gonum's.
//
// The result differs from gonum's only in rounding: a fused multiply-add rounds once where gonum's
// multiply and add round twice, and the sums run in another order. Each entry is a dot product of length
// k, with the usual error bound of k units in the last place relative to the sum of the products' sizes.
package gemm

import (
	"runtime"
	"sync"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is gonum's BLAS (gonum.Implementation) with Dgemm replaced.
type Implementation struct {
	gonum.Implementation
	// Serial keeps every product on the calling goroutine, for callers that already keep every core busy
	// (the verifier's workers); otherwise products from parallelFlops up are split over the cores.
	Serial bool
}

// hasKernel reports whether the vector kernel may run: amd64 with AVX2 and FMA (and the kernel built).
var hasKernel = kernelBuilt && cpu.X86.HasAVX2 && cpu.X86.HasFMA

// minFlops is the size m*n*k below which Dgemm leaves the product to gonum: packing B costs k*n moves
// and the goroutines of a parallel product a few microseconds.
const minFlops = 1 << 12

// parallelFlops is the size m*n*k from which Dgemm splits the rows of C over every core.
const parallelFlops = 1 << 18

// Dgemm computes C = alpha * op(A) * op(B) + beta * C, as gonum's Dgemm does (row-major storage, op(X) =
// X or its transpose); it panics on bad arguments as gonum's does.
func (impl Implementation) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !hasKernel || !valid(tA, tB, m, n, k, a, lda, b, ldb, c, ldc) || m*n*k < minFlops || n < 4 || m < 4 {
		impl.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	scale(m, n, beta, c, ldc)
	if alpha == 0 || k == 0 {
		return
	}
	// op(A)[i][l] is a[i*rs + l*cs].
	rs, cs := lda, 1
	if tA != blas.NoTrans {
		rs, cs = 1, lda
	}
	buf := packs.Get().(*[]float64)
	defer packs.Put(buf)
	bp := pack(tB != blas.NoTrans, n, k, b, ldb, buf)
	blocks := (m + 3) / 4
	run := func(lo, hi int) {
		for blk := lo; blk < hi; blk++ {
			rowBlock(blk*4, min(4, m-blk*4), n, k, alpha, a, rs, cs, bp, c, ldc)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if impl.Serial || m*n*k < parallelFlops || workers < 2 || blocks < 2 {
		run(0, blocks)
		return
	}
	workers = min(workers, blocks)
	var wg sync.WaitGroup
	per := (blocks + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, blocks)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(lo, hi)
		}()
	}
	wg.Wait()
}

// valid reports whether the arguments are those gonum's Dgemm accepts (it panics on the others).
func valid(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) bool {
	okT := func(t blas.Transpose) bool { return t == blas.NoTrans || t == blas.Trans || t == blas.ConjTrans }
	if !okT(tA) || !okT(tB) || m < 0 || n < 0 || k < 0 || ldc < max(1, n) {
		return false
	}
	ar, ac := m, k // stored rows and columns of A
	if tA != blas.NoTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB != blas.NoTrans {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	return (ar == 0 || len(a) >= (ar-1)*lda+ac) && (br == 0 || len(b) >= (br-1)*ldb+bc) && len(c) >= (m-1)*ldc+n
}

// scale multiplies C by beta (beta 0 sets it to zero, whatever it held, as BLAS does).
func scale(m, n int, beta float64, c []float64, ldc int) {
	switch beta {
	case 1:
	case 0:
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
	default:
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// panel is the number of columns of B in a packed panel, the width of the kernel's block of C.
const panel = 8

// packs holds buffers for packed panels, so that a product allocates nothing (the verifier makes
// thousands a second).
var packs = sync.Pool{New: func() any { return new([]float64) }}

// pack copies op(B), k x n, into panels of 8 columns, each k rows of 8 contiguous values, the last panel
// padded with zeros, in *buf (grown when too small) and returns them.
func pack(trans bool, n, k int, b []float64, ldb int, buf *[]float64) []float64 {
	panels := (n + panel - 1) / panel
	if cap(*buf) < panels*k*panel {
		*buf = make([]float64, panels*k*panel)
	}
	bp := (*buf)[:panels*k*panel]
	for p := 0; p < panels; p++ {
		dst := bp[p*k*panel : (p+1)*k*panel]
		j0, w := p*panel, min(panel, n-p*panel)
		if w < panel {
			clear(dst)
		}
		if !trans {
			for l := 0; l < k; l++ {
				copy(dst[l*panel:l*panel+w], b[l*ldb+j0:l*ldb+j0+w])
			}
			continue
		}
		for j := 0; j < w; j++ { // op(B)[l][j0+j] = b[(j0+j)*ldb + l]
			col := b[(j0+j)*ldb : (j0+j)*ldb+k]
			for l, v := range col {
				dst[l*panel+j] = v
			}
		}
	}
	return bp
}

// rowBlock adds alpha * op(A)[i0:i0+rows] * op(B) to C's rows i0..i0+rows-1 (rows <= 4), panel by
// panel; op(A)[i][l] is a[i*rs + l*cs].
func rowBlock(i0, rows, n, k int, alpha float64, a []float64, rs, cs int, bp []float64, c []float64, ldc int) {
	var tile [4 * panel]float64
	for p := 0; p*panel < n; p++ {
		j0, w := p*panel, min(panel, n-p*panel)
		pb := bp[p*k*panel : (p+1)*k*panel]
		if rows == 4 && w == panel {
			kernel4x8(k, &a[i0*rs], rs, cs, &pb[0], &c[i0*ldc+j0], ldc, alpha)
			continue
		}
		// An edge block: the kernel (or the plain loop, for fewer than 4 rows) writes a zeroed tile.
		clear(tile[:])
		if rows == 4 {
			kernel4x8(k, &a[i0*rs], rs, cs, &pb[0], &tile[0], panel, alpha)
		} else {
			for r := 0; r < rows; r++ {
				t := tile[r*panel : r*panel+panel]
				for l := 0; l < k; l++ {
					v := a[(i0+r)*rs+l*cs]
					bl := pb[l*panel : l*panel+panel]
					for j := range t {
						t[j] += v * bl[j]
					}
				}
				for j := range t {
					t[j] *= alpha
				}
			}
		}
		for r := 0; r < rows; r++ {
			row := c[(i0+r)*ldc+j0 : (i0+r)*ldc+j0+w]
			for j := range row {
				row[j] += tile[r*panel+j]
			}
		}
	}
}
