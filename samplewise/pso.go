package samplewise

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/internal/par"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/localize"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// runPSO is BIRDNN-FT's published optimizer: a particle swarm over one factor (1 + r) per localized
// neuron, scaling the neuron's output, minimizing (1 - alpha) * (share of negatives still unsafe) +
// alpha * (share of positives made unsafe). It returns the best network and its cost.
func runPSO(ctx context.Context, net *nn.Network, prop *property.Property, neg, pos *imitate.Behaviour, neurons []localize.Neuron, cfg configs.PSO, seed uint64, rep *progress.Reporter) (*nn.Network, float64, error) {
	k := len(neurons)
	for _, n := range neurons {
		if n.Layer == len(net.Layers)-1 && net.Layers[n.Layer].Act.Name != "identity" && !homogeneous(net.Layers[n.Layer].Act.Name) {
			return nil, 0, fmt.Errorf("pso: cannot scale output neuron %d of a %s output layer", n.Index, net.Layers[n.Layer].Act)
		}
	}
	// Rows: negatives then positives that the original network gets right.
	d, m := net.Inputs(), net.Outputs()
	x := append(append([]float64(nil), neg.Inputs...), pos.Inputs...)
	nNeg, nPos := neg.N, pos.N
	// Every layer before the first scaled one is fixed: start each evaluation from its cached output.
	first := len(net.Layers)
	for _, n := range neurons {
		first = min(first, n.Layer)
	}
	var prefix []float64
	if first == 0 {
		prefix = x
	} else {
		trace := net.Trace(x)
		prefix = trace[first-1]
	}
	cost := func(r []float64) float64 {
		f := scaled(net, neurons, r)
		y := f.ForwardFrom(first, prefix)
		stillBad, broken := 0, 0
		for i := 0; i < nNeg+nPos; i++ {
			u := prop.Unsafe(x[i*d:(i+1)*d], y[i*m:(i+1)*m])
			if i < nNeg && u {
				stillBad++
			}
			if i >= nNeg && u {
				broken++
			}
		}
		c := 0.0
		if nNeg > 0 {
			c += (1 - cfg.Alpha) * float64(stillBad) / float64(nNeg)
		}
		if nPos > 0 {
			c += cfg.Alpha * float64(broken) / float64(nPos)
		}
		return c
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	type particle struct {
		x, v, best []float64
		bestCost   float64
	}
	ps := make([]particle, cfg.Particles)
	for i := range ps {
		p := particle{x: make([]float64, k), v: make([]float64, k)}
		for j := 0; j < k; j++ {
			if i > 0 { // the first particle starts at r = 0, the network as it is
				p.x[j] = (2*rng.Float64() - 1) * cfg.Range
			}
			p.v[j] = (2*rng.Float64() - 1) * cfg.Range * 0.1
		}
		ps[i] = p
	}
	eval := func() {
		costs := make([]float64, len(ps))
		par.For(len(ps), func(i int) { costs[i] = cost(ps[i].x) })
		for i := range ps {
			if ps[i].best == nil || costs[i] < ps[i].bestCost {
				ps[i].best, ps[i].bestCost = append([]float64(nil), ps[i].x...), costs[i]
			}
		}
	}
	eval()
	gbest, gcost := ps[0].best, ps[0].bestCost
	for i := range ps {
		if ps[i].bestCost < gcost {
			gbest, gcost = ps[i].best, ps[i].bestCost
		}
	}
	ph := rep.Start("pso iterations", cfg.Iterations)
	for it := 0; it < cfg.Iterations && gcost > 0; it++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		for i := range ps {
			p := &ps[i]
			for j := 0; j < k; j++ {
				p.v[j] = cfg.W*p.v[j] + cfg.C1*rng.Float64()*(p.best[j]-p.x[j]) + cfg.C2*rng.Float64()*(gbest[j]-p.x[j])
				p.x[j] = math.Max(-cfg.Range, math.Min(cfg.Range, p.x[j]+p.v[j]))
			}
		}
		eval()
		for i := range ps {
			if ps[i].bestCost < gcost {
				gbest, gcost = ps[i].best, ps[i].bestCost
			}
		}
		ph.Add(1, fmt.Sprintf("cost %.5f", gcost))
	}
	ph.Finish(fmt.Sprintf("cost %.5f", gcost))
	return scaled(net, neurons, gbest), gcost, nil
}

// homogeneous reports whether act(c z) = c act(z) for c >= 0, so that scaling a neuron's output equals
// scaling its incoming weights and bias.
func homogeneous(act string) bool { return act == "relu" || act == "leaky_relu" || act == "identity" }

// scaled returns a copy of net with each neuron's output multiplied by (1 + r). For positively homogeneous
// activations the neuron's own weights and bias are scaled (the factor is never negative), so only the
// localized neurons change; otherwise its outgoing weights in the next layer are.
func scaled(net *nn.Network, neurons []localize.Neuron, r []float64) *nn.Network {
	f := net.Clone()
	for i, n := range neurons {
		c := 1 + r[i]
		l := &f.Layers[n.Layer]
		if homogeneous(l.Act.Name) && c >= 0 || n.Layer == len(f.Layers)-1 {
			for in := 0; in < l.In; in++ {
				l.W[n.Index*l.In+in] *= c
			}
			l.B[n.Index] *= c
			continue
		}
		next := &f.Layers[n.Layer+1]
		for o := 0; o < next.Out; o++ {
			next.W[o*next.In+n.Index] *= c
		}
	}
	return f
}
