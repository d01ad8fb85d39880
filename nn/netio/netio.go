// Package netio loads and saves networks by file extension: .nnet or .onnx.
package netio

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/nn/onnx"
)

// Format returns "nnet" or "onnx" for a path's extension, or an error.
func Format(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".nnet":
		return "nnet", nil
	case ".onnx":
		return "onnx", nil
	}
	return "", fmt.Errorf("%s: unknown network format (want .nnet or .onnx)", path)
}

// Load reads the network at path in the format its extension names.
func Load(path string) (*nn.Network, error) {
	f, err := Format(path)
	if err != nil {
		return nil, err
	}
	if f == "nnet" {
		return nnet.ReadFile(path)
	}
	return onnx.ReadFile(path)
}

// Options controls Save.
type Options struct {
	// Float64 writes ONNX weights as doubles.
	Float64 bool
}

// Save writes net to path atomically in the format its extension names.
func Save(path string, net *nn.Network, opt Options) error {
	f, err := Format(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if f == "nnet" {
			return nnet.Write(w, net)
		}
		return onnx.Write(w, net, onnx.Options{Float64: opt.Float64})
	})
}
