package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/nn/netio"
)

// convertCmd is birdnn convert's flags.
type convertCmd struct {
	in, out            string
	f64, force, asJSON bool
}

func newConvert() *cobra.Command {
	c := &convertCmd{}
	cmd := &cobra.Command{
		Use:   "convert --in FILE --out FILE [--float64] [--force] [--json]",
		Short: "Convert a network between .nnet and ONNX (by extension)",
		Args:  cobra.NoArgs,
		RunE:  c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.in, "in", "", "input network file (.nnet or .onnx), or data:REL or builtin:REL")
	fl.StringVar(&c.out, "out", "", "the network file to write (.nnet or .onnx, by its extension)")
	fl.BoolVar(&c.f64, "float64", false, "write ONNX weights as float64 (exact; default float32)")
	fl.BoolVar(&c.force, "force", false, "overwrite --out if it exists")
	fl.BoolVar(&c.asJSON, "json", false, "print a JSON summary: out, layers, parameters")
	cmd.MarkFlagRequired("in")
	cmd.MarkFlagRequired("out")
	return cmd
}

func (c *convertCmd) run(cmd *cobra.Command, _ []string) error {
	if _, err := netio.Format(c.out); err != nil {
		return err
	}
	if same(c.in, c.out) {
		return fmt.Errorf("--in and --out are the same file %s", c.in)
	}
	if _, err := os.Stat(c.out); err == nil && !c.force {
		return fmt.Errorf("%s exists; pass --force to overwrite it", c.out)
	}
	net, err := loadNet(c.in)
	if err != nil {
		return err
	}
	if err := netio.Save(c.out, net, netio.Options{Float64: c.f64}); err != nil {
		return err
	}
	if c.asJSON {
		return writeJSON(cmd.OutOrStdout(), struct {
			Out        string `json:"out"`
			Layers     int    `json:"layers"`
			Parameters int    `json:"parameters"`
		}{c.out, len(net.Layers), net.Params()})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d layers, %d parameters)\n", c.out, len(net.Layers), net.Params())
	return nil
}

func same(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}
