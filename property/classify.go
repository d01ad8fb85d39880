package property

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Misclassified returns the region of outputs under which class label is not the highest score by more
// than margin: the union over j != label of {y_label - y_j <= margin}. With margin 0 a tie counts as a
// misclassification, as it does for every region (Region.Unsafe).
func Misclassified(label, outputs int, margin float64) Region {
	var r Region
	for j := 0; j < outputs; j++ {
		if j == label {
			continue
		}
		c := make([]float64, outputs)
		c[label], c[j] = 1, -1
		r = append(r, Conjunction{{Coef: c, Bound: margin}})
	}
	return r
}

// Reached returns the region of outputs under which class target has a score at least as high as every
// other: the conjunction over j != target of {y_j - y_target <= 0}.
func Reached(target, outputs int) Region {
	var c Conjunction
	for j := 0; j < outputs; j++ {
		if j == target {
			continue
		}
		coef := make([]float64, outputs)
		coef[j], coef[target] = 1, -1
		c = append(c, Constraint{Coef: coef})
	}
	return Region{c}
}

// Robustness returns the L-infinity robustness property of a classifier around input x of class label:
// every input within eps of x (per coordinate), clipped to [lo, hi], must be classified as label
// (target < 0), or must not be classified as target (target >= 0). The class is the output of highest
// score.
func Robustness(x []float64, label, outputs int, eps, lo, hi float64, target int) (*Property, error) {
	switch {
	case len(x) == 0:
		return nil, errors.New("robustness: no input")
	case outputs < 2:
		return nil, fmt.Errorf("robustness: %d outputs, want at least 2", outputs)
	case label < 0 || label >= outputs:
		return nil, fmt.Errorf("robustness: label %d is not a class (0..%d)", label, outputs-1)
	case target >= outputs || target == label:
		return nil, fmt.Errorf("robustness: target %d is not a class other than the label %d", target, label)
	case !(eps >= 0) || math.IsInf(eps, 0):
		return nil, fmt.Errorf("robustness: epsilon %v, want a finite number >= 0", eps)
	case !(lo <= hi):
		return nil, fmt.Errorf("robustness: input range [%v, %v] is empty", lo, hi)
	}
	b := Box{Lo: make([]float64, len(x)), Hi: make([]float64, len(x))}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("robustness: input %d is %v", i, v)
		}
		b.Lo[i] = math.Min(math.Max(v-eps, lo), hi)
		b.Hi[i] = math.Max(math.Min(v+eps, hi), lo)
	}
	region := Misclassified(label, outputs, 0)
	name := fmt.Sprintf("robustness_label%d_eps%g", label, eps)
	if target >= 0 {
		region = Reached(target, outputs)
		name = fmt.Sprintf("robustness_label%d_target%d_eps%g", label, target, eps)
	}
	return &Property{Name: name, Inputs: len(x), Outputs: outputs, Cases: []Case{{Box: b, Unsafe: region}}}, nil
}

// Classified returns the property that each of a set of inputs (rows of xs, row-major, inputs columns)
// is classified as its label with a score ahead of every other by more than margin: one case a row, its
// box the single point. Rows that repeat an input with a different label are an error.
func Classified(xs []float64, inputs int, labels []int, outputs int, margin float64) (*Property, error) {
	return labelledPoints("classified", xs, inputs, labels, outputs, margin, Misclassified)
}

// Avoided returns the property that none of a set of inputs (rows of xs, row-major) is classified as its
// label: some other class must score more than margin above it (a watermark or backdoor to remove). One
// case a row, its box the single point, its unsafe region {y_j - y_label <= margin for every j != label}.
func Avoided(xs []float64, inputs int, labels []int, outputs int, margin float64) (*Property, error) {
	return labelledPoints("avoided", xs, inputs, labels, outputs, margin, func(l, m int, margin float64) Region {
		var c Conjunction
		for j := 0; j < m; j++ {
			if j != l {
				coef := make([]float64, m)
				coef[j], coef[l] = 1, -1
				c = append(c, Constraint{Coef: coef, Bound: margin})
			}
		}
		return Region{c}
	})
}

