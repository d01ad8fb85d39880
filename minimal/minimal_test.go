package minimal

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/birdnn/birdnn/lp"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// linear2 is the one-layer network y = W x + b with W = [[1, 0], [0, 1]], b = 0.
func linear2() *nn.Network {
	return &nn.Network{Layers: []nn.Layer{{In: 2, Out: 2, W: []float64{1, 0, 0, 1}, B: []float64{0, 0}, Act: activation.Identity}}}
}

// Hand-solved: at x = (1, 1), y = (1, 1); asking y1 - y0 >= 1 needs ΔW with (Δ10 + Δ11) - (Δ00 + Δ01) >= 1.
// The L-infinity optimum spreads it over the four weights: 1/4 each. The L1 optimum is 1 (any split
// whose absolute values sum to 1). With biases free too, L-infinity spreads over six entries: 1/6.
func TestHandSolved(t *testing.T) {
	in := []Input{{X: []float64{1, 1}, Rows: []Row{{Coef: []float64{-1, 1}, Bound: 1}}}}
	cases := []struct {
		norm Norm
		bias bool
		want float64
	}{
		{LInf, false, 0.25},
		{L1, false, 1},
		{LInf, true, 1.0 / 6},
		{L1, true, 1},
	}
	for _, c := range cases {
		res, err := Solve(context.Background(), linear2(), in, Options{Layer: -1, Norm: c.norm, Bias: c.bias})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.Objective-c.want) > 1e-8 || math.Abs(res.Change-c.want) > 1e-7 {
			t.Errorf("%v bias %v: optimum %v change %v, want %v", c.norm, c.bias, res.Objective, res.Change, c.want)
		}
		if res.LowerBound > res.Objective+1e-12 || c.want-res.LowerBound > 1e-8 {
			t.Errorf("%v bias %v: certified bound %v, optimum %v", c.norm, c.bias, res.LowerBound, c.want)
		}
		y := res.Net.Forward([]float64{1, 1})
		if y[1]-y[0] < 1-1e-7 {
			t.Errorf("%v bias %v: changed network gives %v", c.norm, c.bias, y)
		}
		if res.Violated != 0 {
			t.Errorf("%v: %d rows violated", c.norm, res.Violated)
		}
	}
}

// Random ReLU networks: the last-layer optimum and its certificate agree, the changed network satisfies
// every row under a plain forward pass, and no random feasible change of smaller norm exists along the
// way from the original: scaling the optimal change by 0.99 must break a row.
func TestRandomCertificates(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 30; trial++ {
		net := nn.Random(r, []int{4, 8, 6, 3}, activation.ReLU, activation.Identity)
		var in []Input
		for i := 0; i < 1+r.IntN(5); i++ {
			x := make([]float64, 4)
			for q := range x {
				x[q] = r.Float64()*2 - 1
			}
			y := net.Forward(x)
			lo := nn.Argmin(y)
			want := (lo + 1) % 3
			var rows []Row
			for j := 0; j < 3; j++ {
				if j != want {
					c := make([]float64, 3)
					c[j], c[want] = 1, -1 // want becomes the least output by 0.05
					rows = append(rows, Row{Coef: c, Bound: 0.05})
				}
			}
			in = append(in, Input{X: x, Rows: rows})
		}
		for _, norm := range []Norm{LInf, L1} {
			res, err := Solve(context.Background(), net, in, Options{Layer: -1, Norm: norm, Bias: true})
			if errors.Is(err, ErrInfeasible) {
				continue
			}
			if err != nil {
				t.Fatalf("trial %d %v: %v", trial, norm, err)
			}
			if res.Violated != 0 {
				t.Errorf("trial %d %v: %d rows violated", trial, norm, res.Violated)
			}
			if res.Gap > 1e-6 || res.LowerBound > res.Objective*(1+1e-9)+1e-12 {
				t.Errorf("trial %d %v: optimum %v, certified bound %v", trial, norm, res.Objective, res.LowerBound)
			}
			lazy, err := Solve(context.Background(), net, in, Options{Layer: -1, Norm: norm, Bias: true, Lazy: true})
			if err != nil {
				t.Fatalf("trial %d %v lazy: %v", trial, norm, err)
			}
			if math.Abs(lazy.Objective-res.Objective) > 1e-7*(1+res.Objective) || lazy.Violated != 0 {
				t.Errorf("trial %d %v: lazy optimum %v (%d violated), full %v", trial, norm, lazy.Objective, lazy.Violated, res.Objective)
			}
			// A change 1% smaller in every entry is no longer feasible.
			pr, _ := build(net, in, Options{Layer: -1, Bias: true})
			small := make([]float64, len(res.Delta))
			for i, d := range res.Delta {
				small[i] = 0.99 * d
			}
			if v, _ := pr.check(pr.apply(small), in); v == 0 && res.Objective > 1e-6 {
				t.Errorf("trial %d %v: 0.99 times the optimum still satisfies every row", trial, norm)
			}
		}
	}
}

