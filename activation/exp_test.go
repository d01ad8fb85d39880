package activation

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refPrec is the precision of the reference values below, far beyond float64's 53 bits.
const refPrec = 300

// refExp is e^x to about 270 bits, by a method of its own: e^(x/2^24) by its Taylor series (40 terms,
// |x/2^24| < 1e-4), squared 24 times.
func refExp(x float64) *big.Float {
	const halvings = 24
	y := new(big.Float).SetPrec(refPrec).SetFloat64(x)
	y.SetMantExp(y, -halvings)
	sum := new(big.Float).SetPrec(refPrec).SetInt64(1)
	term := new(big.Float).SetPrec(refPrec).SetInt64(1)
	for n := int64(1); n <= 40; n++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetPrec(refPrec).SetInt64(n))
		sum.Add(sum, term)
	}
	for range halvings {
		sum.Mul(sum, sum)
	}
	return sum
}

// errorOf returns got - want, and that in ulps of want (rounded to float64).
func errorOf(got float64, want *big.Float) (abs, ulps float64) {
	w, _ := want.Float64()
	w = math.Abs(w)
	d := new(big.Float).SetPrec(refPrec).SetFloat64(got)
	d.Sub(d, want)
	abs, _ = d.Float64()
	return abs, math.Abs(abs) / (math.Nextafter(w, math.Inf(1)) - w)
}

// accuracyInputs are random inputs where networks' pre-activations lie, and across exp's fast range.
func accuracyInputs(n int) []float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, n)
	for i := range xs {
		switch i % 4 {
		case 0:
			xs[i] = rng.NormFloat64() * 2
		case 1:
			xs[i] = rng.NormFloat64() / 20 // around the switch to tanh's polynomial at 1/32
		case 2:
			xs[i] = (2*rng.Float64() - 1) * 30
		default:
			xs[i] = (2*rng.Float64() - 1) * 700
		}
	}
	return xs
}

// TestExpAccuracy: exp is within 1 ulp of e^x, as math.Exp claims for itself.
func TestExpAccuracy(t *testing.T) {
	worst := 0.0
	for _, x := range append(accuracyInputs(20000), -700, 700, -1e-300, 1e-300, 0.5*math.Ln2/expTableSize) {
		if _, ulps := errorOf(exp(x), refExp(x)); ulps > worst {
			worst = ulps
			if ulps > 1 {
				t.Errorf("exp(%v) = %v is %.2f ulps off", x, exp(x), ulps)
			}
		}
	}
	t.Logf("worst error %.3f ulps", worst)
}

// TestExpSpecialCases: outside the table method's range, and at its edges, exp is math.Exp's value or
// within an ulp of it.
func TestExpSpecialCases(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1,
		700, -700, math.Nextafter(700, 800), 709.7, 710, 1000, -708, -740, -745, -746, -1000} {
		got, want := exp(x), math.Exp(x)
		same := got == want || math.IsNaN(got) && math.IsNaN(want) ||
			math.Abs(got-want) <= (math.Nextafter(want, math.Inf(1))-want)
		if !same {
			t.Errorf("exp(%v) = %v, math.Exp %v", x, got, want)
		}
	}
	if exp(0) != 1 {
		t.Errorf("exp(0) = %v, want 1", exp(0))
	}
}

// TestExpm1NegAccuracy: expm1Neg is within 2 ulps of e^x - 1 for x <= 0 (refExp's, minus 1 exactly),
// near 0 (where e^x - 1 cancels), around the switch (expm1Switch), and far out; and -1, NaN, 0 where math.Expm1
// has them.
func TestExpm1NegAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	xs := []float64{expm1Switch, math.Nextafter(expm1Switch, 0), math.Log(0.75), -0.25, -1e-30, -1e-10, -700, -40}
	for i := range 20000 {
		switch i % 4 {
		case 0:
			xs = append(xs, -math.Abs(rng.NormFloat64())*2)
		case 1:
			xs = append(xs, -rng.Float64()*0.3)
		case 2:
			xs = append(xs, expm1Switch+(2*rng.Float64()-1)*0.02)
		default:
			xs = append(xs, -rng.Float64()*700)
		}
	}
	one := new(big.Float).SetPrec(refPrec).SetInt64(1)
	worst := 0.0
	for _, x := range xs {
		want := new(big.Float).SetPrec(refPrec).Sub(refExp(x), one)
		if _, ulps := errorOf(expm1Neg(x), want); ulps > worst {
			worst = ulps
			if ulps > 2 {
				t.Errorf("expm1Neg(%v) = %v is %.2f ulps off", x, expm1Neg(x), ulps)
			}
		}
	}
	t.Logf("worst error %.3f ulps", worst)
	if expm1Neg(math.Inf(-1)) != -1 || expm1Neg(-1000) != -1 || expm1Neg(0) != 0 || !math.IsNaN(expm1Neg(math.NaN())) {
		t.Errorf("expm1Neg(-Inf, -1000, 0, NaN) = %v, %v, %v, %v", expm1Neg(math.Inf(-1)), expm1Neg(-1000), expm1Neg(0), expm1Neg(math.NaN()))
	}
}

