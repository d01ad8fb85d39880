// Package property holds safety properties of networks, read from VNN-LIB: input boxes, each with the
// unsafe region of outputs as a disjunction of conjunctions of linear constraints, and the safety margin
// and violation loss that repair and verification use.
package property

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Property is a safety property: for every case, no input in the case's box may produce an output in its
// unsafe region.
type Property struct {
	// Name is the file's base name, e.g. "prop_2".
	Name string
	// Inputs and Outputs are the numbers of X and Y variables.
	Inputs, Outputs int
	// Cases pair an input box with the unsafe region that applies on it.
	Cases []Case

	// points, when not nil, indexes cases whose boxes are single points by a hash of the point: a
	// labelled set of thousands of images is looked up in constant time (see indexPoints).
	points map[uint64][]int
}

// Case is one input box and the unsafe region of outputs on it.
type Case struct {
	Box    Box
	Unsafe Region
}

// Box is an axis-aligned input box [Lo, Hi].
type Box struct {
	Lo, Hi []float64
}

// Region is a union of conjunctions: an output y lies in it when it satisfies every constraint of at least
// one conjunction.
type Region []Conjunction

// Conjunction is a set of linear constraints that must hold together.
type Conjunction []Constraint

// Constraint is the linear constraint Coef·y <= Bound.
type Constraint struct {
	Coef  []float64
	Bound float64
}

// add appends a case, merging it into an existing case with the same box.
func (p *Property) add(b Box, c Conjunction) {
	for i := range p.Cases {
		if slices.Equal(p.Cases[i].Box.Lo, b.Lo) && slices.Equal(p.Cases[i].Box.Hi, b.Hi) {
			p.Cases[i].Unsafe = append(p.Cases[i].Unsafe, c)
			return
		}
	}
	p.Cases = append(p.Cases, Case{Box: b, Unsafe: Region{c}})
}

// Check reports whether the property fits a network with the given numbers of inputs and outputs.
func (p *Property) Check(inputs, outputs int) error {
	if p.Inputs != inputs {
		return fmt.Errorf("property %s declares %d inputs (X_0 to X_%d) but the network takes %d", p.Name, p.Inputs, p.Inputs-1, inputs)
	}
	if p.Outputs != outputs {
		return fmt.Errorf("property %s declares %d outputs (Y_0 to Y_%d) but the network has %d", p.Name, p.Outputs, p.Outputs-1, outputs)
	}
	return nil
}

// Value returns c's slack Coef·y - Bound: the constraint holds when it is <= 0.
func (c Constraint) Value(y []float64) float64 {
	s := -c.Bound
	for i, a := range c.Coef {
		if a != 0 {
			s += a * y[i]
		}
	}
	return s
}

// Margin returns how far y is outside the conjunction: the largest slack of its constraints. y satisfies
// the conjunction when the margin is <= 0. An empty conjunction holds everywhere (margin -Inf).
func (c Conjunction) Margin(y []float64) float64 {
	m := math.Inf(-1)
	for _, k := range c {
		m = math.Max(m, k.Value(y))
	}
	return m
}

// Margin returns the signed safety margin of y: positive when y lies outside the region (safe), zero or
// negative inside it (unsafe). It is the smallest margin over the conjunctions.
func (r Region) Margin(y []float64) float64 {
	m := math.Inf(1)
	for _, c := range r {
		m = math.Min(m, c.Margin(y))
	}
	return m
}

// Unsafe reports whether y lies in the region.
func (r Region) Unsafe(y []float64) bool { return !(r.Margin(y) > 0) }

// Loss returns the violation loss of y, sum over conjunctions of max(0, want - margin), which is zero
// exactly when y is outside every conjunction by at least want, and adds its gradient with respect to y
// into grad (when grad is not nil). The loss is piecewise linear, so it is differentiable almost
// everywhere; at a tie the first constraint reaching the maximum gives the gradient.
func (r Region) Loss(y []float64, want float64, grad []float64) float64 {
	loss := 0.0
	for _, c := range r {
		best, bi := math.Inf(-1), -1
		for i, k := range c {
			if v := k.Value(y); v > best {
				best, bi = v, i
			}
		}
		if bi < 0 { // empty conjunction: nothing can make y safe
			continue
		}
		if d := want - best; d > 0 {
			loss += d
			if grad != nil {
				for i, a := range c[bi].Coef {
					grad[i] -= a
				}
			}
		}
	}
	return loss
}

// Contains reports whether x lies in the box (bounds included).
func (b Box) Contains(x []float64) bool {
	for i, v := range x {
		if !(v >= b.Lo[i] && v <= b.Hi[i]) {
			return false
		}
	}
	return true
}

// Dim returns the number of dimensions.
func (b Box) Dim() int { return len(b.Lo) }

// Within reports whether b lies in o (bounds included).
func (b Box) Within(o Box) bool {
	for i := range b.Lo {
		if b.Lo[i] < o.Lo[i] || b.Hi[i] > o.Hi[i] {
			return false
		}
	}
	return true
}