// Hidden layers: with the activation pattern fixed, a ReLU network is affine in the layer's change.
// The solver's answer must satisfy the rows when the pattern held, and say when it moved.
func TestHiddenLayer(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	net := nn.Random(r, []int{3, 6, 5, 2}, activation.ReLU, activation.Identity)
	x := []float64{0.3, -0.2, 0.5}
	y := net.Forward(x)
	c := []float64{-1, 1}
	in := []Input{{X: x, Rows: []Row{{Coef: c, Bound: y[1] - y[0] + 0.01}}}}
	res, err := Solve(context.Background(), net, in, Options{Layer: 1, Norm: L1, Bias: true})
	if errors.Is(err, ErrInfeasible) {
		t.Skip("this draw's pattern leaves no path")
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.PatternMoved == 0 && res.Violated != 0 {
		t.Errorf("pattern held but %d rows violated", res.Violated)
	}
	if res.Layer != 1 {
		t.Errorf("layer %d", res.Layer)
	}
}

// No change of the output layer can make y0 exceed y0 + 1: the rows y0 - y1 >= 1 and y1 - y0 >= 1
// contradict each other; the least total violation is 2.
func TestInfeasible(t *testing.T) {
	in := []Input{{X: []float64{1, 1}, Rows: []Row{{Coef: []float64{1, -1}, Bound: 1}, {Coef: []float64{-1, 1}, Bound: 1}}}}
	_, err := Solve(context.Background(), linear2(), in, Options{Layer: -1})
	var ie *InfeasibleError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an InfeasibleError", err)
	}
	if math.Abs(ie.LeastSlack-2) > 1e-6 {
		t.Errorf("least slack %v, want 2", ie.LeastSlack)
	}
	if math.Abs(ie.Bound-2) > 1e-6 {
		t.Errorf("proved lower bound %v, want 2", ie.Bound)
	}
}

