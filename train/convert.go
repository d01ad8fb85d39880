package train

import (
	"fmt"
	"math"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// FromReLU returns a network with activation act that computes nearly what the ReLU network teacher
// computes, with sharpness k:
//   - elu: every hidden neuron relu(z) becomes elu with alpha 1/k (rounded to float32, as ONNX stores
//     it), which differs from relu(z) by at most alpha; the weights are the teacher's.
//   - softplus, which has no parameter: relu(z) becomes softplus(k*z)/k, off by at most log(2)/k. The
//     scale k is folded into the weights: a layer's weights and bias are multiplied by k, except that the
//     weights of a layer after a hidden one are unchanged (the 1/k of the outputs below cancels the k),
//     and the output layer's weights are divided by k.
//
// Only these activations approach relu so. (Elu could be scaled like softplus, elu(k*z)/k; its network's
// hidden biases and outputs are then k times the teacher's and its output weights 1/k of them, and
// repair's optimizer, whose steps are of one size in every layer, moves such a network badly.)
func FromReLU(teacher *nn.Network, act activation.Activation, k float64) (*nn.Network, error) {
	if !teacher.AllDense() {
		return nil, fmt.Errorf("init from a ReLU teacher: %w", nn.ErrNotDense)
	}
	if act.Name != "elu" && act.Name != "softplus" {
		return nil, fmt.Errorf("init from a ReLU teacher: %s does not approach relu when scaled (elu and softplus do)", act)
	}
	if !teacher.AllReLU() {
		return nil, fmt.Errorf("init from teacher: the teacher is not a ReLU network")
	}
	if !(k > 0) || math.IsInf(k, 1) {
		return nil, fmt.Errorf("init from teacher: sharpness %v must be finite and > 0", k)
	}
	net := teacher.Clone()
	last := len(net.Layers) - 1
	if act.Name == "elu" {
		act.Param = float64(float32(1 / k))
		for i := 0; i < last; i++ {
			net.Layers[i].Act = act
		}
		return net, nil
	}
	for i := range net.Layers {
		l := &net.Layers[i]
		wScale, bScale := k, k
		if i > 0 {
			wScale = 1
		}
		if i == last {
			wScale, bScale = 1/k, 1
		}
		for j := range l.W {
			l.W[j] *= wScale
		}
		for j := range l.B {
			l.B[j] *= bScale
		}
		if i < last {
			l.Act = act
		}
	}
	return net, nil
}

// Convert rewrites a network whose hidden layers are all tanh into the sigmoid network that computes
// exactly the same function, or back, using tanh(z) = 2 sigmoid(2z) - 1: each hidden output h of the tanh
// network is 2s - 1 for the sigmoid network's s, so a layer reading h reads 2s - 1 instead, and a tanh
// layer's pre-activation doubles. Only the rounding of the rewritten weights separates the two.
func Convert(net *nn.Network, to activation.Activation) (*nn.Network, error) {
	if !net.AllDense() {
		return nil, fmt.Errorf("convert: %w", nn.ErrNotDense)
	}
	var from activation.Activation
	switch to.Name {
	case "sigmoid":
		from = activation.Tanh
	case "tanh":
		from = activation.Sigmoid
	default:
		return nil, fmt.Errorf("convert: to %s: want tanh or sigmoid", to)
	}
	last := len(net.Layers) - 1
	for i := 0; i < last; i++ {
		if net.Layers[i].Act.Name != from.Name {
			return nil, fmt.Errorf("convert to %s: hidden layer %d is %s, want %s", to, i, net.Layers[i].Act, from)
		}
	}
	out := net.Clone()
	// With h = a*s + c the old hidden output in terms of the new one (tanh from sigmoid: a=2, c=-1;
	// sigmoid from tanh: a=1/2, c=1/2), and the new activation's argument g times the old one's (2 or 1/2).
	a, c, g := 2.0, -1.0, 2.0
	if to.Name == "tanh" {
		a, c, g = 0.5, 0.5, 0.5
	}
	for i := range out.Layers {
		l := &out.Layers[i]
		inScale, shift := 1.0, 0.0 // this layer's input is a*s + c (except the first layer's)
		for j := 0; j < l.Out; j++ {
			row := l.W[j*l.In : (j+1)*l.In]
			if i > 0 {
				inScale, shift = a, c
				sum := 0.0
				for _, w := range row {
					sum += w
				}
				l.B[j] += shift * sum
			}
			for t := range row {
				row[t] *= inScale
			}
			if i < last {
				for t := range row {
					row[t] *= g
				}
				l.B[j] *= g
			}
		}
		if i < last {
			l.Act = to
		}
	}
	return out, nil
}

// standardize replaces each row of m values by (v - mean) / (spread + floor), the spread being the
// row's root mean square deviation and the floor a thousandth of the whole set's.
