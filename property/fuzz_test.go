package property

import (
	"strings"
	"testing"
)

func FuzzRead(f *testing.F) {
	f.Add(twoOutputs + "(assert (>= X_0 -1))(assert (<= X_0 1))(assert (>= X_1 0))(assert (<= X_1 1))(assert (<= Y_0 Y_1))")
	f.Add(twoOutputs + "(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1)) (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (<= X_1 1))))\n(assert (or (and (<= Y_0 Y_1)) (and (>= (- Y_1 (* 2 Y_0)) 0.5))))")
	f.Add("; comment only\n(declare-const X_0 Real)")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Read(strings.NewReader(src))
		if err != nil {
			return
		}
		for _, c := range p.Cases {
			if c.Box.Dim() != p.Inputs {
				t.Fatalf("box of %d dimensions for %d inputs", c.Box.Dim(), p.Inputs)
			}
			for i := range c.Box.Lo {
				if !(c.Box.Lo[i] <= c.Box.Hi[i]) {
					t.Fatalf("empty box dimension %d: [%v, %v]", i, c.Box.Lo[i], c.Box.Hi[i])
				}
			}
			for _, conj := range c.Unsafe {
				for _, k := range conj {
					if len(k.Coef) != p.Outputs {
						t.Fatalf("constraint over %d outputs, property has %d", len(k.Coef), p.Outputs)
					}
				}
			}
			y := make([]float64, p.Outputs)
			c.Unsafe.Margin(y)
		}
	})
}

func FuzzReadPair(f *testing.F) {
	head := "(vnnlib-version <2.0>)\n(declare-network f (declare-input X real [2]) (declare-output Y real [2]))\n(declare-network g (isomorphic-to f) (declare-input Xg real [2]) (declare-output Yg real [2]))\n(assert (and (>= X[0] 0) (<= X[0] 1) (>= X[1] -1) (<= X[1] 1)))\n(assert (== X[0] Xg[0]))\n(assert (== X[1] Xg[1]))\n"
	f.Add(head + "(assert (and (<= Yg[0] (+ Y[0] 0.05)) (>= Yg[0] (- Y[0] 0.05))))")
	f.Add(head + "(assert (or (<= Yg[1] Y[0]) (>= (- Yg[0] Y[1]) 2)))")
	f.Add("(vnnlib-version <2.0>)\n(declare-network f (declare-input X float32 [2,3]) (declare-output Y real [1]))")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ReadPair(strings.NewReader(src))
		if err != nil {
			return
		}
		if p.Eps != nil && 2*len(p.Eps) != p.Joint.Outputs {
			t.Fatalf("%d eps for %d joint outputs", len(p.Eps), p.Joint.Outputs)
		}
		for _, e := range p.Eps {
			if !(e >= 0) {
				t.Fatalf("eps %v", e)
			}
		}
		for _, c := range p.Joint.Cases {
			if c.Box.Dim() != p.Joint.Inputs {
				t.Fatalf("box of %d dimensions for %d inputs", c.Box.Dim(), p.Joint.Inputs)
			}
		}
	})
}