// TestSigmoidTanhAccuracy checks sigmoid within 3 ulps and tanh within 2.5e-16 absolutely (and 2 ulps
// below 1/32) against exactSmooth.
func TestSigmoidTanhAccuracy(t *testing.T) {
	var sigWorst, tanhWorst, tanhSmallWorst float64
	for _, x := range append(accuracyInputs(8000), 1.0/32, math.Nextafter(1.0/32, 0), 19.1, -19.1, 1e-30) {
		if _, ulps := errorOf(sigmoid(x), exactSmooth("sigmoid", x)); ulps > 3 {
			t.Errorf("sigmoid(%v) = %v is %.2f ulps off", x, sigmoid(x), ulps)
		} else {
			sigWorst = math.Max(sigWorst, ulps)
		}
		if math.Abs(x) > 300 {
			continue // e^2x beyond what the reference needs; tanh is ±1 there, as checked below
		}
		abs, ulps := errorOf(tanh(x), exactSmooth("tanh", x))
		if math.Abs(abs) > 2.5e-16 || math.Abs(x) < 1.0/32 && ulps > 2 {
			t.Errorf("tanh(%v) = %v is %.3g off (%.2f ulps)", x, tanh(x), abs, ulps)
		}
		tanhWorst = math.Max(tanhWorst, math.Abs(abs))
		if math.Abs(x) < 1.0/32 {
			tanhSmallWorst = math.Max(tanhSmallWorst, ulps)
		}
	}
	for _, x := range []float64{19.1, 300, 1000, math.Inf(1)} {
		if tanh(x) != 1 || tanh(-x) != -1 {
			t.Errorf("tanh(±%v) = %v, %v, want ±1", x, tanh(x), tanh(-x))
		}
	}
	if tanh(0) != 0 || sigmoid(0) != 0.5 || sigmoid(-1000) != 0 || sigmoid(1000) != 1 {
		t.Errorf("tanh(0) = %v, sigmoid(0, -1000, 1000) = %v, %v, %v", tanh(0), sigmoid(0), sigmoid(-1000), sigmoid(1000))
	}
	t.Logf("worst: sigmoid %.2f ulps, tanh %.3g absolutely, %.2f ulps below 1/32", sigWorst, tanhWorst, tanhSmallWorst)
}

// BenchmarkApply: sigmoid, tanh and elu on 4096 values (a layer of 64 neurons for a batch of 64), against the
// standard library's functions in the same loop.
func BenchmarkApply(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float64, 4096)
	for i := range src {
		src[i] = rng.NormFloat64() * 2
	}
	xs := make([]float64, len(src))
	for _, name := range []string{"sigmoid", "tanh", "elu"} {
		a, _ := New(name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				copy(xs, src)
				a.Apply(xs)
			}
		})
	}
	b.Run("math.Exp-sigmoid", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			for i, x := range xs {
				xs[i] = 1 / (1 + math.Exp(-x))
			}
		}
	})
	b.Run("math.Expm1-elu", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			for i, x := range xs {
				if x <= 0 {
					xs[i] = math.Expm1(x)
				}
			}
		}
	})
	b.Run("math.Tanh", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			for i, x := range xs {
				xs[i] = math.Tanh(x)
			}
		}
	})
}

// exactSmooth returns sigmoid or tanh at z to about 270 bits, from refExp: 1/(1 + e^-z) and
// (e^2z - 1)/(e^2z + 1).
func exactSmooth(name string, z float64) *big.Float {
	one := new(big.Float).SetPrec(refPrec).SetInt64(1)
	if name == "sigmoid" {
		s := new(big.Float).SetPrec(refPrec).Add(one, refExp(-z))
		return s.Quo(one, s)
	}
	e2 := refExp(2 * z)
	th := new(big.Float).SetPrec(refPrec).Sub(e2, one)
	return th.Quo(th, new(big.Float).SetPrec(refPrec).Add(e2, one))
}

