package train

import (
	"fmt"
	"math"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Optimizer updates a graph's learnables from the gradients of its last Run.
type Optimizer struct {
	solver G.Solver
	name   string
	rel    *relativeAdam // the relative Adam, which needs the graph's layers; nil for Gorgonia's solvers
}

// NewSGD returns stochastic gradient descent with momentum (momentum 0 is plain SGD).
func NewSGD(learnRate, momentum float64) *Optimizer {
	if momentum == 0 {
		return &Optimizer{solver: G.NewVanillaSolver(G.WithLearnRate(learnRate)), name: "sgd"}
	}
	return &Optimizer{solver: G.NewMomentum(G.WithLearnRate(learnRate), G.WithMomentum(momentum)), name: "sgd"}
}

// NewAdam returns the Adam optimizer with the usual betas (0.9, 0.999).
func NewAdam(learnRate float64) *Optimizer {
	return &Optimizer{solver: G.NewAdamSolver(G.WithLearnRate(learnRate)), name: "adam"}
}

// NewRelativeAdam returns Adam (betas 0.9, 0.999) whose steps in each layer are relative to the size of
// that layer's weights: a weight of layer k moves by learnRate * s_k * mhat / (sqrt(vhat) + eps), s_k the
// root mean square of the layer's current weights, and a bias by the same times the root mean square of
// the layer's inputs in the batch (a bias is a weight on a constant input of the inputs' size). Scales
// are at least RelativeFloor.
//
// Plain Adam moves every parameter by about learnRate a step whatever its size, so a network whose layers
// are rescaled (a sigmoid network and the tanh network it equals have weights up to 4x apart) trains at a
// different pace, and weights grow only linearly in the number of steps. With relative steps, a network
// whose layers are rescaled by positive factors that its activations commute with (relu, identity) takes
// exactly the rescaled steps, and weights can grow geometrically.
func NewRelativeAdam(learnRate float64) *Optimizer {
	return &Optimizer{name: "adam-relative", rel: &relativeAdam{lr: learnRate}}
}

// Optimizers lists the names NewOptimizer takes.
var Optimizers = []string{"adam", "adam-relative", "sgd"}

// NewOptimizer returns the optimizer of that name (one of Optimizers) with the learning rate; momentum is
// used by sgd alone.
func NewOptimizer(name string, learnRate, momentum float64) (*Optimizer, error) {
	switch name {
	case "adam":
		return NewAdam(learnRate), nil
	case "adam-relative":
		return NewRelativeAdam(learnRate), nil
	case "sgd":
		return NewSGD(learnRate, momentum), nil
	}
	return nil, fmt.Errorf("optimizer %q: want one of %s", name, strings.Join(Optimizers, ", "))
}

// RelativeFloor is the smallest layer scale the relative Adam uses, so that a layer whose weights are all
// zero still moves.
const RelativeFloor = 1e-3

// Step applies one update to gr's learnables. The optimizer keeps its state (momenta) per learnable by
// position, so use one Optimizer per Graph.
func (o *Optimizer) Step(gr *Graph) error {
	if o.rel != nil {
		if err := o.rel.step(gr); err != nil {
			return fmt.Errorf("%s step: %w", o.name, err)
		}
		return nil
	}
	if err := o.solver.Step(G.NodesToValueGrads(gr.Learnables())); err != nil {
		return fmt.Errorf("%s step: %w", o.name, err)
	}
	return nil
}

// relativeAdam is the state of NewRelativeAdam: the moments of every learnable, in float64 whatever the
// graph's dtype.
type relativeAdam struct {
	lr   float64
	t    int
	m, v [][]float64
}

const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

func (a *relativeAdam) step(gr *Graph) error {
	if a.m == nil {
		a.m, a.v = make([][]float64, len(gr.learn)), make([][]float64, len(gr.learn))
	}
	if len(a.m) != len(gr.learn) {
		return fmt.Errorf("the graph has %d learnables, the optimizer was started with %d", len(gr.learn), len(a.m))
	}
	a.t++
	c1 := 1 - math.Pow(adamBeta1, float64(a.t))
	c2 := 1 - math.Pow(adamBeta2, float64(a.t))
	// Every layer's scales, from its weights before this step.
	scale := map[int]float64{}
	for _, k := range gr.layer {
		if _, ok := scale[k]; !ok {
			scale[k] = max(gr.weightRMS(k), RelativeFloor)
		}
	}
	for i, n := range gr.learn {
		k := gr.layer[i]
		s := scale[k]
		if gr.isBias[i] {
			s = max(s*gr.inputRMS(k), RelativeFloor)
		}
		gv, err := n.Grad()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name(), err)
		}
		wd, ok1 := n.Value().(*tensor.Dense)
		gd, ok2 := gv.(*tensor.Dense)
		if !ok1 || !ok2 {
			return fmt.Errorf("%s: not a dense tensor", n.Name())
		}
		eta := a.lr * s
		switch w := wd.Data().(type) {
		case []float64:
			g := gd.Data().([]float64)
			m, v := a.moments(i, len(w))
			for j := range w {
				m[j] = adamBeta1*m[j] + (1-adamBeta1)*g[j]
				v[j] = adamBeta2*v[j] + (1-adamBeta2)*g[j]*g[j]
				w[j] -= eta * (m[j] / c1) / (math.Sqrt(v[j]/c2) + adamEps)
				g[j] = 0
			}
		case []float32:
			g := gd.Data().([]float32)
			m, v := a.moments(i, len(w))
			for j := range w {
				gj := float64(g[j])
				m[j] = adamBeta1*m[j] + (1-adamBeta1)*gj
				v[j] = adamBeta2*v[j] + (1-adamBeta2)*gj*gj
				w[j] -= float32(eta * (m[j] / c1) / (math.Sqrt(v[j]/c2) + adamEps))
				g[j] = 0
			}
		default:
			return fmt.Errorf("%s: unsupported dtype %T", n.Name(), w)
		}
	}
	return nil
}

// moments returns learnable i's first and second moments, made at size n on first use.
func (a *relativeAdam) moments(i, n int) (m, v []float64) {
	if a.m[i] == nil {
		a.m[i], a.v[i] = make([]float64, n), make([]float64, n)
	}
	return a.m[i], a.v[i]
}
