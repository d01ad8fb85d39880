package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/property"
)

// propertyCmd is birdnn property's flags.
type propertyCmd struct {
	net, data, labels, rng, out string
	pixelScale, eps             float64
	row, target                 int
	force, asJSON               bool
}

func newProperty() *cobra.Command {
	c := &propertyCmd{}
	cmd := &cobra.Command{
		Use:   "property --net FILE --data data:mnist/test|CSV --row N --eps E [--target T] --out FILE.vnnlib",
		Short: "Write the L-infinity robustness property of a classifier around one labelled input as VNN-LIB",
		Long: `Write, for row --row of --data (counted from 0) and its label, the VNN-LIB property that every input within
--eps of it (per coordinate, in the network's input units, clipped to --range or to the pixel range of
data:mnist/*) is classified as the label (the output of highest score), or with --target T is not
classified as T. The network gives the input units (its pixel scale, see birdnn eval) and the number of
classes. An existing --out is kept unless --force.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.net, "net", "", "the classifier (.onnx or .nnet), or data:REL or builtin:REL")
	fl.StringVar(&c.data, "data", "", "labelled inputs: data:mnist/test, data:mnist/train, or a CSV with --labels")
	fl.StringVar(&c.labels, "labels", "", "CSV of the labels of a --data CSV (the last column of each row)")
	fl.Float64Var(&c.pixelScale, "pixel-scale", 0, "multiply data:mnist/* pixels by this (see birdnn eval)")
	fl.IntVar(&c.row, "row", 0, "the input's row in --data, from 0")
	fl.Float64Var(&c.eps, "eps", 0, "the L-infinity radius, in the network's input units")
	fl.IntVar(&c.target, "target", -1, "the class that must not be reached (-1: any class but the label)")
	fl.StringVar(&c.rng, "range", "", "lo,hi bounds of every input (default: the pixel range for data:mnist/*, else none)")
	fl.StringVar(&c.out, "out", "", "the VNN-LIB file to write")
	fl.BoolVar(&c.force, "force", false, "overwrite --out if it exists")
	fl.BoolVar(&c.asJSON, "json", false, "print a JSON summary")
	for _, f := range []string{"net", "data", "eps", "out"} {
		cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (c *propertyCmd) run(cmd *cobra.Command, _ []string) error {
	if _, err := os.Stat(c.out); err == nil && !c.force {
		return fmt.Errorf("%s exists; pass --force to overwrite it", c.out)
	}
	net, err := loadNet(c.net)
	if err != nil {
		return err
	}
	tab, labels, scale, err := readData(c.data, c.labels, c.pixelScale, net)
	if err != nil {
		return err
	}
	if labels == nil {
		return fmt.Errorf("--data %s has no labels: give --labels", c.data)
	}
	if c.row < 0 || c.row >= tab.Rows() {
		return fmt.Errorf("--row %d: %s has rows 0 to %d", c.row, c.data, tab.Rows()-1)
	}
	lo, hi, err := inputRange(c.rng, c.data, c.net, c.pixelScale, scale, net)
	if err != nil {
		return err
	}
	p, err := property.Robustness(tab.Row(c.row), labels[c.row], net.Outputs(), c.eps, lo, hi, c.target)
	if err != nil {
		return err
	}
	p.Name = fmt.Sprintf("%s row %d %s", c.data, c.row, p.Name)
	var b bytes.Buffer
	if err := p.WriteVNNLIB(&b); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(c.out, b.Bytes()); err != nil {
		return err
	}
	if c.asJSON {
		return writeJSON(cmd.OutOrStdout(), map[string]any{"data": c.data, "row": c.row, "label": labels[c.row], "eps": c.eps,
			"target": c.target, "range": []float64{lo, hi}, "inputs": p.Inputs, "outputs": p.Outputs, "out": c.out})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: row %d (label %d), eps %g, %d inputs\n", c.out, c.row, labels[c.row], c.eps, p.Inputs)
	return nil
}
