// Package imitate finds correct (positive) samples near buggy (negative) ones, records the network's
// behaviour (every neuron's output) on them, and turns it into the behaviour each negative should imitate.
package imitate

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/birdnn/birdnn/internal/par"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Behaviour is a batch of inputs with every layer's post-activation values on them.
type Behaviour struct {
	// N is the number of rows.
	N int
	// Inputs holds the N inputs row-major.
	Inputs []float64
	// Layers[k] holds layer k's N x neurons values row-major; the last entry is the network's output.
	Layers [][]float64
	// Sizes[k] is the number of neurons of layer k.
	Sizes []int
}

// Record runs net on the inputs x (row-major) and records its behaviour.
func Record(net *nn.Network, x []float64) *Behaviour {
	b := &Behaviour{N: len(x) / net.Inputs(), Inputs: x, Layers: net.Trace(x)}
	for _, l := range net.Layers {
		b.Sizes = append(b.Sizes, l.Out)
	}
	return b
}

// Outputs returns the network outputs of the behaviour (the last layer).
func (b *Behaviour) Outputs() []float64 { return b.Layers[len(b.Layers)-1] }

// Row returns layer k's values for row r.
func (b *Behaviour) Row(k, r int) []float64 { return b.Layers[k][r*b.Sizes[k] : (r+1)*b.Sizes[k]] }

// Split returns the rows of x (with d values a row) that violate prop under net (negatives) and those that
// satisfy it (positives).
func Split(net *nn.Network, prop *property.Property, x []float64) (neg, pos []float64) {
	d, m := net.Inputs(), net.Outputs()
	y := net.Forward(x)
	for r := 0; r < len(x)/d; r++ {
		xr := x[r*d : (r+1)*d]
		if prop.Unsafe(xr, y[r*m:(r+1)*m]) {
			neg = append(neg, xr...)
		} else {
			pos = append(pos, xr...)
		}
	}
	return neg, pos
}

// SearchOptions controls FindPositives.
type SearchOptions struct {
	// PerNegative is how many positives to find around each negative.
	PerNegative int
	// Radius is the starting half-width of the neighbourhood, as a fraction of the box's width in each
	// dimension; it doubles until enough positives are found or it reaches MaxRadius.
	Radius, MaxRadius float64
	// Draws is how many points to draw at each radius.
	Draws int
}

// DefaultSearch is a neighbourhood search that suits ACAS Xu-sized boxes.
var DefaultSearch = SearchOptions{PerNegative: 1, Radius: 0.01, MaxRadius: 1, Draws: 32}

// FindPositives samples the neighbourhood of each negative (a box around it, clipped to the property's
// input box that contains it) for inputs that satisfy the property, growing the neighbourhood until
// opt.PerNegative are found. It returns the positives found, row-major, and the number of negatives for
// which none was found. The search is deterministic for a given rng seed.
func FindPositives(net *nn.Network, prop *property.Property, neg []float64, opt SearchOptions, seed uint64) ([]float64, int, error) {
	d := net.Inputs()
	if opt.PerNegative <= 0 || opt.Radius <= 0 || opt.MaxRadius < opt.Radius || opt.Draws <= 0 {
		return nil, 0, fmt.Errorf("search options %+v: want positive counts and 0 < radius <= max radius", opt)
	}
	n := len(neg) / d
	found := make([][]float64, n)
	par.For(n, func(r int) {
		found[r] = searchOne(net, prop, neg[r*d:(r+1)*d], opt, rand.New(rand.NewPCG(seed, uint64(r))))
	})
	var out []float64
	missing := 0
	for _, f := range found {
		if len(f) == 0 {
			missing++
		}
		out = append(out, f...)
	}
	return out, missing, nil
}

func searchOne(net *nn.Network, prop *property.Property, x []float64, opt SearchOptions, rng *rand.Rand) []float64 {
	d := len(x)
	k := prop.CaseOf(x)
	if k < 0 {
		return nil
	}
	box := prop.Cases[k].Box
	var out []float64
	got := 0
	cand := make([]float64, opt.Draws*d)
	for rad := opt.Radius; ; rad = math.Min(2*rad, opt.MaxRadius) {
		for r := 0; r < opt.Draws; r++ {
			for i := 0; i < d; i++ {
				w := (box.Hi[i] - box.Lo[i]) * rad
				v := x[i] + (2*rng.Float64()-1)*w
				cand[r*d+i] = math.Min(math.Max(v, box.Lo[i]), box.Hi[i])
			}
		}
		y := net.Forward(cand)
		m := net.Outputs()
		for r := 0; r < opt.Draws && got < opt.PerNegative; r++ {
			xr := cand[r*d : (r+1)*d]
			if !prop.Unsafe(xr, y[r*m:(r+1)*m]) {
				out = append(out, xr...)
				got++
			}
		}
		if got >= opt.PerNegative || rad >= opt.MaxRadius {
			break
		}
	}
	return out
}

