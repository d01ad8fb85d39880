// Package nn is birdnn's network model: feed-forward networks of fully connected, convolution and pooling
// layers with a per-layer activation, their input/output normalization, and a plain-Go batched forward
// pass.
//
// Everything in birdnn (evaluation, repair, verification) works in the network's normalized input space
// and raw output space, as the ACAS Xu ONNX files, the VNN-LIB properties and the CARE sets do. The
// Normalization kept with a network converts to and from physical units only when a user asks for it.
package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/property"
)

// Layer is one layer of a network: fully connected (Kind Dense, the zero value: Out = Act(W*In + B)), a
// convolution or a pooling (see Kind and Geom).
type Layer struct {
	// Kind is what the layer computes; Geom its image geometry (Conv, MaxPool, AvgPool only).
	Kind Kind
	Geom Geom
	// In and Out are the layer's input and output sizes.
	In, Out int
	// W holds the weights row-major: for Dense, Out rows of In (W[j*In+i] is the weight from input i to
	// neuron j); for Conv, OutC kernels of InC x KH x KW; none for pooling.
	W []float64
	// B holds the biases: Out for Dense, OutC for Conv, none for pooling.
	B []float64
	// Act is the activation applied to every neuron of the layer.
	Act activation.Activation
}

// Weight returns the weight from input i to neuron j.
func (l *Layer) Weight(j, i int) float64 { return l.W[j*l.In+i] }

// Transposed returns the weights as In rows of Out (row-major): the transpose of W.
func (l *Layer) Transposed() []float64 {
	t := make([]float64, len(l.W))
	for j := 0; j < l.Out; j++ {
		for i, v := range l.W[j*l.In : (j+1)*l.In] {
			t[i*l.Out+j] = v
		}
	}
	return t
}

// Network is a feed-forward network: a sequence of layers, each taking the previous one's outputs.
type Network struct {
	Layers []Layer
	// Norm holds the normalization constants of the network's inputs and outputs, or nil.
	Norm *Normalization
}

// Normalization holds the constants that relate physical units to the network's own: a raw input x maps
// to (clip(x, InMin, InMax) - InMean) / InRange, and a network output y to y*OutRange + OutMean (the
// .nnet conventions).
type Normalization struct {
	InMin, InMax, InMean, InRange []float64
	OutMean, OutRange             float64
}

// Inputs returns the number of inputs.
func (n *Network) Inputs() int {
	if len(n.Layers) == 0 {
		return 0
	}
	return n.Layers[0].In
}

// Outputs returns the number of outputs.
func (n *Network) Outputs() int {
	if len(n.Layers) == 0 {
		return 0
	}
	return n.Layers[len(n.Layers)-1].Out
}

// Params returns the number of weights and biases.
func (n *Network) Params() int {
	c := 0
	for _, l := range n.Layers {
		c += len(l.W) + len(l.B)
	}
	return c
}

// Hidden returns the number of hidden neurons (neurons of every layer but the last).
func (n *Network) Hidden() int {
	c := 0
	for _, l := range n.Layers[:max(len(n.Layers)-1, 0)] {
		c += l.Out
	}
	return c
}

// Validate checks that the layers chain, the slices have their sizes, the activations are registered and
// every parameter is finite.
func (n *Network) Validate() error {
	if len(n.Layers) == 0 {
		return errors.New("network has no layers")
	}
	for k := range n.Layers {
		l := &n.Layers[k]
		if l.In <= 0 || l.Out <= 0 {
			return fmt.Errorf("layer %d: sizes %dx%d must be positive", k, l.Out, l.In)
		}
		if k > 0 && l.In != n.Layers[k-1].Out {
			return fmt.Errorf("layer %d: takes %d inputs but layer %d has %d outputs", k, l.In, k-1, n.Layers[k-1].Out)
		}
		if l.Kind != Dense {
			if err := l.validateImage(); err != nil {
				return fmt.Errorf("layer %d: %w", k, err)
			}
		} else if len(l.W) != l.In*l.Out {
			return fmt.Errorf("layer %d: %d weights, want %d", k, len(l.W), l.In*l.Out)
		} else if len(l.B) != l.Out {
			return fmt.Errorf("layer %d: %d biases, want %d", k, len(l.B), l.Out)
		}
		if _, err := l.Act.Kind(); err != nil {
			return fmt.Errorf("layer %d: %w", k, err)
		}
		for i, w := range l.W {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				return fmt.Errorf("layer %d: weight %d (neuron %d, input %d) is %v", k, i, i/l.In, i%l.In, w)
			}
		}
		for j, b := range l.B {
			if math.IsNaN(b) || math.IsInf(b, 0) {
				return fmt.Errorf("layer %d: bias %d is %v", k, j, b)
			}
		}
	}
	if m := n.Norm; m != nil {
		in := n.Inputs()
		for _, s := range []struct {
			name string
			v    []float64
		}{{"input minimum", m.InMin}, {"input maximum", m.InMax}, {"input mean", m.InMean}, {"input range", m.InRange}} {
			if len(s.v) != in {
				return fmt.Errorf("normalization: %d values of %s, want %d", len(s.v), s.name, in)
			}
		}
		for i, r := range m.InRange {
			if r == 0 || math.IsNaN(r) {
				return fmt.Errorf("normalization: input range %d is %v", i, r)
			}
		}
		if m.OutRange == 0 || math.IsNaN(m.OutRange) {
			return fmt.Errorf("normalization: output range is %v", m.OutRange)
		}
	}
	return nil
}

