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