// Target says which positives' behaviour a negative imitates.
type Target string

// The imitation targets.
const (
	// NearestInput imitates the positive nearest in input space.
	NearestInput Target = "nearest_input"
	// NearestOutput imitates the positive whose output is nearest to the negative's (BIRDNN-RT's choice).
	NearestOutput Target = "nearest_output"
	// MeanK imitates the mean behaviour of the k positives nearest in input space.
	MeanK Target = "mean_k"
)

// ParseTarget checks a target name.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case NearestInput, NearestOutput, MeanK:
		return t, nil
	}
	return "", fmt.Errorf("unknown imitation target %q (nearest_input, nearest_output, mean_k)", s)
}

// Assign returns, for each negative, the indices of the positives it imitates (one, or k for MeanK).
func Assign(neg, pos *Behaviour, t Target, k int) ([][]int, error) {
	if pos.N == 0 {
		return nil, fmt.Errorf("no positives to imitate")
	}
	var a, b []float64
	var dim int
	switch t {
	case NearestInput:
		a, b, dim, k = neg.Inputs, pos.Inputs, len(neg.Inputs)/max(neg.N, 1), 1
	case NearestOutput:
		a, b, dim, k = neg.Outputs(), pos.Outputs(), neg.Sizes[len(neg.Sizes)-1], 1
	case MeanK:
		if k <= 0 {
			return nil, fmt.Errorf("mean_k needs k > 0, got %d", k)
		}
		a, b, dim = neg.Inputs, pos.Inputs, len(neg.Inputs)/max(neg.N, 1)
	default:
		return nil, fmt.Errorf("unknown imitation target %q", t)
	}
	return Nearest(a, b, dim, k), nil
}

// Nearest returns, for each row of queries, the indices of the k nearest rows of points (Euclidean), nearest
// first. Rows have dim values. It runs on every core.
func Nearest(queries, points []float64, dim, k int) [][]int {
	nq, np := len(queries)/dim, len(points)/dim
	k = min(k, np)
	out := make([][]int, nq)
	par.For(nq, func(q int) {
		x := queries[q*dim : (q+1)*dim]
		idx := make([]int, 0, k+1)
		dist := make([]float64, 0, k+1)
		worst := math.Inf(1)
		for p := 0; p < np; p++ {
			y := points[p*dim : (p+1)*dim]
			s := 0.0
			for i, v := range x {
				t := v - y[i]
				s += t * t
				if s >= worst {
					break
				}
			}
			if s >= worst && len(idx) == k {
				continue
			}
			// Insert in order, keeping the k nearest.
			j := len(idx)
			idx, dist = append(idx, p), append(dist, s)
			for j > 0 && dist[j-1] > s {
				idx[j], dist[j] = idx[j-1], dist[j-1]
				j--
			}
			idx[j], dist[j] = p, s
			if len(idx) > k {
				idx, dist = idx[:k], dist[:k]
			}
			if len(idx) == k {
				worst = dist[k-1]
			}
		}
		out[q] = idx
	})
	return out
}

// Expected returns the behaviour each negative should imitate: for negative r, the mean over assign[r] of
// the positives' behaviour, layer by layer. Its Inputs are nil.
func Expected(pos *Behaviour, assign [][]int) *Behaviour {
	e := &Behaviour{N: len(assign), Sizes: pos.Sizes, Layers: make([][]float64, len(pos.Layers))}
	for k, size := range pos.Sizes {
		e.Layers[k] = make([]float64, len(assign)*size)
		for r, idx := range assign {
			dst := e.Layers[k][r*size : (r+1)*size]
			for _, p := range idx {
				src := pos.Row(k, p)
				for j := range dst {
					dst[j] += src[j]
				}
			}
			if len(idx) > 1 {
				for j := range dst {
					dst[j] /= float64(len(idx))
				}
			}
		}
	}
	return e
}
