package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/property"
)

// propertyCmd is birdnn property's flags.
type propertyCmd struct {
	labelledFlags
	out           string
	eps           float64
	row, target   int
	force, asJSON bool
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
	c.register(cmd)
	fl.IntVar(&c.row, "row", 0, "the input's row in --data, from 0")
	fl.Float64Var(&c.eps, "eps", 0, "the L-infinity radius, in the network's input units")
	fl.IntVar(&c.target, "target", -1, "the class that must not be reached (-1: any class but the label)")
	fl.StringVar(&c.out, "out", "", "the VNN-LIB file to write")
	fl.BoolVar(&c.force, "force", false, "overwrite --out if it exists")
	fl.BoolVar(&c.asJSON, "json", false, "print a JSON summary")
	for _, f := range []string{"eps", "out"} {
		cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (c *propertyCmd) run(cmd *cobra.Command, _ []string) error {
	if err := refuseOverwrite(c.out, c.force); err != nil {
		return err
	}
	in, err := c.load()
	if err != nil {
		return err
	}
	net, tab, labels, lo, hi := in.net, in.tab, in.labels, in.lo, in.hi
	if c.row < 0 || c.row >= tab.Rows() {
		return fmt.Errorf("--row %d: %s has rows 0 to %d", c.row, c.data, tab.Rows()-1)
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
