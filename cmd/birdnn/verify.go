package main

import (
	"fmt"
	"time"

	"github.com/birdnn/birdnn/verify"
	"github.com/spf13/cobra"
)

// verifyCmd is birdnn verify's flags.
type verifyCmd struct {
	netPath, propPath string
	timeout           time.Duration
	opt               verify.Options
	asJSON            bool
}

func newVerify() *cobra.Command {
	c := &verifyCmd{}
	opt := &c.opt
	cmd := &cobra.Command{
		Use:   "verify --net FILE --prop FILE [--timeout DURATION] [--json]",
		Short: "Prove a property on a network's whole input box, or find a counterexample",
		Long: `Decide a VNN-LIB property over its whole input box: CROWN bounds with branch and bound over input
splits, and for relu networks an exact decision of the small boxes by their linear regions (elu
networks: relu's regions, with elu's distance from relu carried as a sound gap), prove it
(certified), a counterexample confirmed by a forward pass refutes it (violated), or the budget runs out
(unknown). "certified" is never said of a network with a counterexample: the bounds and the regions'
certificates are sound, floating-point rounding included.

Exit code: 0 certified, 10 violated, 20 unknown, 1 error.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.netPath, "net", "", "network file (.nnet or .onnx), or data:REL or builtin:REL as configs name them")
	fl.StringVar(&c.propPath, "prop", "", "VNN-LIB property (a file, data:REL or builtin:REL)")
	fl.DurationVar(&c.timeout, "timeout", time.Minute, "give up with unknown after this long")
	fl.DurationVar(&opt.Grace, "grace", 0, "after --timeout, go on up to this long while the proven share and the open boxes move fast enough to finish in time")
	fl.Float64Var(&opt.Stall, "stall", 0, "before --timeout, give up with unknown once the unproven share, shrinking at its recent pace, would still exceed this at the timeout, or once the open boxes stop falling with a third of it left (0: never)")
	fl.BoolVar(&opt.BreadthFirst, "breadth-first", false, "work the boxes level by level (the proven share then measures progress evenly)")
	verifierFlags(cmd, opt)
	fl.BoolVar(&c.asJSON, "json", false, "print JSON: verdict, seconds, boxes, counterexample")
	cmd.MarkFlagRequired("net")
	cmd.MarkFlagRequired("prop")
	return cmd
}

// verifierFlags registers the flags that tune the verifier's bounds (birdnn verify and bench
// vnncomp-acasxu share them).
func verifierFlags(cmd *cobra.Command, o *verify.Options) {
	fl := cmd.Flags()
	fl.IntVar(&o.ReluSplits, "relu-splits", 0, "unstable relus tried for splitting at each branch beside the input dimensions (0: none)")
	fl.BoolVar(&o.NoAlpha, "no-alpha", false, "keep CROWN's fixed relu slopes and the least-area sigmoid and tanh lines (do not optimize them per objective)")
	fl.BoolVar(&o.NoExact, "no-exact", false, "never decide small boxes exactly by their linear regions (relu and elu networks)")
}

func (c *verifyCmd) run(cmd *cobra.Command, _ []string) error {
	net, err := loadNet(c.netPath)
	if err != nil {
		return err
	}
	prop, err := readProperty(c.propPath)
	if err != nil {
		return err
	}
	if err := prop.Check(net.Inputs(), net.Outputs()); err != nil {
		return fmt.Errorf("%s and %s: %w", c.propPath, c.netPath, err)
	}
	if !(c.opt.Stall >= 0 && c.opt.Stall < 1) {
		return fmt.Errorf("--stall %v: want a share in [0, 1)", c.opt.Stall)
	}
	c.opt.Timeout = c.timeout
	res := verify.Verify(cmd.Context(), net, prop, c.opt)
	if err := cmd.Context().Err(); err != nil {
		return err // interrupted: no verdict to report
	}
	if c.asJSON {
		if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
			return err
		}
	} else {
		stalled := ""
		if res.Stalled {
			stalled = ", stalled"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s (%.2fs, %d boxes%s)\n", res.Verdict, res.Seconds, res.Boxes, stalled)
		if cx := res.Counterexample; cx != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "counterexample input  %s\n               output %s\n", floats(cx.Input), floats(cx.Output))
		}
	}
	return verdictExit(string(res.Verdict))
}
