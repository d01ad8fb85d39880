package onnx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/birdnn/birdnn/nn"
)

// Options controls how Write stores a network.
type Options struct {
	// Float64 stores the weights as double tensors (exact); the default is float32, which most ONNX
	// runtimes expect.
	Float64 bool
}

// Opset is the ONNX operator set version Write declares.
const Opset = 13

// Write writes net as an ONNX model: input "input" of shape [batch, inputs] (or [batch, channels,
// height, width] when the first layer is a convolution or pooling), one Gemm (transB=1, weights [out,
// in]), Conv (weights [out, in, kh, kw]), MaxPool or AveragePool per layer, each followed by its
// activation, a Flatten where a dense layer follows an image layer, and output "output" of shape [batch,
// outputs]. The normalization constants, if any, are stored in the model's metadata.
func Write(w io.Writer, net *nn.Network, opt Options) error {
	if err := net.Validate(); err != nil {
		return err
	}
	elem := int32(typeFloat)
	if opt.Float64 {
		elem = typeDouble
	}
	var g bytes.Buffer
	cur := "input"
	for k, l := range net.Layers {
		wName, bName := fmt.Sprintf("layer%d.weight", k), fmt.Sprintf("layer%d.bias", k)
		pre := fmt.Sprintf("layer%d.gemm", k)
		out := fmt.Sprintf("layer%d.act", k)
		last := k == len(net.Layers)-1
		if l.Act.Name == "identity" {
			out = pre
		}
		if last {
			if l.Act.Name == "identity" {
				pre = "output"
			}
			out = "output"
		}
		if k > 0 && l.Kind == nn.Dense && net.Layers[k-1].Kind != nn.Dense {
			flat := fmt.Sprintf("layer%d.flatten", k)
			appendMessage(&g, 1, encodeNode(fmt.Sprintf("layer%d_flatten", k), "Flatten", []string{cur}, []string{flat}, nil))
			cur = flat
		}
		gm := l.Geom
		window := []attr{{name: "kernel_shape", ints: []int64{int64(gm.KH), int64(gm.KW)}, typ: attrInts},
			{name: "strides", ints: []int64{int64(gm.Stride), int64(gm.Stride)}, typ: attrInts}}
		switch l.Kind {
		case nn.Dense:
			appendMessage(&g, 1, encodeNode(fmt.Sprintf("layer%d_gemm", k), "Gemm", []string{cur, wName, bName}, []string{pre},
				[]attr{{name: "transB", i: 1, typ: attrInt}}))
		case nn.Conv:
			pads := attr{name: "pads", ints: []int64{int64(gm.Pad), int64(gm.Pad), int64(gm.Pad), int64(gm.Pad)}, typ: attrInts}
			appendMessage(&g, 1, encodeNode(fmt.Sprintf("layer%d_conv", k), "Conv", []string{cur, wName, bName}, []string{pre}, append(window, pads)))
		case nn.MaxPool, nn.AvgPool:
			op := "MaxPool"
			if l.Kind == nn.AvgPool {
				op = "AveragePool"
			}
			appendMessage(&g, 1, encodeNode(fmt.Sprintf("layer%d_pool", k), op, []string{cur}, []string{pre}, window))
		}
		if l.Act.Name != "identity" {
			var attrs []attr
			op := ""
			switch l.Act.Name {
			case "relu":
				op = "Relu"
			case "leaky_relu":
				op, attrs = "LeakyRelu", []attr{{name: "alpha", f: float32(l.Act.Param), typ: attrFloat}}
			case "sigmoid":
				op = "Sigmoid"
			case "tanh":
				op = "Tanh"
			case "elu":
				op, attrs = "Elu", []attr{{name: "alpha", f: float32(l.Act.Param), typ: attrFloat}}
			case "softplus":
				op = "Softplus"
			default:
				return fmt.Errorf("layer %d: activation %s has no ONNX operator", k, l.Act)
			}
			if (op == "LeakyRelu" || op == "Elu") && float64(float32(l.Act.Param)) != l.Act.Param {
				return fmt.Errorf("layer %d: %s parameter %v is not exact in float32, as ONNX stores it", k, l.Act.Name, l.Act.Param)
			}
			appendMessage(&g, 1, encodeNode(fmt.Sprintf("layer%d_act", k), op, []string{pre}, []string{out}, attrs))
		}
		cur = out
	}
	appendString(&g, 2, "birdnn")
	for k, l := range net.Layers {
		gm := l.Geom
		switch l.Kind {
		case nn.Dense:
			appendMessage(&g, 5, encodeTensor(fmt.Sprintf("layer%d.weight", k), []int64{int64(l.Out), int64(l.In)}, l.W, elem))
			appendMessage(&g, 5, encodeTensor(fmt.Sprintf("layer%d.bias", k), []int64{int64(l.Out)}, l.B, elem))
		case nn.Conv:
			appendMessage(&g, 5, encodeTensor(fmt.Sprintf("layer%d.weight", k), []int64{int64(gm.OutC), int64(gm.InC), int64(gm.KH), int64(gm.KW)}, l.W, elem))
			appendMessage(&g, 5, encodeTensor(fmt.Sprintf("layer%d.bias", k), []int64{int64(gm.OutC)}, l.B, elem))
		}
	}
	if first := net.Layers[0]; first.Kind != nn.Dense {
		appendMessage(&g, 11, encodeValueInfoDims("input", elem, first.Geom.InC, first.Geom.InH, first.Geom.InW))
	} else {
		appendMessage(&g, 11, encodeValueInfo("input", elem, net.Inputs()))
	}
	appendMessage(&g, 12, encodeValueInfo("output", elem, net.Outputs()))

	var m bytes.Buffer
	appendVarint(&m, 1, 7) // ir_version 7 goes with opset 13
	appendString(&m, 2, "birdnn")
	appendMessage(&m, 7, g.Bytes())
	var op bytes.Buffer
	appendString(&op, 1, "")
	appendVarint(&op, 2, Opset)
	appendMessage(&m, 8, op.Bytes())
	if net.Norm != nil {
		js, err := json.Marshal(net.Norm)
		if err != nil {
			return err
		}
		var kv bytes.Buffer
		appendString(&kv, 1, normKey)
		appendString(&kv, 2, string(js))
		appendMessage(&m, 14, kv.Bytes())
	}
	_, err := w.Write(m.Bytes())
	return err
}
