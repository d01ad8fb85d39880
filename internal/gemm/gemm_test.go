package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// naive is C = alpha op(A) op(B) + beta C by the definition, each sum in the order l = 0..k-1, with
// the sum of the products' sizes beside it for the error bound.
func naive(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) (want, size []float64) {
	want, size = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s, abs := 0.0, 0.0
			for l := 0; l < k; l++ {
				var av, bv float64
				if tA == blas.NoTrans {
					av = a[i*lda+l]
				} else {
					av = a[l*lda+i]
				}
				if tB == blas.NoTrans {
					bv = b[l*ldb+j]
				} else {
					bv = b[j*ldb+l]
				}
				s += av * bv
				abs += math.Abs(av * bv)
			}
			old := 0.0
			if beta != 0 {
				old = beta * c[i*ldc+j]
			}
			want[i*n+j] = alpha*s + old
			size[i*n+j] = math.Abs(alpha)*abs + math.Abs(old)
		}
	}
	return want, size
}

// TestDgemm checks Dgemm against the definition on shapes that take every path (the kernel's full and edge
// blocks, the plain loop for the last rows, gonum's for small products), with the kernel and without it.
func TestDgemm(t *testing.T) {
	if !hasKernel {
		t.Log("no AVX2 and FMA here: Dgemm is gonum's; the comparison still runs")
	}
	defer func(h bool) { hasKernel = h }(hasKernel)
	for _, kernel := range []bool{hasKernel, false} {
		hasKernel = kernel
		for _, serial := range []bool{false, true} {
			testDgemm(t, Implementation{Serial: serial})
		}
	}
}

func testDgemm(t *testing.T, impl Implementation) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	trans := []blas.Transpose{blas.NoTrans, blas.Trans}
	for _, sh := range []struct{ m, n, k int }{
		{64, 64, 64}, {67, 61, 5}, {4, 8, 1}, {5, 9, 130}, {513, 50, 50}, {3000, 5, 64}, {7, 3, 2000}, {1024, 64, 1},
	} {
		for _, tA := range trans {
			for _, tB := range trans {
				for _, ab := range [][2]float64{{1, 0}, {1, 1}, {-0.5, 2}, {0, 3}} {
					name := fmt.Sprintf("kernel=%v/serial=%v/%dx%dx%d/%c%c/alpha=%g,beta=%g", hasKernel, impl.Serial, sh.m, sh.n, sh.k, tA, tB, ab[0], ab[1])
					m, n, k := sh.m, sh.n, sh.k
					ar, ac := m, k
					if tA != blas.NoTrans {
						ar, ac = k, m
					}
					br, bc := k, n
					if tB != blas.NoTrans {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+3, bc+1, n+2 // strides past the rows' ends
					a, b, c := fill(ar*lda), fill(br*ldb), fill(m*ldc)
					want, size := naive(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					got := append([]float64(nil), c...)
					impl.Dgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], got, ldc)
					eps := 0x1p-52
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							g, w := got[i*ldc+j], want[i*n+j]
							// Both sums are within k+2 units of the exact value, relative to the size.
							if tol := 2 * float64(k+2) * eps * size[i*n+j]; math.Abs(g-w) > tol {
								t.Fatalf("%s: C[%d][%d] = %v, want %v (tolerance %g)", name, i, j, g, w, tol)
							}
						}
						for j := n; j < ldc; j++ { // the padding is untouched
							if got[i*ldc+j] != c[i*ldc+j] {
								t.Fatalf("%s: C[%d][%d], past the row's end, changed", name, i, j)
							}
						}
					}
				}
			}
		}
	}
}

func TestDgemmPanicsAsGonum(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(impl interface {
			Dgemm(blas.Transpose, blas.Transpose, int, int, int, float64, []float64, int, []float64, int, float64, []float64, int)
		})
	}{
		{"short A", func(impl interface {
			Dgemm(blas.Transpose, blas.Transpose, int, int, int, float64, []float64, int, []float64, int, float64, []float64, int)
		}) {
			impl.Dgemm(blas.NoTrans, blas.NoTrans, 64, 64, 64, 1, make([]float64, 10), 64, make([]float64, 4096), 64, 0, make([]float64, 4096), 64)
		}},
		{"bad ldc", func(impl interface {
			Dgemm(blas.Transpose, blas.Transpose, int, int, int, float64, []float64, int, []float64, int, float64, []float64, int)
		}) {
			impl.Dgemm(blas.NoTrans, blas.NoTrans, 64, 64, 64, 1, make([]float64, 4096), 64, make([]float64, 4096), 64, 0, make([]float64, 4096), 32)
		}},
	} {
		msg := func(impl interface {
			Dgemm(blas.Transpose, blas.Transpose, int, int, int, float64, []float64, int, []float64, int, float64, []float64, int)
		}) (r any) {
			defer func() { r = recover() }()
			tc.call(impl)
			return nil
		}
		got, want := msg(Implementation{}), msg(gonum.Implementation{})
		if want == nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: panic %v, gonum's %v", tc.name, got, want)
		}
	}
}

// BenchmarkDgemm compares the products of a training step of a 6 x 64 network on a batch of 2048 rows
// (forward, and the two of the backward pass) with gonum's.
func BenchmarkDgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int, zeros bool) []float64 {
		v := make([]float64, n)
		for i := range v {
			if v[i] = rng.NormFloat64(); zeros && v[i] < 0 {
				v[i] = 0
			}
		}
		return v
	}
	const rows, width = 2048, 64
	for _, impl := range []struct {
		name string
		d    interface {
			Dgemm(blas.Transpose, blas.Transpose, int, int, int, float64, []float64, int, []float64, int, float64, []float64, int)
		}
	}{{"gonum", gonum.Implementation{}}, {"gemm", Implementation{}}} {
		for _, zeros := range []bool{false, true} {
			x, w, c := fill(rows*width, zeros), fill(width*width, false), make([]float64, rows*width)
			kind := "dense"
			if zeros {
				kind = "relu"
			}
			b.Run(fmt.Sprintf("%s/%s/XW", impl.name, kind), func(b *testing.B) {
				for b.Loop() {
					impl.d.Dgemm(blas.NoTrans, blas.NoTrans, rows, width, width, 1, x, width, w, width, 0, c, width)
				}
			})
			b.Run(fmt.Sprintf("%s/%s/XWt", impl.name, kind), func(b *testing.B) {
				for b.Loop() {
					impl.d.Dgemm(blas.NoTrans, blas.Trans, rows, width, width, 1, x, width, w, width, 0, c, width)
				}
			})
			b.Run(fmt.Sprintf("%s/%s/XtY", impl.name, kind), func(b *testing.B) {
				for b.Loop() {
					impl.d.Dgemm(blas.Trans, blas.NoTrans, width, width, rows, 1, x, width, c, width, 0, w, width)
				}
			})
		}
	}
}
