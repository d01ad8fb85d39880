package verify

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// randomConj returns a conjunction of m random constraints on the outputs.
func randomConj(rng *rand.Rand, outs, m int) property.Conjunction {
	conj := make(property.Conjunction, m)
	for j := range conj {
		c := make([]float64, outs)
		for i := range c {
			c[i] = rng.NormFloat64()
		}
		conj[j] = property.Constraint{Coef: c, Bound: rng.NormFloat64()}
	}
	return conj
}

// TestAlphaGradientMatchesFiniteDifferences checks the slopes' gradient (A_kj * v_kj from one forward
// pass of the relaxed network) against central differences of the bound itself.
func TestAlphaGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	checked := 0
	for trial := 0; trial < 20; trial++ {
		net := nn.Random(rng, []int{3, 10, 10, 4}, activation.ReLU, activation.Identity)
		box := randomBox(rng, 3, 0.8)
		rx := crown(net, box)
		o := newAlphaOpt(net)
		conj := randomConj(rng, 4, 2)
		lambda := []float64{0.3, 0.7}
		for k := range o.alpha {
			for j := range o.alpha[k] {
				o.alpha[k][j] = 0.2 + 0.6*rng.Float64() // away from the clip at 0 and 1
			}
		}
		o.bound(rx, box, conj, lambda)
		o.forward(rx)
		for k := range o.alpha {
			for j := range o.alpha[k] {
				if !o.unstable(rx, k, j) || o.coefs[k][j] <= 0 {
					continue
				}
				g := o.coefs[k][j] * o.pre[k][j]
				const h = 1e-6
				a := o.alpha[k][j]
				o.alpha[k][j] = a + h
				up, _ := o.bound(rx, box, conj, lambda)
				o.alpha[k][j] = a - h
				down, _ := o.bound(rx, box, conj, lambda)
				o.alpha[k][j] = a
				o.bound(rx, box, conj, lambda) // restore the recorded pass
				o.forward(rx)
				fd := (up - down) / (2 * h)
				// The bound is piecewise linear in a slope (the minimizing corner can switch); skip kinks.
				if math.Abs(fd-g) > 1e-5*(1+math.Abs(g)) {
					if math.Abs(up+down-2*mustBound(o, rx, box, conj, lambda)) > 1e-9 {
						continue
					}
					t.Fatalf("trial %d layer %d neuron %d: gradient %g, finite difference %g", trial, k, j, g, fd)
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d gradients checked", checked)
	}
}

func mustBound(o *alphaOpt, rx *relaxed, box property.Box, conj property.Conjunction, lambda []float64) float64 {
	v, _ := o.bound(rx, box, conj, lambda)
	return v
}

// TestAlphaBoundIsSoundAndNoLooser: the optimized bound (relu slopes, or tangent points of sigmoid and
// tanh) is never below CROWN's own bound of the same mix, and never above the mix's smallest value on 4000
// samples of the box.
func TestAlphaBoundIsSoundAndNoLooser(t *testing.T) {
	for _, act := range []activation.Activation{activation.ReLU, activation.Tanh, activation.Sigmoid} {
		t.Run(act.Name, func(t *testing.T) { testAlphaBound(t, act) })
	}
}

func testAlphaBound(t *testing.T, act activation.Activation) {
	rng := rand.New(rand.NewPCG(5, 1))
	improved := 0
	for trial := 0; trial < 40; trial++ {
		net := nn.Random(rng, []int{3, 12, 12, 3}, act, activation.Identity)
		if act != activation.ReLU {
			scaleWeights(net, 3) // wide pre-activation intervals, across the inflection point too
		}
		box := randomBox(rng, 3, []float64{0.1, 0.5, 1.5}[trial%3])
		rx := crown(net, box)
		conj := randomConj(rng, 3, 1+trial%3)
		lambda := make([]float64, len(conj))
		for j := range lambda {
			lambda[j] = 1 / float64(len(conj))
		}
		f := linear{coef: make([]float64, 3)}
		for j, con := range conj {
			for i, a := range con.Coef {
				f.coef[i] += lambda[j] * a
			}
			f.c -= lambda[j] * con.Bound
		}
		base, _ := rx.backSubstitute(net, box, len(net.Layers)-1, f, true)
		opt, _ := newAlphaOpt(net).optimize(rx, box, conj, lambda, 30, nil)
		if opt < base-1e-9*(1+math.Abs(base)) {
			t.Fatalf("trial %d: optimized %g below CROWN %g", trial, opt, base)
		}
		if opt > base+1e-6 {
			improved++
		}
		// The mix is a lower bound of the conjunction's best weighting, not of this lambda's value: check
		// the pointwise maximum over the weights, max_j (c_j·y - b_j), which every mix bounds from below.
		x := box.Sample(rng, 4000)
		y := net.Forward(x)
		for r := 0; r < 4000; r++ {
			best := math.Inf(-1)
			for _, con := range conj {
				best = math.Max(best, con.Value(y[3*r:3*r+3]))
			}
			if opt > best {
				t.Fatalf("trial %d: bound %g above the sampled value %g", trial, opt, best)
			}
		}
	}
	if improved == 0 {
		t.Fatalf("the slopes never improved on CROWN")
	}
	t.Logf("%s: improved on %d of 40", act.Name, improved)
}

// scaleWeights multiplies every weight of net by s.
func scaleWeights(net *nn.Network, s float64) {
	for k := range net.Layers {
		for i := range net.Layers[k].W {
			net.Layers[k].W[i] *= s
		}
	}
}

// TestTangentGradientMatchesFiniteDifferences checks the gradient of the bound with respect to the
// tangent points of tanh and sigmoid neurons (a * (dslope * v + dintercept)) against central differences
// of the bound itself.
func TestTangentGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 10))
	checked := 0
	for trial := 0; trial < 20; trial++ {
		act := []activation.Activation{activation.Tanh, activation.Sigmoid}[trial%2]
		net := nn.Random(rng, []int{3, 10, 10, 4}, act, activation.Identity)
		scaleWeights(net, 3)
		box := randomBox(rng, 3, 0.8)
		rx := crown(net, box)
		o := newAlphaOpt(net)
		o.reset(rx, nil)
		conj := randomConj(rng, 4, 2)
		lambda := []float64{0.3, 0.7}
		// Every free family of every neuron at a random tangent point, away from the ends.
		for k := range o.tangents {
			if !o.tangents[k] {
				continue
			}
			for j := range o.fam[0][k] {
				for side := range 2 {
					b := rx.bounds[k][j]
					fam := act.Tangents(b.Lo, b.Hi, side == 1)
					o.fam[side][k][j], o.famSet[side][k][j] = fam, true
					if fam.Free {
						o.theta[side][k][j] = 0.2 + 0.6*rng.Float64()
						o.ls[side][k][j], o.lb[side][k][j], o.ld[side][k][j], o.lc[side][k][j] = fam.Line(o.theta[side][k][j])
						o.tuned[side][k][j] = true
					}
				}
			}
		}
		set := func(side, k, j int, th float64) {
			o.theta[side][k][j] = th
			o.ls[side][k][j], o.lb[side][k][j], o.ld[side][k][j], o.lc[side][k][j] = o.fam[side][k][j].Line(th)
		}
		o.bound(rx, box, conj, lambda)
		o.forward(rx)
		for k := range o.tangents {
			if !o.tangents[k] {
				continue
			}
			for j, a := range o.coefs[k] {
				side := sideOf(a)
				if a == 0 || !o.tuned[side][k][j] {
					continue
				}
				g := a * (o.ld[side][k][j]*o.pre[k][j] + o.lc[side][k][j])
				const h = 1e-6
				th := o.theta[side][k][j]
				set(side, k, j, th+h)
				up := mustBound(o, rx, box, conj, lambda)
				set(side, k, j, th-h)
				down := mustBound(o, rx, box, conj, lambda)
				set(side, k, j, th)
				mid := mustBound(o, rx, box, conj, lambda) // also restores the recorded pass
				o.forward(rx)
				fd := (up - down) / (2 * h)
				if math.Abs(fd-g) > 1e-4*(1+math.Abs(g)) {
					// A kink: the minimizing corner switched, or the line changed form.
					if math.Abs(up+down-2*mid) > 1e-9 {
						continue
					}
					t.Fatalf("trial %d layer %d neuron %d: gradient %g, finite difference %g", trial, k, j, g, fd)
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d gradients checked", checked)
	}
	t.Logf("%d gradients checked", checked)
}

// TestReluSplitBoundsHoldOnTheRestrictedInputs: with one relu's sign fixed, the bound (CROWN with the
// neuron clipped, then optimized slopes and beta) holds on every sample of the box where the relu has
// that sign, the beta gradient matches finite differences, and beta tightens the bound somewhere.
func TestReluSplitBoundsHoldOnTheRestrictedInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2))
	tighter, checkedGrad := 0, 0
	for trial := 0; trial < 60; trial++ {
		net := nn.Random(rng, []int{3, 10, 10, 3}, activation.ReLU, activation.Identity)
		box := randomBox(rng, 3, 0.7)
		whole := crown(net, box)
		// An unstable neuron of the first or second layer.
		var cands []neuronSplit
		for k := 0; k < 2; k++ {
			for j, b := range whole.bounds[k] {
				if b.Lo < 0 && b.Hi > 0 {
					cands = append(cands, neuronSplit{k, j, rng.IntN(2) == 0})
				}
			}
		}
		if len(cands) == 0 {
			continue
		}
		sp := []neuronSplit{cands[rng.IntN(len(cands))]}
		bd := newBounder(net)
		rx := bd.crown(box, whole.bounds, sp)
		if rx.empty {
			continue
		}
		conj := randomConj(rng, 3, 2)
		lambda := []float64{0.5, 0.5}
		o := newAlphaOpt(net)
		noBeta, _ := o.optimize(rx, box, conj, lambda, 0, sp)
		v, _ := o.optimize(rx, box, conj, lambda, 40, sp)
		if v > noBeta+1e-6 {
			tighter++
		}
		// Finite differences of beta.
		o.reset(rx, sp)
		o.beta[sp[0].k][sp[0].j] = 0.3
		o.bound(rx, box, conj, lambda)
		o.forward(rx)
		g := -o.sign[sp[0].k][sp[0].j] * o.pre[sp[0].k][sp[0].j]
		const h = 1e-6
		o.beta[sp[0].k][sp[0].j] = 0.3 + h
		up := mustBound(o, rx, box, conj, lambda)
		o.beta[sp[0].k][sp[0].j] = 0.3 - h
		down := mustBound(o, rx, box, conj, lambda)
		o.beta[sp[0].k][sp[0].j] = 0.3
		mid := mustBound(o, rx, box, conj, lambda)
		if math.Abs(up+down-2*mid) < 1e-9 { // not at a kink
			if fd := (up - down) / (2 * h); math.Abs(fd-g) > 1e-5*(1+math.Abs(g)) {
				t.Fatalf("trial %d: beta gradient %g, finite difference %g", trial, g, fd)
			}
			checkedGrad++
		}
		// Soundness on the restricted inputs.
		x := box.Sample(rng, 4000)
		tr := net.Trace(x)
		y := tr[len(tr)-1]
		l := &net.Layers[sp[0].k]
		for r := 0; r < 4000; r++ {
			// The split neuron's pre-activation, recomputed from the layer below.
			in := x[3*r : 3*r+3]
			if sp[0].k > 0 {
				in = tr[sp[0].k-1][r*l.In : (r+1)*l.In]
			}
			z := l.B[sp[0].j] + floats.Dot(l.W[sp[0].j*l.In:(sp[0].j+1)*l.In], in)
			if (z >= 0) != sp[0].active && z != 0 {
				continue
			}
			best := math.Inf(-1)
			for _, con := range conj {
				best = math.Max(best, con.Value(y[3*r:3*r+3]))
			}
			if v > best {
				t.Fatalf("trial %d: bound %g above the sampled value %g on the restricted inputs", trial, v, best)
			}
		}
	}
	if tighter == 0 || checkedGrad < 10 {
		t.Fatalf("beta tightened %d bounds, %d gradients checked", tighter, checkedGrad)
	}
	t.Logf("beta tightened %d bounds; %d gradients checked", tighter, checkedGrad)
}
