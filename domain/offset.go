package domain

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// The output offset: a repair of the output layer's biases alone, for properties that forbid decisions.
//
// Many ACAS Xu properties say that an advisory is never given on a box: their unsafe conjunctions read
// "output i is no greater than each output j of a set" (property 7: strong left and strong right are never
// the least score; properties 3 and 4: COC is not). Raising output i's bias by delta moves every such
// constraint's slack y_i - y_j by exactly delta, so some delta makes the property hold on the whole box;
// the least one is the deficit -min over the box of max_j (y_i - y_j - t_j). Raising y_i never makes i the
// argmin anywhere, so the network's decision changes only on the inputs where it chose i: inside the box
// those are all violations, outside it they are decisions the property does not speak of (none when the
// box is the whole input domain, as for property 7).
//
// The deficit lies between what samples of the box show (a lower end: a smaller delta leaves a sampled
// violation) and what sound bounds prove (an upper end: CROWN's lower bound of a constraint, on every box
// of a partition, is raised by exactly delta). Branch and bound refines the partition where the deficit
// is largest; the verifier then checks the shifted network, and only its certificate ends the offset
// with a result.

// exclusion is one unsafe conjunction on a box, read as the output change that undoes it: the conjunction
// holds where coef.y <= t for every term, and each term's coef.dir is 1, so that moving the outputs by
// delta dir raises its coef.y - t by delta, or 0 (a neutral term, which the move leaves as it is). For
// the offset, dir is e_out (y_out - y_j <= t_j for every j of the terms); for a patch (Patch) it may be
// another direction, and out is -1.
type exclusion struct {
	box   property.Box
	out   int
	dir   []float64
	terms []excludedTerm
}

// excludedTerm is one constraint coef.y <= t of an exclusion's conjunction.
type excludedTerm struct {
	coef    []float64
	t       float64
	neutral bool
}

// unit is e_i in m outputs.
func unit(m, i int) []float64 {
	e := make([]float64, m)
	e[i] = 1
	return e
}

// exclusions reads p's unsafe conjunctions as exclusions, or says why it cannot: every constraint must be
// c*(y_i - y_j) <= b with c > 0, the same i across a conjunction, and no constraint may weigh a raised
// output negatively (raising it would then undo another conjunction's slack).
func exclusions(p *property.Property, outputs int) ([]exclusion, error) {
	var ex []exclusion
	raised := make([]bool, outputs)
	for _, c := range p.Cases {
		for k, conj := range c.Unsafe {
			e := exclusion{box: c.Box, out: -1}
			for _, con := range conj {
				if len(con.Coef) != outputs {
					return nil, fmt.Errorf("conjunction %d: a constraint has %d coefficients, the network %d outputs", k+1, len(con.Coef), outputs)
				}
				i, j, n := -1, -1, 0
				for o, a := range con.Coef {
					switch {
					case a == 0:
						continue
					case a > 0:
						i = o
					default:
						j = o
					}
					n++
				}
				if n != 2 || i < 0 || j < 0 || con.Coef[i] != -con.Coef[j] {
					return nil, fmt.Errorf("conjunction %d: a constraint is not c*(y_i - y_j) <= b", k+1)
				}
				if e.out >= 0 && e.out != i {
					return nil, fmt.Errorf("conjunction %d: its constraints bound different outputs from above (%d and %d)", k+1, e.out, i)
				}
				e.out = i
				coef := unit(outputs, i)
				coef[j] = -1
				e.terms = append(e.terms, excludedTerm{coef: coef, t: con.Bound / con.Coef[i]})
			}
			if e.out < 0 {
				return nil, fmt.Errorf("conjunction %d: no constraints", k+1)
			}
			e.dir = unit(outputs, e.out)
			raised[e.out] = true
			ex = append(ex, e)
		}
	}
	for _, e := range ex {
		for _, t := range e.terms {
			for j, a := range t.coef {
				if a < 0 && raised[j] {
					return nil, fmt.Errorf("output %d is both raised and compared against", j)
				}
			}
		}
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("no unsafe conjunctions")
	}
	return ex, nil
}

// slack is max over the terms of coef.y - t, +Inf when a neutral term is positive (no move undoes that):
// positive where the exclusion's conjunction does not hold; -slack is how far along dir the outputs must
// move for it not to.
func (e *exclusion) slack(y []float64) float64 {
	s := math.Inf(-1)
	for _, t := range e.terms {
		v := -t.t
		for o, a := range t.coef {
			v += a * y[o]
		}
		if t.neutral && v > 0 {
			return math.Inf(1)
		}
		if !t.neutral {
			s = math.Max(s, v)
		}
	}
	return s
}

