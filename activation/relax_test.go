package activation

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRelaxationsAreSound samples random intervals for every activation and checks, on a dense grid and
// at the end points, that the lines bound the function.
func TestRelaxationsAreSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	acts := []Activation{}
	for _, name := range Names() {
		a, _ := New(name)
		acts = append(acts, a)
	}
	acts = append(acts, Activation{"leaky_relu", 0.2}, Activation{"leaky_relu", 3}, Activation{"elu", 0.5}, Activation{"elu", 2.5})
	for _, a := range acts {
		for trial := 0; trial < 2000; trial++ {
			scale := []float64{0.01, 1, 5, 40}[trial%4]
			l := (2*rng.Float64() - 1) * scale
			u := l + rng.Float64()*scale
			if trial%7 == 0 {
				l, u = -u, -l // intervals around 0 too
			}
			if l > u {
				l, u = u, l
			}
			r := a.Relax(l, u)
			for i := 0; i <= 200; i++ {
				z := l + (u-l)*float64(i)/200
				f := a.Value(z)
				tol := 1e-12 * (1 + math.Abs(f) + math.Abs(z))
				if lo := r.LowerSlope*z + r.LowerIntercept; lo > f+tol {
					t.Fatalf("%s on [%v, %v]: lower line %v above f(%v) = %v", a, l, u, lo, z, f)
				}
				if hi := r.UpperSlope*z + r.UpperIntercept; hi < f-tol {
					t.Fatalf("%s on [%v, %v]: upper line %v below f(%v) = %v", a, l, u, hi, z, f)
				}
			}
		}
	}
}

// TestReluRelaxationByHand checks the relu relaxation against the textbook one.
func TestReluRelaxationByHand(t *testing.T) {
	r := ReLU.Relax(-1, 3) // chord slope 3/4 through (-1, 0): 0.75 z + 0.75; lower slope 1 (u > -l)
	if r != (Relaxation{1, 0, 0.75, 0.75}) {
		t.Errorf("relu on [-1, 3]: %+v", r)
	}
	r = ReLU.Relax(-3, 1)
	if r != (Relaxation{0, 0, 0.25, 0.75}) {
		t.Errorf("relu on [-3, 1]: %+v", r)
	}
}
