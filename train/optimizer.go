package train

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// Optimizer updates a graph's learnables from the gradients of its last Run.
type Optimizer struct {
	solver G.Solver
	name   string
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

// Step applies one update to gr's learnables. The optimizer keeps its state (momenta) per learnable by
// position, so use one Optimizer per Graph.
func (o *Optimizer) Step(gr *Graph) error {
	if err := o.solver.Step(G.NodesToValueGrads(gr.Learnables())); err != nil {
		return fmt.Errorf("%s step: %w", o.name, err)
	}
	return nil
}
