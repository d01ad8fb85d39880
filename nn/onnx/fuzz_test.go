package onnx

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// FuzzRead feeds arbitrary bytes to Read: it must return a network or an error, never panic, and a network
// it returns must validate.
func FuzzRead(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, a := range []activation.Activation{activation.ReLU, activation.Tanh, {Name: "leaky_relu", Param: 0.5}} {
		var b bytes.Buffer
		Write(&b, nn.Random(rng, []int{2, 3, 2}, a, activation.Identity), Options{})
		f.Add(b.Bytes())
	}
	f.Add(model([]int64{1, 2}, "y", [][]byte{
		encodeNode("", "Sub", []string{"x", "S"}, []string{"s"}, nil),
		encodeNode("", "MatMul", []string{"s", "W"}, []string{"h"}, nil),
		encodeNode("", "Add", []string{"h", "B"}, []string{"y"}, nil),
	}, []tensorSpec{{"S", []int64{2}, []float64{1, 2}}, {"W", []int64{2, 2}, []float64{1, 2, 3, 4}}, {"B", []int64{2}, []float64{0, 1}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		net, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := net.Validate(); err != nil {
			t.Fatalf("Read returned an invalid network: %v", err)
		}
		x := make([]float64, net.Inputs())
		net.Forward(x)
	})
}
