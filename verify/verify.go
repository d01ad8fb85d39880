package verify

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Verdict is the outcome of a verification.
type Verdict string

// The verdicts.
const (
	Certified Verdict = "certified" // no input of any box reaches the unsafe region (bounds prove it)
	Violated  Verdict = "violated"  // a counterexample was found and confirmed by a plain forward pass
	Unknown   Verdict = "unknown"   // the budget ran out first
)

// Counterexample is an input of the property's box whose output is unsafe.
type Counterexample struct {
	Input  []float64 `json:"input"`
	Output []float64 `json:"output"`
}

// Result is a verification's outcome.
type Result struct {
	Verdict        Verdict         `json:"verdict"`
	Seconds        float64         `json:"seconds"`
	Boxes          int             `json:"boxes"`
	Counterexample *Counterexample `json:"counterexample,omitempty"`
}

// Options bounds the work.
type Options struct {
	// Timeout ends the search with Unknown (0: no limit).
	Timeout time.Duration
	// MaxBoxes ends the search with Unknown after this many boxes (0: no limit).
	MaxBoxes int
	// Workers is the number of boxes bounded at once (0: 2).
	Workers int
	// NoAttack turns the counterexample search off (bounds only), for testing the bounds' soundness.
	NoAttack bool
}

// Verify decides whether the network satisfies the property on every case's box: branch and bound over
// input splits, CROWN bounds to prune, and a counterexample search on the boxes left open. A Certified
// verdict rests only on the sound bounds; a Violated verdict comes with a counterexample that a plain
// forward pass confirms.
func Verify(ctx context.Context, net *nn.Network, prop *property.Property, opt Options) Result {
	start := time.Now()
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.Timeout)
		defer cancel()
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = 2
	}
	res := Result{Verdict: Certified}
	// Cheap first: a seeded search of every box for a counterexample.
	if !opt.NoAttack {
		if cx := falsify.Search(net, prop, falsify.Options{Samples: 2000, Starts: 16, Steps: 30, StepSize: 0.02, Want: 1}, 1); len(cx) > 0 {
			return violated(net, cx[:net.Inputs()], start, 0)
		}
	}
	type job struct {
		box  property.Box
		kase int
	}
	var queue []job
	for k, c := range prop.Cases {
		queue = append(queue, job{box: c.Box, kase: k})
	}
	var mu sync.Mutex
	boxes := 0
	var found []float64
	for len(queue) > 0 {
		if ctx.Err() != nil || (opt.MaxBoxes > 0 && boxes >= opt.MaxBoxes) {
			res.Verdict = Unknown
			break
		}
		n := min(workers, len(queue))
		batch := queue[len(queue)-n:]
		queue = queue[:len(queue)-n]
		var wg sync.WaitGroup
		var children []job
		for _, j := range batch {
			wg.Add(1)
			go func(j job) {
				defer wg.Done()
				c := prop.Cases[j.kase]
				safe, dim, cx := decide(net, c, j.box, !opt.NoAttack)
				mu.Lock()
				defer mu.Unlock()
				boxes++
				if cx != nil && found == nil {
					found = cx
				}
				if !safe && cx == nil {
					a, b := split(j.box, dim)
					children = append(children, job{a, j.kase}, job{b, j.kase})
				}
			}(j)
		}
		wg.Wait()
		if found != nil {
			return violated(net, found, start, boxes)
		}
		queue = append(queue, children...)
	}
	res.Boxes = boxes
	res.Seconds = time.Since(start).Seconds()
	return res
}

// A certified verdict is only ever reached with an empty queue and no counterexample; Unknown otherwise.

func violated(net *nn.Network, x []float64, start time.Time, boxes int) Result {
	x = append([]float64(nil), x...)
	return Result{Verdict: Violated, Seconds: time.Since(start).Seconds(), Boxes: boxes,
		Counterexample: &Counterexample{Input: x, Output: net.Forward(x)}}
}

// decide bounds the case's unsafe region on box. It returns safe when every conjunction has a constraint
// whose lower bound over the box is positive; otherwise the dimension to split (largest smear) and, if the
// box's centre or a short descent from it is a counterexample, that input.
func decide(net *nn.Network, c property.Case, box property.Box, attack bool) (safe bool, dim int, cx []float64) {
	rx := crown(net, box)
	top := len(net.Layers) - 1
	bestSmear := -1.0
	allExcluded := true
	for _, conj := range c.Unsafe {
		// The conjunction {c_j·y <= b_j for all j} is empty on the box if some combination
		// sum_j lambda_j (c_j·y - b_j), lambda >= 0, is positive everywhere on it. Try each constraint alone,
		// then their even mix and every pair (the dominating output can change across a box).
		excluded := false
		var worstCoef []float64
		worstLB := math.Inf(-1)
		try := func(lambda []float64) bool {
			f := linear{coef: make([]float64, net.Outputs())}
			for j, con := range conj {
				if lambda[j] == 0 {
					continue
				}
				for i, a := range con.Coef {
					f.coef[i] += lambda[j] * a
				}
				f.c -= lambda[j] * con.Bound
			}
			lb, coef := rx.backSubstitute(net, box, top, f, true)
			if lb > 0 {
				return true
			}
			if lb > worstLB {
				worstLB, worstCoef = lb, coef
			}
			return false
		}
		m := len(conj)
		for _, lambda := range mixes(m) {
			if try(lambda) {
				excluded = true
				break
			}
		}
		if excluded {
			continue
		}
		allExcluded = false
		for i, a := range worstCoef {
			if s := math.Abs(a) * (box.Hi[i] - box.Lo[i]); s > bestSmear {
				bestSmear, dim = s, i
			}
		}
	}
	if allExcluded {
		return true, 0, nil
	}
	if !attack {
		return false, dim, nil
	}
	centre := make([]float64, box.Dim())
	for i := range centre {
		centre[i] = (box.Lo[i] + box.Hi[i]) / 2
	}
	sub := property.Case{Box: box, Unsafe: c.Unsafe}
	if x := falsify.Descend(net, sub, centre, 10, 0.1); x != nil && c.Unsafe.Unsafe(net.Forward(x)) {
		return false, dim, x
	}
	return false, dim, nil
}

// mixes lists the weightings tried for a conjunction of m constraints: each alone, the even mix, and each
// pair evenly (for m up to 6; beyond, singles and the even mix).
func mixes(m int) [][]float64 {
	var out [][]float64
	for j := 0; j < m; j++ {
		l := make([]float64, m)
		l[j] = 1
		out = append(out, l)
	}
	if m < 2 {
		return out
	}
	even := make([]float64, m)
	for j := range even {
		even[j] = 1 / float64(m)
	}
	out = append(out, even)
	if m <= 6 {
		for a := 0; a < m; a++ {
			for b := a + 1; b < m; b++ {
				l := make([]float64, m)
				l[a], l[b] = 0.5, 0.5
				out = append(out, l)
			}
		}
	}
	return out
}

// split halves box along dim.
func split(box property.Box, dim int) (property.Box, property.Box) {
	mid := (box.Lo[dim] + box.Hi[dim]) / 2
	a := property.Box{Lo: append([]float64(nil), box.Lo...), Hi: append([]float64(nil), box.Hi...)}
	b := property.Box{Lo: append([]float64(nil), box.Lo...), Hi: append([]float64(nil), box.Hi...)}
	a.Hi[dim], b.Lo[dim] = mid, mid
	return a, b
}
