package property

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/datasets"
)

const twoOutputs = `
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
`

func TestReadSmall(t *testing.T) {
	src := twoOutputs + `
(assert (>= X_0 -1))
(assert (<= X_0 1))
(assert (<= (* 2 X_1) 1))   ; X_1 <= 0.5
(assert (>= (- X_1) -1))    ; X_1 <= 1, looser
(assert (> X_1 0))
(assert (or (and (<= Y_0 Y_1) (>= (+ Y_0 (* -0.5 Y_1)) 3)) (<= Y_1 -2)))
`
	p, err := Read(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Inputs != 2 || p.Outputs != 2 || len(p.Cases) != 1 {
		t.Fatalf("got %d inputs, %d outputs, %d cases", p.Inputs, p.Outputs, len(p.Cases))
	}
	b := p.Cases[0].Box
	if b.Lo[0] != -1 || b.Hi[0] != 1 || b.Lo[1] != 0 || b.Hi[1] != 0.5 {
		t.Fatalf("box %v", b)
	}
	r := p.Cases[0].Unsafe
	// Margins computed by hand: conjunction 1 = {y0 - y1 <= 0, -y0 + 0.5 y1 <= -3}, conjunction 2 = {y1 <= -2}.
	tests := []struct {
		y      []float64
		margin float64
	}{
		{[]float64{4, 5}, math.Min(math.Max(4-5, -4+2.5+3), 5+2)}, // 1.5: second constraint of conj 1 fails
		{[]float64{8, 9}, math.Min(math.Max(-1, -8+4.5+3), 9+2)},  // -0.5: inside conj 1
		{[]float64{0, -3}, math.Min(math.Max(3, 0-1.5+3), -3+2)},  // -1: inside conj 2
		{[]float64{0, 0}, math.Min(math.Max(0, 3), 2)},            // 2
	}
	for _, tt := range tests {
		if got := r.Margin(tt.y); math.Abs(got-tt.margin) > 1e-12 {
			t.Errorf("margin(%v) = %v, want %v", tt.y, got, tt.margin)
		}
		if r.Unsafe(tt.y) != (tt.margin <= 0) {
			t.Errorf("unsafe(%v) = %v", tt.y, r.Unsafe(tt.y))
		}
		x := []float64{0, 0.25}
		if p.Unsafe(x, tt.y) != r.Unsafe(tt.y) {
			t.Errorf("property and region disagree at %v", tt.y)
		}
		if p.Unsafe([]float64{0, 0.75}, tt.y) {
			t.Errorf("input outside the box reported unsafe")
		}
	}
}

// TestLossGradient checks Region.Loss's gradient against finite differences and its value by hand.
func TestLossGradient(t *testing.T) {
	r := Region{
		{{Coef: []float64{1, -1, 0}, Bound: 0}, {Coef: []float64{0, 2, -1}, Bound: 1}},
		{{Coef: []float64{0, 0, 1}, Bound: -1}},
	}
	y := []float64{0.3, 0.1, -0.2}
	// Conj 1 margin max(0.2, 0.4-1) = 0.2... computed: 2*0.1 - (-0.2) - 1 = -0.6, so 0.2. Conj 2: -0.2+1 = 0.8.
	// Loss with want 1: (1-0.2) + (1-0.8) = 1.
	if got := r.Loss(y, 1, nil); math.Abs(got-1) > 1e-12 {
		t.Fatalf("loss %v, want 1", got)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 100; trial++ {
		for i := range y {
			y[i] = 4*rng.Float64() - 2
		}
		g := make([]float64, 3)
		r.Loss(y, 0.5, g)
		for i := range y {
			old := y[i]
			y[i] = old + 1e-7
			up := r.Loss(y, 0.5, nil)
			y[i] = old - 1e-7
			down := r.Loss(y, 0.5, nil)
			y[i] = old
			if fd := (up - down) / 2e-7; math.Abs(fd-g[i]) > 1e-6 {
				t.Fatalf("y=%v: gradient %d is %v, finite differences %v", y, i, g[i], fd)
			}
		}
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"undeclared", twoOutputs + "(assert (<= X_2 1))", "line 6: X_2 is not declared"},
		{"unbalanced", twoOutputs + "(assert (<= X_0 1)", "file ends inside an expression"},
		{"extra paren", twoOutputs + "(assert (<= X_0 1)))", "unbalanced ')'"},
		{"nonlinear", twoOutputs + "(assert (<= (* X_0 X_1) 1))", "multiplies variables"},
		{"mixed", twoOutputs + "(assert (<= X_0 Y_1))", "mixes inputs and outputs"},
		{"unbounded", twoOutputs + "(assert (<= X_0 1))(assert (<= Y_0 1))", "X_0 is not bounded"},
		{"two vars", twoOutputs + "(assert (<= (+ X_0 X_1) 1))", "several variables"},
		{"bad number", twoOutputs + "(assert (<= X_0 abc))", "neither a number"},
		{"unknown op", twoOutputs + "(assert (distinct X_0 1))", "not supported"},
		{"no assert", twoOutputs, "no assertions"},
		{"gap", "(declare-const X_0 Real)(declare-const X_2 Real)(declare-const Y_0 Real)(assert (<= X_0 1))", "X_1 is missing"},
		{"type", "(declare-const X_0 Int)", "not supported"},
	}
	for _, tt := range tests {
		_, err := Read(strings.NewReader(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestACASXuProperties(t *testing.T) {
	dir, err := datasets.ACASXu()
	if err != nil {
		t.Skipf("skipping: ACAS Xu data not available (%v)", err)
	}
	wantCases := map[string]int{"prop_6": 2}
	for k := 1; k <= 10; k++ {
		path, _ := datasets.ACASXuProperty(k)
		p, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if n, ok := wantCases[p.Name]; ok {
			want = n
		}
		if len(p.Cases) != want || p.Check(5, 5) != nil {
			t.Errorf("%s: %d cases (want %d), check %v", p.Name, len(p.Cases), want, p.Check(5, 5))
		}
		if err := p.Check(9, 5); err == nil || !strings.Contains(err.Error(), "declares 5 inputs") {
			t.Errorf("%s: check against 9 inputs: %v", p.Name, err)
		}
	}
	// Property 1 by hand: unsafe when y0 >= 3.991125645861615.
	p1, _ := ReadFile(filepath.Join(dir, "vnnlib", "prop_1.vnnlib"))
	x := []float64{0.65, 0, 0, 0.47, -0.47}
	if !p1.Unsafe(x, []float64{4, 0, 0, 0, 0}) || p1.Unsafe(x, []float64{3.99, 0, 0, 0, 0}) {
		t.Error("property 1 threshold misread")
	}
	for _, n := range []string{"N19", "N29", "N33"} {
		if _, err := ReadFile(filepath.Join(dir, "care", n, "property.vnnlib")); err != nil {
			t.Error(err)
		}
	}
}

func TestSampleStaysInBoxes(t *testing.T) {
	p := &Property{Inputs: 2, Cases: []Case{
		{Box: Box{Lo: []float64{0, 0}, Hi: []float64{1, 1}}},
		{Box: Box{Lo: []float64{5, 5}, Hi: []float64{6, 8}}},
	}}
	x := p.Sample(rand.New(rand.NewPCG(2, 2)), 4000)
	counts := [2]int{}
	for r := 0; r < 4000; r++ {
		k := p.CaseOf(x[2*r : 2*r+2])
		if k < 0 {
			t.Fatalf("sample %v outside both boxes", x[2*r:2*r+2])
		}
		counts[k]++
	}
	// Volumes 1 and 3: expect a quarter in the first box.
	if counts[0] < 850 || counts[0] > 1150 {
		t.Errorf("first box got %d of 4000 samples, want about 1000", counts[0])
	}
}

// TestMerge joins two properties: same-box cases share one case, and an input is unsafe for the merge
// exactly when it is unsafe for either.
func TestMerge(t *testing.T) {
	box := Box{Lo: []float64{0}, Hi: []float64{1}}
	other := Box{Lo: []float64{0.5}, Hi: []float64{2}}
	a := &Property{Name: "a", Inputs: 1, Outputs: 2, Cases: []Case{{Box: box, Unsafe: Region{{{Coef: []float64{1, 0}, Bound: 0}}}}}}
	b := &Property{Name: "b", Inputs: 1, Outputs: 2, Cases: []Case{
		{Box: box, Unsafe: Region{{{Coef: []float64{0, 1}, Bound: 0}}}},
		{Box: other, Unsafe: Region{{{Coef: []float64{-1, 0}, Bound: -5}}}},
	}}
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "a+b" || len(m.Cases) != 2 || len(m.Cases[0].Unsafe) != 2 {
		t.Fatalf("merged: %+v", m)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		x := []float64{rng.Float64()*3 - 0.5}
		y := []float64{rng.Float64()*12 - 6, rng.Float64()*2 - 1}
		if got, want := m.Unsafe(x, y), a.Unsafe(x, y) || b.Unsafe(x, y); got != want {
			t.Fatalf("x=%v y=%v: merged unsafe %v, want %v", x, y, got, want)
		}
	}
	if _, err := Merge(a, &Property{Name: "c", Inputs: 2, Outputs: 2}); err == nil {
		t.Fatal("merged properties of different dimensions")
	}
}

// TestReadPair reads the shipped two-network ACAS Xu instance (its box and eps written out by hand from
// the file) and hand-made variants: asymmetric or mixed output constraints give no Eps but a joint
// property whose constraints are the file's; untied inputs, a third network and bad indices are errors.
func TestReadPair(t *testing.T) {
	root, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	dir := filepath.Join(root, "vnnlib2")
	p, err := ReadPairFile(filepath.Join(dir, "isomorphic_acasxu_instance_0.vnnlib"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Networks != [2]string{"f", "g"} || p.Relation != "isomorphic-to" || p.Joint.Inputs != 5 || p.Joint.Outputs != 10 || len(p.Joint.Cases) != 1 {
		t.Fatalf("read %+v, joint %d -> %d, %d cases", p, p.Joint.Inputs, p.Joint.Outputs, len(p.Joint.Cases))
	}
	box := p.Joint.Cases[0].Box
	wantLo := []float64{0.6, -0.5, -0.5, 0.45, -0.45}
	wantHi := []float64{0.679857769, 0.5, 0.5, 0.5, -0.45}
	if !slices.Equal(box.Lo, wantLo) || !slices.Equal(box.Hi, wantHi) {
		t.Errorf("box %v", box)
	}
	if !slices.Equal(p.Eps, []float64{0.05, 0.05, 0.05, 0.05, 0.05}) {
		t.Errorf("eps %v", p.Eps)
	}
	if _, err := ReadFile(filepath.Join(dir, "isomorphic_acasxu_instance_0.vnnlib")); err == nil || !strings.Contains(err.Error(), "ReadPair") {
		t.Errorf("Read of a two-network file: %v", err)
	}

	head := `(vnnlib-version <2.0>)
(declare-network f (declare-input X real [2]) (declare-output Y real [2]))
(declare-network g (equal-to f) (declare-input Xg real [2]) (declare-output Yg real [2]))
(assert (and (>= X[0] 0) (<= X[0] 1) (>= X[1] -1) (<= X[1] 1)))
`
	ties := "(assert (== X[0] Xg[0]))\n(assert (== Xg[1] X[1]))\n"
	for _, tt := range []struct {
		name, src string
		eps       []float64
		coef      [][]float64 // the joint constraints' coefficients, when no error
		err       string
	}{
		{"output 1 only", head + ties + "(assert (<= (- Yg[1] Y[1]) 0.1))\n(assert (<= (- Y[1] Yg[1]) 0.1))", []float64{math.Inf(1), 0.1}, nil, ""},
		{"asymmetric", head + ties + "(assert (<= (- Yg[1] Y[1]) 0.1))\n(assert (<= (- Y[1] Yg[1]) 0.2))", nil, [][]float64{{0, -1, 0, 1}, {0, 1, 0, -1}}, ""},
		{"mixed", head + ties + "(assert (<= (+ Yg[0] Y[1]) 1))", nil, [][]float64{{0, 1, 1, 0}}, ""},
		{"untied", head + "(assert (== X[0] Xg[0]))\n(assert (<= Y[0] 1))", nil, nil, "not tied"},
		{"crossed tie", head + "(assert (== X[0] Xg[1]))\n(assert (== X[1] Xg[0]))\n(assert (<= Y[0] 1))", nil, nil, "different inputs"},
		{"bad index", head + ties + "(assert (<= Y[2] 1))", nil, nil, "out of range"},
		{"third network", head + "(declare-network h (declare-input Z real [2]) (declare-output W real [2]))", nil, nil, "third"},
		{"version", "(vnnlib-version <1.0>)", nil, nil, "version"},
	} {
		p, err := ReadPair(strings.NewReader(tt.src))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !slices.Equal(p.Eps, tt.eps) {
			t.Errorf("%s: eps %v, want %v", tt.name, p.Eps, tt.eps)
		}
		if tt.coef != nil {
			got := p.Joint.Cases[0].Unsafe[0]
			if len(got) != len(tt.coef) {
				t.Fatalf("%s: %d constraints, want %d", tt.name, len(got), len(tt.coef))
			}
			for i := range got {
				if !slices.Equal(got[i].Coef, tt.coef[i]) {
					t.Errorf("%s: constraint %d %v, want %v", tt.name, i, got[i].Coef, tt.coef[i])
				}
			}
		}
	}
}

// Shell's points lie in the band around the boxes and nowhere else, spread over it uniformly: the share
// left of the box is that strip's share of the band's area, worked out by hand.
func TestShell(t *testing.T) {
	domain := Box{Lo: []float64{0, 0}, Hi: []float64{10, 10}}
	cases := []struct {
		name      string
		box       Box
		band      Box     // the widened box, clipped to the domain
		left, all float64 // area of the band left of the box, and of the whole band
	}{
		{"inside", Box{Lo: []float64{4, 4}, Hi: []float64{6, 6}}, Box{Lo: []float64{3, 3}, Hi: []float64{7, 7}}, 1 * 4, 16 - 4},
		{"on the edge", Box{Lo: []float64{9, 0}, Hi: []float64{10, 10}}, Box{Lo: []float64{8, 0}, Hi: []float64{10, 10}}, 1 * 10, 10},
	}
	for _, c := range cases {
		p := &Property{Inputs: 2, Outputs: 1, Cases: []Case{{Box: c.box}}}
		const n = 20000
		x := p.Shell(rand.New(rand.NewPCG(1, 2)), domain, 0.1, n)
		if len(x) != 2*n {
			t.Fatalf("%s: %d points, want %d", c.name, len(x)/2, n)
		}
		left := 0
		for r := 0; r < n; r++ {
			pt := x[2*r : 2*r+2]
			if c.box.Contains(pt) || !c.band.Contains(pt) {
				t.Fatalf("%s: point %v outside the band", c.name, pt)
			}
			if pt[0] < c.box.Lo[0] {
				left++
			}
		}
		want := c.left / c.all
		if got := float64(left) / n; math.Abs(got-want) > 0.015 {
			t.Errorf("%s: %.3f of the points left of the box, want %.3f", c.name, got, want)
		}
	}
	if x := (&Property{}).Shell(rand.New(rand.NewPCG(1, 2)), domain, 0.1, 5); x != nil {
		t.Errorf("no cases: got %d values, want none", len(x))
	}
}

// Share is worked out by hand: the part of the box inside the whole, over the whole's volume.
func TestShare(t *testing.T) {
	whole := Box{Lo: []float64{0, 0, 5}, Hi: []float64{2, 4, 5}} // flat third dimension
	for _, tt := range []struct {
		name string
		b    Box
		want float64
	}{
		{"inside", Box{Lo: []float64{0.5, 1, 5}, Hi: []float64{1.5, 3, 5}}, 0.5 * 0.5},
		{"overhangs", Box{Lo: []float64{-1, 3, 0}, Hi: []float64{1, 6, 9}}, 0.5 * 0.25},
		{"outside", Box{Lo: []float64{3, 0, 5}, Hi: []float64{4, 4, 5}}, 0},
		{"whole", whole, 1},
	} {
		if got := tt.b.Share(whole); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("%s: share %g, want %g", tt.name, got, tt.want)
		}
	}
}
