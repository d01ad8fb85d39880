package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/birdnn/birdnn/nn"
	"github.com/spf13/cobra"
)

// inspectCmd is birdnn inspect's flags.
type inspectCmd struct {
	path   string
	asJSON bool
}

func newInspect() *cobra.Command {
	c := &inspectCmd{}
	cmd := &cobra.Command{
		Use:   "inspect --net FILE [--json]",
		Short: "Show a network's layers, sizes, activations, parameter count and normalization",
		Args:  cobra.NoArgs,
		RunE:  c.run,
	}
	cmd.Flags().StringVar(&c.path, "net", "", "network file (.nnet or .onnx), or data:REL or builtin:REL as configs name them")
	cmd.Flags().BoolVar(&c.asJSON, "json", false, "print JSON")
	cmd.MarkFlagRequired("net")
	return cmd
}

func (c *inspectCmd) run(cmd *cobra.Command, _ []string) error {
	net, err := loadNet(c.path)
	if err != nil {
		return err
	}
	if c.asJSON {
		return writeJSON(cmd.OutOrStdout(), inspectJSON(c.path, net))
	}
	printInspect(cmd.OutOrStdout(), c.path, net)
	return nil
}

type layerInfo struct {
	Index      int    `json:"index"`
	Kind       string `json:"kind"`
	Shape      string `json:"shape,omitempty"`
	Inputs     int    `json:"inputs"`
	Outputs    int    `json:"outputs"`
	Activation string `json:"activation"`
	Params     int    `json:"params"`
}

func inspectJSON(path string, net *nn.Network) map[string]any {
	var layers []layerInfo
	for k, l := range net.Layers {
		layers = append(layers, layerInfo{k, l.Kind.String(), layerShape(l), l.In, l.Out, l.Act.String(), len(l.W) + len(l.B)})
	}
	return map[string]any{
		"network": path, "inputs": net.Inputs(), "outputs": net.Outputs(), "layers": layers,
		"params": net.Params(), "hidden_neurons": net.Hidden(), "normalization": net.Norm,
	}
}

func printInspect(w io.Writer, path string, net *nn.Network) {
	fmt.Fprintf(w, "network     %s\n", path)
	fmt.Fprintf(w, "inputs      %d\noutputs     %d\n", net.Inputs(), net.Outputs())
	fmt.Fprintf(w, "parameters  %d (%d hidden neurons)\n", net.Params(), net.Hidden())
	fmt.Fprintf(w, "layers      %d\n", len(net.Layers))
	for k, l := range net.Layers {
		fmt.Fprintf(w, "  %2d  %-7s %4d -> %-4d %-16s %d params %s\n", k, l.Kind, l.In, l.Out, l.Act, len(l.W)+len(l.B), layerShape(l))
	}
	if m := net.Norm; m != nil {
		fmt.Fprintln(w, "normalization (raw x -> (clip(x, min, max) - mean) / range; raw y = y*range + mean)")
		fmt.Fprintf(w, "  input min    %s\n", floats(m.InMin))
		fmt.Fprintf(w, "  input max    %s\n", floats(m.InMax))
		fmt.Fprintf(w, "  input mean   %s\n", floats(m.InMean))
		fmt.Fprintf(w, "  input range  %s\n", floats(m.InRange))
		fmt.Fprintf(w, "  output mean  %g, range %g\n", m.OutMean, m.OutRange)
	} else {
		fmt.Fprintln(w, "normalization none")
	}
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%g", x)
	}
	return strings.Join(s, " ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// layerShape describes an image layer's geometry: "1x28x28 -> 2x26x26, 3x3 window, stride 1, pad 0".
func layerShape(l nn.Layer) string {
	if l.Kind == nn.Dense {
		return ""
	}
	g := l.Geom
	return fmt.Sprintf("%dx%dx%d -> %dx%dx%d, %dx%d window, stride %d, pad %d", g.InC, g.InH, g.InW, g.OutC, g.OutH, g.OutW, g.KH, g.KW, g.Stride, g.Pad)
}

// jsonNumber is v for JSON, or nil (null) where v is NaN or infinite, which JSON cannot hold.
func jsonNumber(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