// Share is the share of whole's volume that b covers: the volume of b's part inside whole over whole's,
// dimensions where whole is flat counting 1.
func (b Box) Share(whole Box) float64 {
	v := 1.0
	for i := range b.Lo {
		if w := whole.Hi[i] - whole.Lo[i]; w > 0 {
			v *= math.Max(0, math.Min(b.Hi[i], whole.Hi[i])-math.Max(b.Lo[i], whole.Lo[i])) / w
		}
	}
	return v
}

// Sample draws n points uniformly from the box, row-major.
func (b Box) Sample(rng *rand.Rand, n int) []float64 {
	d := b.Dim()
	out := make([]float64, n*d)
	for r := 0; r < n; r++ {
		for i := 0; i < d; i++ {
			out[r*d+i] = b.Lo[i] + rng.Float64()*(b.Hi[i]-b.Lo[i])
		}
	}
	return out
}

// pointHash hashes a point (FNV-1a over its values' bits, with -0 taken as 0).
func pointHash(x []float64) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range x {
		if v == 0 {
			v = 0
		}
		b := math.Float64bits(v)
		for k := 0; k < 64; k += 8 {
			h ^= (b >> k) & 0xff
			h *= 1099511628211
		}
	}
	return h
}

// indexPoints indexes the cases by their points when every box is a single point and there are many.
func (p *Property) indexPoints() {
	if len(p.Cases) < 16 {
		return
	}
	for _, c := range p.Cases {
		if !slices.Equal(c.Box.Lo, c.Box.Hi) {
			return
		}
	}
	p.points = make(map[uint64][]int, len(p.Cases))
	for i, c := range p.Cases {
		h := pointHash(c.Box.Lo)
		p.points[h] = append(p.points[h], i)
	}
}

// candidates returns the indices of the cases whose boxes may contain x, in order.
func (p *Property) candidates(x []float64) []int {
	if p.points != nil {
		return p.points[pointHash(x)]
	}
	return nil
}

// CasesOf returns the indices of every case whose box contains x, in order.
func (p *Property) CasesOf(x []float64) []int {
	var out []int
	if p.points != nil {
		for _, i := range p.candidates(x) {
			if p.Cases[i].Box.Contains(x) {
				out = append(out, i)
			}
		}
		return out
	}
	for i, c := range p.Cases {
		if c.Box.Contains(x) {
			out = append(out, i)
		}
	}
	return out
}

// CaseOf returns the index of the first case whose box contains x, or -1.
func (p *Property) CaseOf(x []float64) int {
	if p.points != nil {
		for _, i := range p.candidates(x) {
			if p.Cases[i].Box.Contains(x) {
				return i
			}
		}
		return -1
	}
	for i, c := range p.Cases {
		if c.Box.Contains(x) {
			return i
		}
	}
	return -1
}

// Unsafe reports whether input x with output y violates the property: x lies in a case's box and y in that
// case's unsafe region.
func (p *Property) Unsafe(x, y []float64) bool {
	if p.points != nil {
		for _, i := range p.candidates(x) {
			if c := p.Cases[i]; c.Box.Contains(x) && c.Unsafe.Unsafe(y) {
				return true
			}
		}
		return false
	}
	for _, c := range p.Cases {
		if c.Box.Contains(x) && c.Unsafe.Unsafe(y) {
			return true
		}
	}
	return false
}

// Margin returns the smallest safety margin of y over the cases whose box contains x, or +Inf when x is in
// no box (the property says nothing there).
func (p *Property) Margin(x, y []float64) float64 {
	m := math.Inf(1)
	if p.points != nil {
		for _, i := range p.candidates(x) {
			if c := p.Cases[i]; c.Box.Contains(x) {
				m = math.Min(m, c.Unsafe.Margin(y))
			}
		}
		return m
	}
	for _, c := range p.Cases {
		if c.Box.Contains(x) {
			m = math.Min(m, c.Unsafe.Margin(y))
		}
	}
	return m
}

// Sample draws n inputs uniformly from the property's input set: each from a case chosen in proportion
// to its box's volume (uniformly among cases when the boxes are flat).
func (p *Property) Sample(rng *rand.Rand, n int) []float64 {
	if len(p.Cases) == 1 {
		return p.Cases[0].Box.Sample(rng, n)
	}
	vol := make([]float64, len(p.Cases))
	total := 0.0
	for i, c := range p.Cases {
		v := 1.0
		for d := range c.Box.Lo {
			v *= c.Box.Hi[d] - c.Box.Lo[d]
		}
		vol[i] = v
		total += v
	}
	out := make([]float64, 0, n*p.Inputs)
	for r := 0; r < n; r++ {
		k := rng.IntN(len(p.Cases))
		if total > 0 {
			u := rng.Float64() * total
			for k = 0; k < len(vol)-1 && u >= vol[k]; k++ {
				u -= vol[k]
			}
		}
		out = append(out, p.Cases[k].Box.Sample(rng, 1)...)
	}
	return out
}