// TestSmoothLinesBoundTheExactFunction checks every kind of line the verifier takes for sigmoid and tanh
// (Relax's, RelaxParallel's, and the tangent families at several points) against the exact function, in
// exact arithmetic and with no tolerance: the margins must cover the rounding of this package's sigmoid,
// tanh and their derivatives. Intervals reach widths of 800, where a slope's error counts most.
func TestSmoothLinesBoundTheExactFunction(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	type line struct {
		s, b  float64
		upper bool
	}
	for _, a := range []Activation{Sigmoid, Tanh} {
		for trial := 0; trial < 150; trial++ {
			scale := []float64{0.01, 1, 5, 40, 400}[trial%5]
			l := (2*rng.Float64() - 1) * scale
			u := l + rng.Float64()*scale
			if trial%3 == 0 {
				l, u = -rng.Float64()*scale, rng.Float64()*scale // across the inflection point
			}
			var lines []line
			for _, r := range []Relaxation{a.Relax(l, u), a.RelaxParallel(l, u)} {
				lines = append(lines, line{r.LowerSlope, r.LowerIntercept, false}, line{r.UpperSlope, r.UpperIntercept, true})
			}
			for _, upper := range []bool{true, false} {
				if tg := a.Tangents(l, u, upper); tg.Free {
					for _, th := range []float64{0, 0.5, 1, tg.Start, rng.Float64()} {
						s, b, _, _ := tg.Line(th)
						lines = append(lines, line{s, b, upper})
					}
				}
			}
			for i := 0; i <= 24; i++ {
				z := l + (u-l)*float64(i)/24
				f := exactSmooth(a.Name, z)
				for _, ln := range lines {
					v := new(big.Float).SetPrec(refPrec).SetFloat64(ln.s)
					v.Mul(v, new(big.Float).SetPrec(refPrec).SetFloat64(z))
					v.Add(v, new(big.Float).SetPrec(refPrec).SetFloat64(ln.b))
					if c := v.Cmp(f); ln.upper && c < 0 || !ln.upper && c > 0 {
						ff, _ := f.Float64()
						t.Fatalf("%s on [%v, %v]: line %v z + %v (upper %v) crosses f at z = %v (f = %v)", a, l, u, ln.s, ln.b, ln.upper, z, ff)
					}
				}
			}
		}
	}
}

// TestApplyVector: Apply's vector loops (four values at a time, where the CPU has AVX2) give Value to the
// bit, on slices of every length mod 4, with values in every branch: below tanh's 1/32 switch, on
// either side of elu's switch to its polynomial, both signs, beyond exp's fast range (where the loops
// leave the group to Value), infinities and NaN.
func TestApplyVector(t *testing.T) {
	if !hasVec {
		t.Log("no AVX2 here: Apply is scalar; the comparison still runs")
	}
	defer func(h bool) { hasVec = h }(hasVec)
	for _, vec := range []bool{hasVec, false} {
		hasVec = vec
		testApplyVector(t)
	}
}

func testApplyVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	special := []float64{0, math.Copysign(0, -1), 1.0 / 32, -1.0 / 32, math.Nextafter(1.0/32, 0), 19.1, -19.1,
		350, -350, math.Nextafter(350, 400), 700, -700, 700.5, -710, 800, -800, math.Inf(1), math.Inf(-1), math.NaN(),
		expm1Switch, math.Nextafter(expm1Switch, 0), math.Nextafter(expm1Switch, -1)}
	for _, name := range []string{"sigmoid", "tanh", "elu", "elu(0.0001220703125)", "elu(2.5)"} {
		act, err := Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 70; n++ {
			in := make([]float64, n)
			for i := range in {
				switch rng.IntN(4) {
				case 0:
					in[i] = rng.NormFloat64() / 30
				case 1:
					in[i] = rng.NormFloat64() * 4
				case 2:
					in[i] = (2*rng.Float64() - 1) * 400
				default:
					if rng.IntN(4) == 0 {
						in[i] = special[rng.IntN(len(special))]
					} else {
						in[i] = rng.NormFloat64()
					}
				}
			}
			got := append([]float64(nil), in...)
			act.Apply(got)
			for i, x := range in {
				want := act.Value(x)
				if math.Float64bits(got[i]) != math.Float64bits(want) && !(math.IsNaN(got[i]) && math.IsNaN(want)) {
					t.Fatalf("%s, vector loops %v, %d values: value %d (%v): Apply gives %v, Value %v", name, hasVec, n, i, x, got[i], want)
				}
			}
		}
	}
}
