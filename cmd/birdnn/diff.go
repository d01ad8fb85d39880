package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/diff"
	"github.com/birdnn/birdnn/nn"
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
outputs, depth and activation layer by layer (widths may differ) and the same input normalization. For
ReLU pairs of one shape the symbolic difference (ReluDiff's) races the network stacking both (package diff).

--prop also takes a VNN-LIB 2.0 two-network file (declare-network f, declare-network g, inputs tied by
(== X_f[i] X_g[i])) whose output constraints say |Y_g[i] - Y_f[i]| <= eps_i: --net is f, --net2 g, and
every input box of the file is decided at its eps (no --eps or --output then).

--bound reports instead a sound upper bound on max |B - A| over the box, refined by splitting the box
best first until --timeout, and the largest difference among --samples samples and the boxes' centres:
the true maximum lies between them.

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
	fl.IntVar(&c.opt.Verify.MaxBoxes, "max-boxes", 0, "give up with unknown (stop refining, for --bound) after this many boxes (0: no limit)")
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
		path, err := datasets.Resolve(c.prop)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if property.IsPair(src) {
			return c.runPair(cmd, a, b, path)
		}
		p, err := property.ReadFile(path)
		if err != nil {
			return err
		}
		box = p.Cases[0].Box
	}
	if c.bound {
		bd, err := diff.MaxBound(cmd.Context(), a, b, box, diff.BoundOptions{Output: c.opt.Output, Samples: c.samples, Seed: 1, Timeout: c.timeout, MaxBoxes: c.opt.Verify.MaxBoxes})
		if err != nil {
			return err
		}
		if c.asJSON {
			return writeJSON(cmd.OutOrStdout(), bd)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "max |B - A| in [%.6g, %.6g] (sampled %d inputs and the centres of %d boxes, certified; %.2fs)\n", bd.Sampled, bd.Certified, bd.Samples, bd.Boxes, bd.Seconds)
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
		by := ""
		if res.Method != "" {
			by = ", by the " + res.Method + " method"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s (%.2fs, %d boxes%s)\n", res.Verdict, res.Seconds, res.Boxes, by)
		if res.Input != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "input  %v\nA      %v\nB      %v\n|B - A| %v\n", res.Input, res.A, res.B, res.Difference)
		}
	}
	return verdictExit(string(res.Verdict))
}

// pairResult is birdnn diff's answer on a two-network VNN-LIB file: one verdict per input box and
// compared output (each with its eps), and the overall verdict.
type pairResult struct {
	Property string      `json:"property"`
	Verdict  string      `json:"verdict"`
	Seconds  float64     `json:"seconds"`
	Checks   []pairCheck `json:"checks"`
}

type pairCheck struct {
	Case   int     `json:"case"`
	Output int     `json:"output"` // -1: every output
	Eps    float64 `json:"eps"`
	diff.Result
}

// runPair decides a VNN-LIB 2.0 two-network property in its equivalence form, |Y_g[i] - Y_f[i]| <= eps_i
// on every input box: --net is the first declared network, --net2 the second. Each box is decided at
// every output at once where the eps agree, output by output otherwise.
func (c *diffCmd) runPair(cmd *cobra.Command, a, b *nn.Network, path string) error {
	p, err := property.ReadPairFile(path)
	if err != nil {
		return err
	}
	if p.Eps == nil {
		return fmt.Errorf("%s: birdnn diff decides the equivalence form, |Y_g[i] - Y_f[i]| <= eps_i asserted for some outputs i; this file's output constraints are not of that form", path)
	}
	if err := p.Joint.Check(a.Inputs(), 2*a.Outputs()); err != nil {
		return fmt.Errorf("%s against --net: %w", path, err)
	}
	if c.bound {
		return fmt.Errorf("--bound takes a box or a VNN-LIB 1.0 property, not a two-network file")
	}
	// The outputs to compare, grouped by eps (one group when they all share one, the usual case).
	type group struct {
		output int
		eps    float64
	}
	var groups []group
	same := true
	for i, e := range p.Eps {
		if !math.IsInf(e, 1) {
			groups = append(groups, group{i, e})
			same = same && e == groups[0].eps
		}
	}
	if same && len(groups) == len(p.Eps) {
		groups = []group{{-1, p.Eps[0]}}
	}
	if cmd.Flags().Changed("eps") || cmd.Flags().Changed("output") {
		return fmt.Errorf("--eps and --output come from %s; leave them out", path)
	}
	start := time.Now()
	out := pairResult{Property: p.Name, Verdict: "certified"}
	budget := c.timeout
	for ci, cs := range p.Joint.Cases {
		for _, g := range groups {
			opt := c.opt
			opt.Output = g.output
			// <= eps holds where < eps is certified; a violation of <= needs > eps, which the
			// counterexample's difference is checked for below.
			opt.Eps = g.eps
			opt.Verify.Timeout = budget - time.Since(start)
			if opt.Verify.Timeout <= 0 {
				out.Verdict = "unknown"
				break
			}
			res, err := diff.Verify(cmd.Context(), a, b, cs.Box, opt)
			if err != nil {
				return err
			}
			if res.Verdict == "violated" && !(res.Difference > g.eps) {
				res.Verdict = "unknown" // reaches eps exactly: not a violation of <= eps
			}
			out.Checks = append(out.Checks, pairCheck{Case: ci, Output: g.output, Eps: g.eps, Result: res})
			switch {
			case res.Verdict == "violated":
				out.Verdict = "violated"
			case res.Verdict == "unknown" && out.Verdict == "certified":
				out.Verdict = "unknown"
			}
		}
	}
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	out.Seconds = time.Since(start).Seconds()
	if c.asJSON {
		if err := writeJSON(cmd.OutOrStdout(), out); err != nil {
			return err
		}
	} else {
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "%s: |%s - %s| <= eps (%s as %s, %s as %s): %s (%.2fs)\n", p.Name, p.Networks[1], p.Networks[0], c.net, p.Networks[0], c.net2, p.Networks[1], out.Verdict, out.Seconds)
		for _, ch := range out.Checks {
			o := "every output"
			if ch.Output >= 0 {
				o = fmt.Sprintf("output %d", ch.Output)
			}
			fmt.Fprintf(w, "  box %d, %s, eps %g: %s (%.2fs, %d boxes)\n", ch.Case, o, ch.Eps, ch.Verdict, ch.Seconds, ch.Boxes)
			if ch.Input != nil {
				fmt.Fprintf(w, "    input %v, |B - A| %v\n", ch.Input, ch.Difference)
			}
		}
	}
	return verdictExit(out.Verdict)
}