// The elastic bound by hand: rows d0 + s0 >= 1 and -d0 + s1 >= 1 with |d0| <= 10. Multipliers (1, 1)
// prove 1 + 1 - 10·|1 - 1| = 2; (1, 0) prove 1 - 10 = -9; values outside [0, 1] are clipped.
func TestElasticBound(t *testing.T) {
	p := &lp.Problem{Rows: []lp.Row{{Idx: []int{0, 1}, Val: []float64{1, 1}, Lo: 1}, {Idx: []int{0, 2}, Val: []float64{-1, 1}, Lo: 1}}}
	for _, tt := range []struct {
		y    []float64
		want float64
	}{{[]float64{1, 1}, 2}, {[]float64{1, 0}, -9}, {[]float64{3, 1.5}, 2}, {[]float64{0.5, 0.5}, 1}, {[]float64{1}, 0}} {
		if got := elasticBound(p, tt.y, 1, 10); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("y %v: bound %v, want %v", tt.y, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	net := linear2()
	ok := []Row{{Coef: []float64{1, 0}, Bound: 0}}
	cases := []struct {
		name string
		in   []Input
		opt  Options
	}{
		{"no inputs", nil, Options{Layer: -1}},
		{"input size", []Input{{X: []float64{1}, Rows: ok}}, Options{Layer: -1}},
		{"row size", []Input{{X: []float64{1, 1}, Rows: []Row{{Coef: []float64{1}}}}}, Options{Layer: -1}},
		{"layer", []Input{{X: []float64{1, 1}, Rows: ok}}, Options{Layer: 3}},
		{"weight", []Input{{X: []float64{1, 1}, Rows: ok, Weight: -1}}, Options{Layer: -1}},
		{"bound", []Input{{X: []float64{1, 1}, Rows: []Row{{Coef: []float64{1, 0}, Bound: math.NaN()}}}}, Options{Layer: -1}},
	}
	for _, c := range cases {
		if _, err := Solve(context.Background(), net, c.in, c.opt); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	relu := linear2()
	relu.Layers[0].Act = activation.ReLU
	if _, err := Solve(context.Background(), relu, []Input{{X: []float64{1, 1}, Rows: ok}}, Options{Layer: -1}); err == nil {
		t.Error("a ReLU output layer: no error")
	}
}

// Free and Limit by hand, on the program of TestHandSolved (y1 - y0 >= 1 needs (Δ10 + Δ11) - (Δ00 +
// Δ01) >= 1): with only Δ10 free the least change is 1; with Δ10 and Δ11, 1/2 each; a limit of 0.5 on
// Δ10 alone leaves a violation of 0.5, and a limit of 0.2 on all four one of 1 - 0.8 = 0.2.
func TestFreeAndLimit(t *testing.T) {
	in := []Input{{X: []float64{1, 1}, Rows: []Row{{Coef: []float64{-1, 1}, Bound: 1}}}}
	for _, c := range []struct {
		free       []int
		limit      float64
		norm       Norm
		want       float64 // the optimum, or the least violation when infeasible
		infeasible bool
	}{
		{[]int{2}, 0, LInf, 1, false},
		{[]int{2}, 0, L1, 1, false},
		{[]int{2, 3}, 0, LInf, 0.5, false},
		{[]int{2, 3}, 0.6, L1, 1, false},
		{[]int{2}, 0.5, LInf, 0.5, true},
		{nil, 0.2, LInf, 0.2, true},
		{nil, 0.2, L1, 0.2, true},
	} {
		res, err := Solve(context.Background(), linear2(), in, Options{Layer: -1, Norm: c.norm, Free: c.free, Limit: c.limit})
		if c.infeasible {
			var ie *InfeasibleError
			if !errors.As(err, &ie) || math.Abs(ie.LeastSlack-c.want) > 1e-6 || ie.Bound > ie.LeastSlack+1e-9 {
				t.Errorf("free %v limit %v %v: %v, want infeasible with least violation %v", c.free, c.limit, c.norm, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.Change-c.want) > 1e-7 || len(res.Delta) != 4 {
			t.Errorf("free %v limit %v %v: change %v (delta %v), want %v", c.free, c.limit, c.norm, res.Change, res.Delta, c.want)
		}
		for i, d := range res.Delta {
			if !slices.Contains(c.free, i) && c.free != nil && d != 0 {
				t.Errorf("free %v: entry %d moved by %v", c.free, i, d)
			}
		}
		if y := res.Net.Forward([]float64{1, 1}); y[1]-y[0] < 1-1e-7 {
			t.Errorf("free %v: y = %v", c.free, y)
		}
	}
	for _, bad := range []Options{{Free: []int{}}, {Free: []int{4}}, {Free: []int{1, 1}}, {Limit: -1}, {Limit: math.Inf(1)}} {
		bad.Layer = -1
		if _, err := Solve(context.Background(), linear2(), in, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// Localize by hand: h = (1, 2) reaches an output layer with rows (-1, 0.5), (0, 0), (3, 1), so y =
// (0, 0, 5) for label 0. The violated row y0 - y2 >= 0 has coefficients +h on row 0's weights and -h on
// row 2's: w_20 scores 3·1 (index 4), w_21 1·2 (index 5), w_00 -(-1)·1 = 1 (index 0); w_01 scores
// nothing (0.5·2 pushes the right way). y0 - y1 >= 0 holds (a tie) and adds nothing.
func TestLocalize(t *testing.T) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 2, W: []float64{1, 0, 0, 1}, B: []float64{0, 0}, Act: activation.ReLU},
		{In: 2, Out: 3, W: []float64{-1, 0.5, 0, 0, 3, 1}, B: []float64{0, 0, 0}, Act: activation.Identity},
	}}
	in := []Input{{X: []float64{1, 2}, Rows: DecisionRows(3, 0, true, 0)}}
	got, err := Localize(net, in, Options{Layer: -1}, 3)
	if err != nil || !slices.Equal(got, []int{4, 5, 0}) {
		t.Errorf("Localize = %v, %v; want [4 5 0]", got, err)
	}
	if _, err := Localize(net, in, Options{Layer: -1, Free: []int{0}}, 3); err == nil {
		t.Error("Free set: no error")
	}
	if _, err := Localize(net, in, Options{Layer: -1}, 0); err == nil {
		t.Error("k = 0: no error")
	}
}

// TestUnitRows: one row on a hidden layer's own pre-activation, z_j >= z_j(x) + r, asks the layer's
// change for Σ_q Δ_jq h_q (+ Δb_j) >= r, whose least L-infinity change is r / ||h||_1 (r / (||h||_1 + 1)
// with the bias), by hand; the changed network meets the row under a plain forward pass, and a row of the
// wrong length is an error.
func TestUnitRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	net := nn.Random(rng, []int{3, 6, 4, 3}, activation.ReLU, activation.Identity)
	x := []float64{0.4, -0.7, 0.2}
	acts := net.Trace(x)
	h := acts[0]
	l := &net.Layers[1]
	const j, r = 2, 0.3
	z0 := l.B[j]
	h1 := 0.0
	for q, v := range h {
		z0 += l.Weight(j, q) * v
		h1 += math.Abs(v)
	}
	coef := make([]float64, 4)
	coef[j] = 1
	for _, bias := range []bool{false, true} {
		res, err := Solve(context.Background(), net, []Input{{X: x, UnitRows: []Row{{Coef: coef, Bound: z0 + r}}}}, Options{Layer: 1, Norm: LInf, Bias: bias})
		if err != nil {
			t.Fatal(err)
		}
		want := r / h1
		if bias {
			want = r / (h1 + 1)
		}
		if math.Abs(res.Change-want) > 1e-8*want {
			t.Errorf("bias %v: change %.12g, by hand %.12g", bias, res.Change, want)
		}
		if res.Violated != 0 || res.LowerBound > res.Change*(1+1e-9) || res.LowerBound < want*(1-1e-6) {
			t.Errorf("bias %v: violated %d, bound %g", bias, res.Violated, res.LowerBound)
		}
	}
	if _, err := Solve(context.Background(), net, []Input{{X: x, UnitRows: []Row{{Coef: []float64{1}, Bound: 0}}}}, Options{Layer: 1}); err == nil {
		t.Error("a unit row of 1 coefficient for 4 units: no error")
	}
}

// TestPatterns checks the inferred activation patterns and their rows on a layer worked out by hand:
// W = [[1, 0], [-1, 0], [1, -1]], b = 0, so z(1, 0) = (1, -1, 1), z(2, 0) = (2, -2, 2), z(0, 1) = (0, 0, -1).
func TestPatterns(t *testing.T) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 3, W: []float64{1, 0, -1, 0, 1, -1}, B: []float64{0, 0, 0}, Act: activation.ReLU},
		{In: 3, Out: 2, W: []float64{1, 0, 0, 0, 1, 0}, B: []float64{0, 0}, Act: activation.Identity},
	}}
	pats, err := Patterns(net, 0, []float64{1, 0, 2, 0, 0, 1}, []int{0, 0, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pats[0].On, []bool{true, false, true}) || !slices.Equal(pats[0].Off, []bool{false, true, false}) ||
		!slices.Equal(pats[1].On, []bool{false, false, false}) || !slices.Equal(pats[1].Off, []bool{true, true, true}) {
		t.Errorf("patterns %+v %+v", *pats[0], *pats[1])
	}
	rows := pats[0].Rows(0.1)
	want := []Row{{Coef: []float64{1, 0, 0}, Bound: 0.1}, {Coef: []float64{0, -1, 0}, Bound: 0.1}, {Coef: []float64{0, 0, 1}, Bound: 0.1}}
	if len(rows) != len(want) {
		t.Fatalf("rows %v", rows)
	}
	for i := range rows {
		if !slices.Equal(rows[i].Coef, want[i].Coef) || rows[i].Bound != want[i].Bound {
			t.Errorf("row %d: %v, want %v", i, rows[i], want[i])
		}
	}
	if got := ReachedUnits([]int{1, 4, 6}, 2, 3); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("reached units %v, want [0 2] (weights (0,1), (2,0) and unit 0's bias)", got)
	}
	sr := SignRows([]float64{1, -1, 1}, []int{0, 1})
	if len(sr) != 2 || sr[0].Coef[0] != 1 || sr[1].Coef[1] != -1 || sr[0].Bound != 0 {
		t.Errorf("sign rows %v", sr)
	}
	if _, err := Patterns(net, 0, []float64{1, 0}, []int{5}, 2); err == nil {
		t.Error("class 5 of 2: no error")
	}
}
