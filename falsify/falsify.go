// Package falsify searches a property's input boxes for counterexamples: inputs whose output lies in the
// unsafe region. It samples uniformly, then runs projected gradient descent on the safety margin from the
// best points.
package falsify

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/birdnn/birdnn/internal/par"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Options controls Search.
type Options struct {
	// Samples is how many uniform samples to draw per case.
	Samples int
	// Starts is how many of the lowest-margin samples start a descent.
	Starts int
	// Steps and StepSize (a fraction of the box width per dimension) control each descent.
	Steps    int
	StepSize float64
	// Want stops the search once this many counterexamples are found (0: no limit).
	Want int
}

// Default is a search that suits ACAS Xu-sized networks: a few tenths of a second.
var Default = Options{Samples: 20000, Starts: 64, Steps: 40, StepSize: 0.02}

// Search returns the distinct counterexamples it finds, row-major.
func Search(net *nn.Network, prop *property.Property, opt Options, seed uint64) []float64 {
	d, m := net.Inputs(), net.Outputs()
	var found []float64
	for ci, c := range prop.Cases {
		rng := rand.New(rand.NewPCG(seed, uint64(ci)))
		x := c.Box.Sample(rng, opt.Samples)
		y := net.Forward(x)
		type scored struct {
			i int
			m float64
		}
		s := make([]scored, opt.Samples)
		for i := range s {
			s[i] = scored{i, c.Unsafe.Margin(y[i*m : (i+1)*m])}
			if s[i].m <= 0 {
				found = append(found, x[i*d:(i+1)*d]...)
			}
		}
		if opt.Want > 0 && len(found)/d >= opt.Want {
			continue
		}
		sort.Slice(s, func(a, b int) bool { return s[a].m < s[b].m })
		starts := min(opt.Starts, len(s))
		results := make([][]float64, starts)
		par.For(starts, func(k int) {
			results[k] = Descend(net, c, x[s[k].i*d:(s[k].i+1)*d], opt.Steps, opt.StepSize)
		})
		for _, r := range results {
			if r != nil {
				found = append(found, r...)
			}
		}
	}
	return found
}

// Descend runs projected signed-gradient descent on the safety margin of case c from x0, and returns the
// first counterexample reached, or nil.
func Descend(net *nn.Network, c property.Case, x0 []float64, steps int, stepSize float64) []float64 {
	d := len(x0)
	x := append([]float64(nil), x0...)
	step := make([]float64, d)
	for i := range step {
		step[i] = stepSize * (c.Box.Hi[i] - c.Box.Lo[i])
	}
	for it := 0; it <= steps; it++ {
		y := net.Forward(x)
		g, margin := marginGrad(c.Unsafe, y)
		if margin <= 0 {
			return x
		}
		if it == steps || g == nil {
			break
		}
		gx := net.InputGrad(x, g)
		decay := 1 - float64(it)/float64(steps+1)
		for i := range x {
			switch {
			case gx[i] > 0:
				x[i] -= step[i] * decay
			case gx[i] < 0:
				x[i] += step[i] * decay
			}
			x[i] = math.Min(math.Max(x[i], c.Box.Lo[i]), c.Box.Hi[i])
		}
	}
	return nil
}

// marginGrad returns the margin of y and its (sub)gradient with respect to y: the coefficients of the
// constraint that attains min over conjunctions of max over constraints.
func marginGrad(r property.Region, y []float64) ([]float64, float64) {
	best := math.Inf(1)
	var g []float64
	for _, conj := range r {
		worst, wi := math.Inf(-1), -1
		for i, k := range conj {
			if v := k.Value(y); v > worst {
				worst, wi = v, i
			}
		}
		if wi >= 0 && worst < best {
			best, g = worst, conj[wi].Coef
		}
	}
	return g, best
}

// Around samples per points uniformly in a box of half-width radius (a fraction of the case's box width)
// around each centre, clipped to the case's box, and returns them row-major.
func Around(prop *property.Property, centres []float64, per int, radius float64, seed uint64) []float64 {
	d := prop.Inputs
	rng := rand.New(rand.NewPCG(seed, 99))
	var x []float64
	for c := 0; c < len(centres)/d; c++ {
		xc := centres[c*d : (c+1)*d]
		k := prop.CaseOf(xc)
		if k < 0 {
			continue
		}
		b := prop.Cases[k].Box
		for r := 0; r < per; r++ {
			for i := 0; i < d; i++ {
				w := radius * (b.Hi[i] - b.Lo[i])
				x = append(x, math.Min(math.Max(xc[i]+(2*rng.Float64()-1)*w, b.Lo[i]), b.Hi[i]))
			}
		}
	}
	return x
}
