package onnx_test

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/nn/onnx"
)

// acasDir returns the shared ACAS Xu folder or skips the test.
func acasDir(t testing.TB) string {
	t.Helper()
	d, err := datasets.ACASXu()
	if err != nil {
		t.Skipf("skipping: ACAS Xu data not available (%v)", err)
	}
	return d
}

// TestACASXuFormatsAgree loads all 45 networks from .nnet and from ONNX and checks they compute the same
// outputs, within the float32 rounding of the ONNX weights, on every row of a CARE set.
func TestACASXuFormatsAgree(t *testing.T) {
	dir := acasDir(t)
	tab, err := datasets.ReadCSVFile(filepath.Join(dir, "care", "N29", "counterexample.csv"), 5)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := 1; i <= 5; i++ {
		for j := 1; j <= 9; j++ {
			pn, _ := datasets.ACASXuNet(i, j, "nnet")
			po, _ := datasets.ACASXuNet(i, j, "onnx")
			a, err := nnet.ReadFile(pn)
			if err != nil {
				t.Fatal(err)
			}
			b, err := onnx.ReadFile(po)
			if err != nil {
				t.Fatal(err)
			}
			ya, yb := a.Forward(tab.Data), b.Forward(tab.Data)
			for k := range ya {
				d := math.Abs(ya[k] - yb[k])
				worst = max(worst, d)
				if d > 1e-5 {
					t.Fatalf("N%d,%d row %d output %d: nnet %v, onnx %v", i, j, k/5, k%5, ya[k], yb[k])
				}
			}
		}
	}
	t.Logf("largest difference over 45 networks x %d rows: %.3g", tab.Rows(), worst)
}

func sameWeights(t *testing.T, a, b *nn.Network) {
	t.Helper()
	if len(a.Layers) != len(b.Layers) {
		t.Fatalf("%d layers, want %d", len(b.Layers), len(a.Layers))
	}
	for k := range a.Layers {
		la, lb := a.Layers[k], b.Layers[k]
		if la.In != lb.In || la.Out != lb.Out || la.Act != lb.Act {
			t.Fatalf("layer %d: %dx%d %v, want %dx%d %v", k, lb.Out, lb.In, lb.Act, la.Out, la.In, la.Act)
		}
		for i := range la.W {
			if math.Float64bits(la.W[i]) != math.Float64bits(lb.W[i]) {
				t.Fatalf("layer %d weight %d: %v, want %v", k, i, lb.W[i], la.W[i])
			}
		}
		for i := range la.B {
			if math.Float64bits(la.B[i]) != math.Float64bits(lb.B[i]) {
				t.Fatalf("layer %d bias %d: %v, want %v", k, i, lb.B[i], la.B[i])
			}
		}
	}
}

// TestACASXuRoundTrips writes every network to .nnet and to float64 ONNX and reads it back: every weight
// must come back bit-identical, and the normalization with it.
func TestACASXuRoundTrips(t *testing.T) {
	acasDir(t)
	for i := 1; i <= 5; i++ {
		for j := 1; j <= 9; j++ {
			p, _ := datasets.ACASXuNet(i, j, "nnet")
			net, err := nnet.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var nb, ob bytes.Buffer
			if err := nnet.Write(&nb, net); err != nil {
				t.Fatal(err)
			}
			back, err := nnet.Read(&nb)
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, net, back)
			if err := onnx.Write(&ob, net, onnx.Options{Float64: true}); err != nil {
				t.Fatal(err)
			}
			back, err = onnx.Read(&ob)
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, net, back)
			if back.Norm == nil || back.Norm.OutRange != net.Norm.OutRange || back.Norm.InMean[0] != net.Norm.InMean[0] {
				t.Fatalf("N%d,%d: normalization lost in ONNX round trip: %+v", i, j, back.Norm)
			}
		}
	}
}
