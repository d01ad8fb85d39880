// Package onnx reads and writes fully connected networks in ONNX: Gemm or MatMul+Add layers with Relu,
// LeakyRelu, Sigmoid, Tanh, Elu or Softplus, a Flatten or Reshape of the input, and Sub/Div input
// normalization, which is folded into the first layer.
package onnx

// maxFileSize bounds the files Read accepts (fully connected networks are small).
const maxFileSize = 1 << 30

// normKey is the metadata_props key under which Write stores the network's normalization constants.
const normKey = "birdnn.normalization"