// Merge returns one property that holds exactly when all of props hold: their cases together, with the
// regions of cases over the same box joined. Boxes of different cases may still overlap; an input in
// several boxes must avoid each of their regions (Unsafe and Margin already look at every case).
func Merge(props ...*Property) (*Property, error) {
	if len(props) == 0 {
		return nil, fmt.Errorf("merge: no properties")
	}
	out := &Property{Inputs: props[0].Inputs, Outputs: props[0].Outputs}
	var names []string
	byBox := map[uint64][]int{} // hash of a box -> the cases of out with that hash
	for _, p := range props {
		if p.Inputs != out.Inputs || p.Outputs != out.Outputs {
			return nil, fmt.Errorf("merge %s: %d inputs and %d outputs, want %d and %d", p.Name, p.Inputs, p.Outputs, out.Inputs, out.Outputs)
		}
		names = append(names, p.Name)
		for _, c := range p.Cases {
			h := pointHash(c.Box.Lo)*31 + pointHash(c.Box.Hi)
			at := -1
			for _, i := range byBox[h] {
				if slices.Equal(out.Cases[i].Box.Lo, c.Box.Lo) && slices.Equal(out.Cases[i].Box.Hi, c.Box.Hi) {
					at = i
					break
				}
			}
			if at < 0 {
				at = len(out.Cases)
				byBox[h] = append(byBox[h], at)
				out.Cases = append(out.Cases, Case{Box: c.Box})
			}
			out.Cases[at].Unsafe = append(out.Cases[at].Unsafe, c.Unsafe...)
		}
	}
	out.Name = strings.Join(names, "+")
	out.indexPoints()
	return out, nil
}

// OrderConjunctions returns, for m outputs, the conjunctions {y_j - y_a <= 0} (j != a) under which output
// a is not strictly below output j, class by class: conjunction a*(m-1) + (j < a ? j : j-1). A violation
// loss over them, weighted on a's conjunctions, keeps a the argmin (the decision); weighted on every pair
// ordered by a reference, it keeps the whole order.
func OrderConjunctions(m int) []Conjunction {
	var out []Conjunction
	for a := 0; a < m; a++ {
		for j := 0; j < m; j++ {
			if j == a {
				continue
			}
			c := make([]float64, m)
			c[j], c[a] = 1, -1
			out = append(out, Conjunction{{Coef: c, Bound: 0}})
		}
	}
	return out
}

// Hull returns the smallest box holding every case's box.
func (p *Property) Hull() Box {
	b := Box{Lo: append([]float64(nil), p.Cases[0].Box.Lo...), Hi: append([]float64(nil), p.Cases[0].Box.Hi...)}
	for _, c := range p.Cases[1:] {
		for i := range b.Lo {
			b.Lo[i] = math.Min(b.Lo[i], c.Box.Lo[i])
			b.Hi[i] = math.Max(b.Hi[i], c.Box.Hi[i])
		}
	}
	return b
}

// Shell draws n points of domain that lie outside every case's box but within width times the domain's
// width (per input) of one: the band around the boxes where a repair that moves the boxes' outputs
// moves the rest most. Each point's box is drawn in proportion to its widened box's volume (within the
// domain); points are drawn uniformly from it and kept if they fall in no box. It returns fewer than n
// when the band is a vanishing share of the widened boxes (after 100 n draws), and nil without cases.
func (p *Property) Shell(rng *rand.Rand, domain Box, width float64, n int) []float64 {
	if len(p.Cases) == 0 || n <= 0 {
		return nil
	}
	d := domain.Dim()
	wide := make([]Box, len(p.Cases))
	cum := make([]float64, len(p.Cases))
	total := 0.0
	for k, c := range p.Cases {
		b := Box{Lo: make([]float64, d), Hi: make([]float64, d)}
		v := 1.0
		for i := 0; i < d; i++ {
			w := width * (domain.Hi[i] - domain.Lo[i])
			b.Lo[i] = math.Max(domain.Lo[i], c.Box.Lo[i]-w)
			b.Hi[i] = math.Min(domain.Hi[i], c.Box.Hi[i]+w)
			if b.Hi[i] < b.Lo[i] { // the case's box lies outside the domain on this input
				b.Hi[i] = b.Lo[i]
			}
			v *= b.Hi[i] - b.Lo[i]
		}
		wide[k] = b
		total += v
		cum[k] = total
	}
	out := make([]float64, 0, n*d)
	x := make([]float64, d)
	for try := 0; try < 100*n && len(out) < n*d; try++ {
		k := 0
		if total > 0 {
			r := rng.Float64() * total
			for k < len(cum)-1 && cum[k] <= r {
				k++
			}
		} else {
			k = rng.IntN(len(wide))
		}
		b := wide[k]
		for i := range x {
			x[i] = b.Lo[i] + rng.Float64()*(b.Hi[i]-b.Lo[i])
		}
		if p.CaseOf(x) < 0 {
			out = append(out, x...)
		}
	}
	return out
}