// Offset raises the output biases of net that p's unsafe conjunctions bound from above (see the comment
// above) by the least amount it can prove enough within budget: branch and bound on the deficit (split the
// box whose bounds leave the largest deficit, until half the budget is spent), then the verifier checks
// the network shifted by the bounded deficit. Should the verifier not certify it in the other half, the
// whole box's deficit is used, which the verifier proves at its first box. It returns the shifted network
// (nil when no shift was certified) and a report; an error says that p is not of the form the offset
// needs.
func Offset(ctx context.Context, net *nn.Network, p *property.Property, budget time.Duration, seed uint64) (*nn.Network, *OffsetReport, error) {
	start := time.Now()
	m := net.Outputs()
	ex, err := exclusions(p, m)
	if err != nil {
		return nil, nil, fmt.Errorf("output offset: %w", err)
	}
	rep := &OffsetReport{Verdict: string(verify.Unknown)}
	used := make([]bool, m)
	for _, e := range ex {
		used[e.out] = true
	}
	// Lower end: samples of every box and the violations a search finds.
	xs, ys, rms := boxSamples(net, ex, search(net, p, seed), seed)
	need := deficits(ex, xs, ys, net.Inputs(), m)
	rep.OutputRMS = rms
	// Upper ends: the deficit bounded on the whole box, and by branch and bound.
	exHi, exRoot := deficit(ctx, net, ex, need, start.Add(budget/2))
	// Per output, the largest over its exclusions.
	lo, hi, root := make([]float64, m), make([]float64, m), make([]float64, m)
	for o := range m {
		hi[o], root[o] = math.Inf(-1), math.Inf(-1)
	}
	for i, e := range ex {
		lo[e.out] = math.Max(lo[e.out], need[i])
		hi[e.out] = math.Max(hi[e.out], exHi[i])
		root[e.out] = math.Max(root[e.out], exRoot[i])
	}
	// A little above, relative to the outputs' size, so that rounding does not decide.
	pad := 1e-6
	for _, b := range net.Layers[len(net.Layers)-1].B {
		pad = math.Max(pad, 1e-6*math.Abs(b))
	}
	for o := range m {
		if used[o] {
			lo[o] = math.Max(lo[o], 0)
			hi[o] = math.Max(hi[o], lo[o]) + pad
			root[o] = math.Max(root[o], hi[o])
			rep.Outputs = append(rep.Outputs, o)
			rep.Sampled = append(rep.Sampled, lo[o])
			rep.Bounded = append(rep.Bounded, hi[o])
		}
	}
	for k, shift := range [][]float64{hi, root} {
		if k == 1 && slices.Equal(root, hi) {
			break // the same shift, already refused
		}
		c := net.Clone()
		out := &c.Layers[len(c.Layers)-1]
		for o := range m {
			if used[o] {
				out.B[o] += shift[o]
			}
		}
		rep.Tries++
		left := max(budget-time.Since(start), budget/10)
		if v := verify.Verify(ctx, c, p, verify.Options{Timeout: left, BreadthFirst: true}); v.Verdict == verify.Certified {
			rep.Verdict = string(verify.Certified)
			for _, o := range rep.Outputs {
				rep.Shift = append(rep.Shift, shift[o])
			}
			rep.Seconds = time.Since(start).Seconds()
			return c, rep, nil
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return nil, rep, nil
}

// search finds violations of p on net for the offset and the patch to start from.
func search(net *nn.Network, p *property.Property, seed uint64) []float64 {
	return falsify.Search(net, p, falsify.Options{Samples: 20000, Starts: 32, Steps: 30, StepSize: 0.02, Want: 64}, seed)
}

// boxSamples draws 20,000 samples of each exclusion's box (one seeded stream) and appends the violations
// cx: per exclusion, the rows and net's outputs on them; and the RMS of all those outputs.
func boxSamples(net *nn.Network, ex []exclusion, cx []float64, seed uint64) (xs, ys [][]float64, rms float64) {
	ss, ns := 0.0, 0.0 // the outputs' squares, for their RMS
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, e := range ex {
		x := append(e.box.Sample(rng, 20000), cx...)
		y := net.Forward(x)
		for _, v := range y {
			ss, ns = ss+v*v, ns+1
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys, math.Sqrt(ss / max(ns, 1))
}

// deficits is, per exclusion, the largest deficit (-slack, at least 0) on the rows of its samples (xs,
// ys from boxSamples, d inputs and m outputs a row) that lie in its box.
func deficits(ex []exclusion, xs, ys [][]float64, d, m int) []float64 {
	need := make([]float64, len(ex))
	for i, e := range ex {
		x, y := xs[i], ys[i]
		for r := 0; r < len(x)/d; r++ {
			if e.box.Contains(x[r*d : (r+1)*d]) {
				need[i] = math.Max(need[i], -e.slack(y[r*m:(r+1)*m]))
			}
		}
	}
	return need
}

// bound returns a sound lower bound of the exclusion's slack on box (CROWN's bound of its best moved
// constraint; the neutral ones can only make the slack larger), given the box's layer bounds from
// verify.Crown.
func (e *exclusion) bound(net *nn.Network, bounds [][]verify.Interval, box property.Box) float64 {
	best := math.Inf(-1)
	for _, t := range e.terms {
		if !t.neutral {
			best = math.Max(best, verify.OutputBound(net, bounds, box, t.coef, -t.t, true))
		}
	}
	return best
}

// leaf is a box of the branch and bound on the deficit, with its deficit per exclusion (minus the
// exclusion's lower bound) and its key, the largest of them above the sampled deficit of its output.
type leaf struct {
	box   property.Box
	whole property.Box
	ex    []int
	short []float64
	key   float64
}

type leafHeap []*leaf

func (h leafHeap) Len() int           { return len(h) }
func (h leafHeap) Less(i, j int) bool { return h[i].key > h[j].key }
func (h leafHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *leafHeap) Push(x any)        { *h = append(*h, x.(*leaf)) }
func (h *leafHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// maxLeaves bounds the branch and bound's memory.
const maxLeaves = 1 << 20

// deficit bounds, per exclusion, the least move along its direction that makes its slack positive on its
// box: the largest deficit over a partition of each box, refined until the deadline by splitting the leaf
// whose deficit is furthest above the sampled one (need, per exclusion), two at a time, in half along
// its widest dimension (relative to its case's box). root is the same bound on the unsplit boxes.
func deficit(ctx context.Context, net *nn.Network, ex []exclusion, need []float64, deadline time.Time) (hi, root []float64) {
	// One CROWN pass per box serves all of its exclusions.
	make1 := func(box, whole property.Box, idx []int) *leaf {
		l := &leaf{box: box, whole: whole, ex: idx, short: make([]float64, len(idx)), key: math.Inf(-1)}
		bounds := verify.Crown(net, box)
		for k, i := range idx {
			l.short[k] = -ex[i].bound(net, bounds, box)
			l.key = math.Max(l.key, l.short[k]-need[i])
		}
		return l
	}
	// per exclusion, the largest deficit over the leaves
	worst := func(h leafHeap) []float64 {
		w := make([]float64, len(ex))
		for i := range w {
			w[i] = math.Inf(-1)
		}
		for _, l := range h {
			for k, i := range l.ex {
				w[i] = math.Max(w[i], l.short[k])
			}
		}
		return w
	}
	// One root per distinct box.
	h := &leafHeap{}
	for i := range ex {
		found := false
		for _, l := range *h {
			if slices.Equal(l.box.Lo, ex[i].box.Lo) && slices.Equal(l.box.Hi, ex[i].box.Hi) {
				l.ex, found = append(l.ex, i), true
			}
		}
		if !found {
			*h = append(*h, &leaf{box: ex[i].box, whole: ex[i].box, ex: []int{i}})
		}
	}
	for k, l := range *h {
		(*h)[k] = make1(l.box, l.whole, l.ex)
	}
	root = worst(*h)
	heap.Init(h)
	for time.Now().Before(deadline) && ctx.Err() == nil && h.Len() < maxLeaves {
		top := heap.Pop(h).(*leaf)
		if top.key <= 1e-9 {
			heap.Push(h, top)
			break // every leaf is within rounding of what samples showed necessary
		}
		dim, wide := -1, 0.0
		for i := range top.box.Lo {
			if w := (top.box.Hi[i] - top.box.Lo[i]) / math.Max(top.whole.Hi[i]-top.whole.Lo[i], 1e-300); w > wide {
				dim, wide = i, w
			}
		}
		if dim < 0 || wide < 1e-9 {
			heap.Push(h, top)
			break
		}
		mid := top.box.Lo[dim] + (top.box.Hi[dim]-top.box.Lo[dim])/2
		a, b := property.Box{Lo: slices.Clone(top.box.Lo), Hi: slices.Clone(top.box.Hi)}, property.Box{Lo: slices.Clone(top.box.Lo), Hi: slices.Clone(top.box.Hi)}
		a.Hi[dim], b.Lo[dim] = mid, mid
		var la, lb *leaf
		var wg sync.WaitGroup
		wg.Go(func() { la = make1(a, top.whole, top.ex) })
		lb = make1(b, top.whole, top.ex)
		wg.Wait()
		heap.Push(h, la)
		heap.Push(h, lb)
	}
	return worst(*h), root
}
