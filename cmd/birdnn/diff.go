package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/diff"
	"github.com/birdnn/birdnn/property"
)

// diffCmd is birdnn diff's flags.
type diffCmd struct {
	net, net2, prop, box string
	opt                  diff.Options
	timeout              time.Duration
	bound, asJSON        bool
	samples              int
}

func newDiff() *cobra.Command {
	c := &diffCmd{}
	cmd := &cobra.Command{
		Use:   "diff --net A --net2 B (--prop FILE | --box \"l:u,...\") --eps E [--output T] [--timeout D] [--bound] [--json]",
		Short: "Prove that two networks differ by less than eps on an input box, or find an input where they do not",
		Long: `Differential verification: decide whether |B(x) - A(x)| < --eps for every x in the box (--box, one
lo:hi a network input, or the input box of --prop's first case), at output --output or every output.
certified: proved on the whole box; violated: an input where the difference reaches eps, confirmed by
forward passes of both networks; unknown: the budget ran out. The two networks need the same inputs,
outputs, depth and activation layer by layer (widths may differ) and the same input normalization; the
difference is verified as one network stacking both (see package diff).

--bound reports instead a sound upper bound on max |B - A| over the box (one CROWN pass) and the largest
difference among --samples samples: the true maximum lies between them.

Exit code: 0 certified, 10 violated, 20 unknown, 1 error.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.net, "net", "", "network A (.nnet or .onnx)")
	fl.StringVar(&c.net2, "net2", "", "network B")
	fl.StringVar(&c.prop, "prop", "", "a VNN-LIB property whose first input box is the box")
	fl.StringVar(&c.box, "box", "", "the input box: lo:hi for each input, separated by commas")
	fl.Float64Var(&c.opt.Eps, "eps", 0, "the bound on |B - A|")
	fl.IntVar(&c.opt.Output, "output", -1, "the output compared (-1: every output)")
	fl.DurationVar(&c.timeout, "timeout", time.Minute, "give up with unknown after this long")
	fl.BoolVar(&c.bound, "bound", false, "report a certified upper bound and a sampled lower bound of max |B - A| instead")
	fl.IntVar(&c.samples, "samples", 10000, "samples for --bound's lower end")
	verifierFlags(cmd, &c.opt.Verify)
	fl.BoolVar(&c.asJSON, "json", false, "print JSON")
	cmd.MarkFlagRequired("net")
	cmd.MarkFlagRequired("net2")
	return cmd
}

// parseBox reads "lo:hi,lo:hi,...".
func parseBox(s string) (property.Box, error) {
	var b property.Box
	for i, part := range strings.Split(s, ",") {
		lo, hi, ok := strings.Cut(strings.TrimSpace(part), ":")
		l, e1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		h, e2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if !ok || e1 != nil || e2 != nil {
			return b, fmt.Errorf("--box: input %d: %q is not lo:hi", i, part)
		}
		b.Lo, b.Hi = append(b.Lo, l), append(b.Hi, h)
	}
	return b, nil
}

func (c *diffCmd) run(cmd *cobra.Command, _ []string) error {
	a, err := loadNet(c.net)
	if err != nil {
		return err
	}
	b, err := loadNet(c.net2)
	if err != nil {
		return err
	}
	var box property.Box
	switch {
	case (c.prop == "") == (c.box == ""):
		return fmt.Errorf("give --prop or --box, one of them")
	case c.box != "":
		if box, err = parseBox(c.box); err != nil {
			return err
		}
	default:
		p, err := readProperty(c.prop)
		if err != nil {
			return err
		}
		box = p.Cases[0].Box
	}
	if c.bound {
		bd, err := diff.MaxBound(a, b, box, c.opt.Output, c.samples, 1)
		if err != nil {
			return err
		}
		if c.asJSON {
			return writeJSON(cmd.OutOrStdout(), bd)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "max |B - A| in [%.6g, %.6g] (sampled %d inputs, certified)\n", bd.Sampled, bd.Certified, bd.Samples)
		return nil
	}
	c.opt.Verify.Timeout = c.timeout
	res, err := diff.Verify(cmd.Context(), a, b, box, c.opt)
	if err != nil {
		return err
	}
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	if c.asJSON {
		if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "%s (%.2fs, %d boxes)\n", res.Verdict, res.Seconds, res.Boxes)
		if res.Input != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "input  %v\nA      %v\nB      %v\n|B - A| %v\n", res.Input, res.A, res.B, res.Difference)
		}
	}
	return verdictExit(string(res.Verdict))
}