// Clone returns a deep copy of n.
func (n *Network) Clone() *Network {
	c := &Network{Layers: make([]Layer, len(n.Layers))}
	for k, l := range n.Layers {
		l.W = append([]float64(nil), l.W...)
		l.B = append([]float64(nil), l.B...)
		c.Layers[k] = l
	}
	if n.Norm != nil {
		m := *n.Norm
		m.InMin = append([]float64(nil), m.InMin...)
		m.InMax = append([]float64(nil), m.InMax...)
		m.InMean = append([]float64(nil), m.InMean...)
		m.InRange = append([]float64(nil), m.InRange...)
		c.Norm = &m
	}
	return c
}

// Between returns the network whose weights and biases are a + lambda (b - a), with a's activations and
// normalization: a at lambda 0, b at 1. The two must have the same layers (kinds, geometry, sizes and
// activations).
func Between(a, b *Network, lambda float64) (*Network, error) {
	if len(a.Layers) != len(b.Layers) {
		return nil, fmt.Errorf("between: %d layers against %d", len(a.Layers), len(b.Layers))
	}
	c := a.Clone()
	for k := range c.Layers {
		l, m := &c.Layers[k], &b.Layers[k]
		if l.Kind != m.Kind || l.Geom != m.Geom || l.In != m.In || l.Out != m.Out || l.Act != m.Act || len(l.W) != len(m.W) || len(l.B) != len(m.B) {
			return nil, fmt.Errorf("between: layer %d differs in shape or activation", k)
		}
		for i, w := range m.W {
			l.W[i] += lambda * (w - l.W[i])
		}
		for i, v := range m.B {
			l.B[i] += lambda * (v - l.B[i])
		}
	}
	return c, nil
}

// AllReLU reports whether every hidden layer is relu and the output layer is identity: the only networks
// the .nnet format can describe.
func (n *Network) AllReLU() bool {
	for k, l := range n.Layers {
		if l.Kind != Dense {
			return false
		}
		want := "relu"
		if k == len(n.Layers)-1 {
			want = "identity"
		}
		if l.Act.Name != want {
			return false
		}
	}
	return true
}

// NormalizeInput maps a raw input to the network's input space, clipping to the input bounds first.
func (m *Normalization) NormalizeInput(raw, dst []float64) {
	for i, x := range raw {
		x = math.Min(math.Max(x, m.InMin[i]), m.InMax[i])
		dst[i] = (x - m.InMean[i]) / m.InRange[i]
	}
}

// DenormalizeInput maps a network input back to raw units.
func (m *Normalization) DenormalizeInput(x, dst []float64) {
	for i, v := range x {
		dst[i] = v*m.InRange[i] + m.InMean[i]
	}
}

// DenormalizeOutput maps network outputs to raw units, in place.
func (m *Normalization) DenormalizeOutput(y []float64) {
	for i := range y {
		y[i] = y[i]*m.OutRange + m.OutMean
	}
}

// DomainBox is the box fidelity and distillation sample: the network's whole input domain in its own
// (normalized) units (InputDomain, every dimension of positive width) or, without one, the hull of
// prop's input boxes (when prop is not nil). It says which in name; ok is false when there is neither.
func (n *Network) DomainBox(prop *property.Property) (box property.Box, name string, ok bool) {
	if lo, hi, known := n.InputDomain(); known {
		wide := true
		for i := range lo {
			wide = wide && hi[i] > lo[i]
		}
		if wide {
			return property.Box{Lo: lo, Hi: hi}, "network input domain (normalization bounds)", true
		}
	}
	if prop == nil || len(prop.Cases) == 0 {
		return property.Box{}, "", false
	}
	return prop.Hull(), "hull of the property's input boxes", true
}

// InputDomain returns the network's whole input domain in its own (normalized) units, from the
// normalization's input bounds, and whether it is known: there is a normalization and every bound is
// finite and within 1e6.
func (n *Network) InputDomain() (lo, hi []float64, ok bool) {
	m := n.Norm
	if m == nil {
		return nil, nil, false
	}
	lo, hi = make([]float64, n.Inputs()), make([]float64, n.Inputs())
	for i := range lo {
		lo[i] = (m.InMin[i] - m.InMean[i]) / m.InRange[i]
		hi[i] = (m.InMax[i] - m.InMean[i]) / m.InRange[i]
		if math.IsInf(lo[i], 0) || math.IsInf(hi[i], 0) || math.Abs(lo[i]) > 1e6 || math.Abs(hi[i]) > 1e6 {
			return nil, nil, false
		}
	}
	return lo, hi, true
}
