package nn

import "testing"

// TestNormalization checks the .nnet conventions by hand: raw x is clipped, then (x - mean) / range.
func TestNormalization(t *testing.T) {
	m := &Normalization{InMin: []float64{0, -1}, InMax: []float64{100, 1}, InMean: []float64{50, 0}, InRange: []float64{100, 2},
		OutMean: 7.5, OutRange: 2}
	x := make([]float64, 2)
	m.NormalizeInput([]float64{75, 3}, x) // 3 is clipped to 1
	if x[0] != 0.25 || x[1] != 0.5 {
		t.Fatalf("normalized %v, want [0.25 0.5]", x)
	}
	raw := make([]float64, 2)
	m.DenormalizeInput(x, raw)
	if raw[0] != 75 || raw[1] != 1 {
		t.Fatalf("denormalized %v, want [75 1]", raw)
	}
	y := []float64{1, -0.5}
	m.DenormalizeOutput(y)
	if y[0] != 9.5 || y[1] != 6.5 {
		t.Fatalf("outputs %v, want [9.5 6.5]", y)
	}
}
