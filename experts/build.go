package experts

import (
	"context"
	"fmt"

	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
)

// BuildOptions say how each expert is repaired.
type BuildOptions struct {
	// Minimal sets the layer, norm and Limit of each expert's program (package minimal); its Free must be
	// nil: with Localized > 0 each expert localizes that many entries on its own failing inputs
	// (minimal.Localize), else every entry of the layer may change.
	Minimal   minimal.Options
	Localized int
}

// Build repairs net once a class of its m outputs: expert l is the least change (opt.Minimal) that fixes
// the failing inputs labelled l (all their rows) and the failing inputs net classifies l wrongly (their
// rows that hold output l down: Coef[l] < 0), soft rows as given (a zero Weight becomes 1), while every
// passing input keeps its rows, hard. An expert with no failing input is a copy of net and its result nil.
// failLabels[i] is fail[i]'s class. (NNrepair's expert l fixes the failing inputs of label l; the second
// kind of row is birdnn's, so that the expert of a backdoor's target class learns to stop claiming it.)
func Build(ctx context.Context, net *nn.Network, fail []minimal.Input, failLabels []int, pass []minimal.Input, opt BuildOptions) ([]*nn.Network, []*minimal.Result, error) {
	if len(fail) != len(failLabels) {
		return nil, nil, fmt.Errorf("experts: %d failing inputs, %d labels", len(fail), len(failLabels))
	}
	if opt.Minimal.Free != nil {
		return nil, nil, fmt.Errorf("experts: Minimal.Free is chosen for each expert")
	}
	m := net.Outputs()
	orig := make([]int, len(fail))
	for i, in := range fail {
		orig[i] = nn.Argmax(net.Forward(in.X))
		for _, r := range in.Rows {
			if len(r.Coef) != m {
				return nil, nil, fmt.Errorf("experts: failing input %d has a row on %d outputs, the network %d", i, len(r.Coef), m)
			}
		}
	}
	experts, results := make([]*nn.Network, m), make([]*minimal.Result, m)
	for l := 0; l < m; l++ {
		var soft []minimal.Input
		for i, in := range fail {
			if failLabels[i] < 0 || failLabels[i] >= m {
				return nil, nil, fmt.Errorf("experts: failing input %d has label %d, not a class of %d", i, failLabels[i], m)
			}
			if in.Weight == 0 {
				in.Weight = 1
			}
			switch {
			case failLabels[i] == l:
				soft = append(soft, in)
			case orig[i] == l:
				// Wrongly classified l: only its rows that hold l down.
				var rows []minimal.Row
				for _, r := range in.Rows {
					if r.Coef[l] < 0 {
						rows = append(rows, r)
					}
				}
				if len(rows) > 0 {
					in.Rows = rows
					soft = append(soft, in)
				}
			}
		}
		if len(soft) == 0 {
			experts[l] = net.Clone()
			continue
		}
		o := opt.Minimal
		if opt.Localized > 0 {
			free, err := minimal.Localize(net, soft, o, opt.Localized)
			if err != nil {
				return nil, nil, fmt.Errorf("expert %d: %w", l, err)
			}
			o.Free = free
		}
		res, err := minimal.Solve(ctx, net, append(soft, pass...), o)
		if err != nil {
			return nil, nil, fmt.Errorf("expert %d: %w", l, err)
		}
		experts[l], results[l] = res.Net, res
	}
	return experts, results, nil
}
