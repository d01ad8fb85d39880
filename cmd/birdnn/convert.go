package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/birdnn/birdnn/nn/netio"
	"github.com/spf13/cobra"
)

func newConvert() *cobra.Command {
	var in, out string
	var f64, force bool
	cmd := &cobra.Command{
		Use:   "convert --in FILE --out FILE",
		Short: "Convert a network between .nnet and ONNX (by extension)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := netio.Format(out); err != nil {
				return err
			}
			if same(in, out) {
				return fmt.Errorf("--in and --out are the same file %s", in)
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s exists; pass --force to overwrite it", out)
			}
			net, err := loadNet(in)
			if err != nil {
				return err
			}
			if err := netio.Save(out, net, netio.Options{Float64: f64}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d layers, %d parameters)\n", out, len(net.Layers), net.Params())
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "input network (.nnet or .onnx), or data:REL or builtin:REL")
	cmd.Flags().StringVar(&out, "out", "", "output network (.nnet or .onnx)")
	cmd.Flags().BoolVar(&f64, "float64", false, "write ONNX weights as float64 (exact; default float32)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite --out if it exists")
	cmd.MarkFlagRequired("in")
	cmd.MarkFlagRequired("out")
	return cmd
}

func same(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}