// labelledPoints makes one point case a row of xs with the unsafe region region(label, outputs, margin).
func labelledPoints(name string, xs []float64, inputs int, labels []int, outputs int, margin float64, region func(int, int, float64) Region) (*Property, error) {
	if inputs <= 0 || len(xs) != inputs*len(labels) || len(labels) == 0 {
		return nil, fmt.Errorf("%s: %d values for %d labels of %d inputs", name, len(xs), len(labels), inputs)
	}
	if !(margin >= 0) || math.IsInf(margin, 0) {
		return nil, fmt.Errorf("%s: margin %v, want a finite number >= 0", name, margin)
	}
	p := &Property{Name: name, Inputs: inputs, Outputs: outputs}
	seen := map[string]int{}
	for r, l := range labels {
		if l < 0 || l >= outputs {
			return nil, fmt.Errorf("%s: row %d: label %d is not a class (0..%d)", name, r, l, outputs-1)
		}
		x := append([]float64(nil), xs[r*inputs:(r+1)*inputs]...)
		key := fmt.Sprint(x)
		if prev, ok := seen[key]; ok {
			if labels[prev] != l {
				return nil, fmt.Errorf("%s: rows %d and %d are one input with labels %d and %d", name, prev, r, labels[prev], l)
			}
			continue
		}
		seen[key] = r
		p.Cases = append(p.Cases, Case{Box: Box{Lo: x, Hi: x}, Unsafe: region(l, outputs, margin)})
	}
	p.indexPoints()
	return p, nil
}

// WriteVNNLIB writes p in VNN-LIB, in the form Read reads back to the same property: the declarations,
// then for one case the input bounds as separate assertions and the unsafe region as one disjunction, for
// several cases one disjunction of (box and conjunction) over every case and conjunction. Numbers are
// written in the shortest form that parses back to the same float64.
func (p *Property) WriteVNNLIB(w io.Writer) error {
	if len(p.Cases) == 0 {
		return errors.New("write VNN-LIB: the property has no case")
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "; %s: %d inputs, %d outputs, %d cases\n", p.Name, p.Inputs, p.Outputs, len(p.Cases))
	for i := 0; i < p.Inputs; i++ {
		fmt.Fprintf(bw, "(declare-const X_%d Real)\n", i)
	}
	for j := 0; j < p.Outputs; j++ {
		fmt.Fprintf(bw, "(declare-const Y_%d Real)\n", j)
	}
	if len(p.Cases) == 1 {
		c := p.Cases[0]
		for i := range c.Box.Lo {
			fmt.Fprintf(bw, "(assert (>= X_%d %s))\n(assert (<= X_%d %s))\n", i, num(c.Box.Lo[i]), i, num(c.Box.Hi[i]))
		}
		bw.WriteString("(assert (or")
		for _, conj := range c.Unsafe {
			bw.WriteString("\n  (and")
			writeConjunction(bw, conj)
			bw.WriteString(")")
		}
		bw.WriteString("))\n")
		return bw.Flush()
	}
	bw.WriteString("(assert (or")
	for _, c := range p.Cases {
		for _, conj := range c.Unsafe {
			bw.WriteString("\n  (and")
			for i := range c.Box.Lo {
				fmt.Fprintf(bw, " (>= X_%d %s) (<= X_%d %s)", i, num(c.Box.Lo[i]), i, num(c.Box.Hi[i]))
			}
			writeConjunction(bw, conj)
			bw.WriteString(")")
		}
	}
	bw.WriteString("))\n")
	return bw.Flush()
}

// writeConjunction writes each constraint Coef·y <= Bound of c as " (<= TERM BOUND)".
func writeConjunction(w *bufio.Writer, c Conjunction) {
	for _, k := range c {
		var terms []string
		for j, v := range k.Coef {
			switch v {
			case 0:
			case 1:
				terms = append(terms, fmt.Sprintf("Y_%d", j))
			default:
				terms = append(terms, fmt.Sprintf("(* %s Y_%d)", num(v), j))
			}
		}
		term := "0"
		switch len(terms) {
		case 0:
		case 1:
			term = terms[0]
		default:
			term = "(+"
			for _, t := range terms {
				term += " " + t
			}
			term += ")"
		}
		fmt.Fprintf(w, " (<= %s %s)", term, num(k.Bound))
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
