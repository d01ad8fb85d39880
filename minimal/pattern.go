package minimal

import (
	"fmt"

	"github.com/birdnn/birdnn/nn"
)

// PreActivations returns the pre-activations W h + B of dense layer k of net at input x.
func PreActivations(net *nn.Network, k int, x []float64) []float64 {
	h := x
	if k > 0 {
		h = net.Trace(x)[k-1]
	}
	return preActivation(&net.Layers[k], h)
}

// Pattern is the activation pattern a class's inputs share at one layer: On[j] when every one has unit
// j's pre-activation above 0, Off[j] when every one has it at or below 0.
type Pattern struct {
	On, Off []bool
}

// Patterns infers, at dense layer k, the pattern the inputs of each class share (NNrepair's
// specification for intermediate-layer repair): xs holds the inputs row-major, classes their classes
// among m. A class without inputs gets a nil pattern.
func Patterns(net *nn.Network, k int, xs []float64, classes []int, m int) ([]*Pattern, error) {
	if k < 0 || k >= len(net.Layers) || net.Layers[k].Kind != nn.Dense {
		return nil, fmt.Errorf("patterns: layer %d is not a dense layer of the network", k)
	}
	d, units := net.Inputs(), net.Layers[k].Out
	if len(xs) != len(classes)*d {
		return nil, fmt.Errorf("patterns: %d values for %d inputs of %d", len(xs), len(classes), d)
	}
	pats := make([]*Pattern, m)
	for i, c := range classes {
		if c < 0 || c >= m {
			return nil, fmt.Errorf("patterns: input %d has class %d, not one of %d", i, c, m)
		}
		z := PreActivations(net, k, xs[i*d:(i+1)*d])
		if pats[c] == nil {
			p := &Pattern{On: make([]bool, units), Off: make([]bool, units)}
			for j, v := range z {
				p.On[j], p.Off[j] = v > 0, v <= 0
			}
			pats[c] = p
			continue
		}
		p := pats[c]
		for j, v := range z {
			p.On[j] = p.On[j] && v > 0
			p.Off[j] = p.Off[j] && v <= 0
		}
	}
	return pats, nil
}

// Rows returns the unit rows (Input.UnitRows) that ask for the pattern: z_j >= margin where it is on,
// -z_j >= margin where it is off.
func (p *Pattern) Rows(margin float64) []Row {
	var rows []Row
	for j := range p.On {
		switch {
		case p.On[j]:
			rows = append(rows, unitRow(len(p.On), j, 1, margin))
		case p.Off[j]:
			rows = append(rows, unitRow(len(p.On), j, -1, margin))
		}
	}
	return rows
}

// SignRows returns the unit rows that keep the sign of each of the given units of z (on stays >= 0,
// off stays <= 0): they keep the linear model of a layer's change exact for the input z belongs to.
func SignRows(z []float64, units []int) []Row {
	var rows []Row
	for _, j := range units {
		if z[j] > 0 {
			rows = append(rows, unitRow(len(z), j, 1, 0))
		} else {
			rows = append(rows, unitRow(len(z), j, -1, 0))
		}
	}
	return rows
}

// ReachedUnits returns the units of the changed layer (of in inputs each) that the free entries reach,
// in increasing order (a bias entry, index >= units*in, reaches its unit too).
func ReachedUnits(free []int, in, units int) []int {
	seen := make([]bool, units)
	for _, f := range free {
		j := f / in
		if f >= units*in {
			j = f - units*in
		}
		if j >= 0 && j < units {
			seen[j] = true
		}
	}
	var out []int
	for j, s := range seen {
		if s {
			out = append(out, j)
		}
	}
	return out
}

func unitRow(units, j int, sign, bound float64) Row {
	c := make([]float64, units)
	c[j] = sign
	return Row{Coef: c, Bound: bound}
}
