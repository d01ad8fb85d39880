package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/bench"
)

// nnrepairCmd is birdnn bench nnrepair's flags.
type nnrepairCmd struct {
	benchOut
	norms string
	opt   bench.BackdoorOptions
}

func newBenchNNrepair() *cobra.Command {
	c := &nnrepairCmd{}
	cmd := &cobra.Command{
		Use:   "nnrepair [--fix N] [--keep N] [--norms linf,l1] [--localized K --passing P --limit L] [--out DIR] [--json]",
		Short: "NNrepair's poisoned MNIST model: backdoor removal by the least change of its last layer",
		Long: `Repairs NNrepair's poisoned CNN (../shared/datasets/nnrepair/mnist0_poisoned.onnx, backdoor to 7) by the
least L-infinity and L1 change of its last layer (package minimal): --fix triggered training images must get
their true labels back while --keep clean ones keep their class. Writes DIR/nnrepair-poisoned.md and .json:
clean accuracy, triggered accuracy and backdoor success on the 10,000 test images, before and after, beside
NNrepair's and VeRe's published figures. With --localized K also an NNrepair-style row: K localized
last-layer weights, each change within --limit, triggered images soft and --passing clean images a class
hard, by the LP relaxation of NNrepair's MaxSMT problem (one repair; NNrepair's experts: not built yet).`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.IntVar(&c.opt.Fix, "fix", 500, "triggered training images to classify as their true labels")
	fl.IntVar(&c.opt.Keep, "keep", 2000, "clean training images that keep their class")
	fl.Float64Var(&c.opt.Margin, "margin", 0.01, "logits by which a triggered image's true label must win")
	fl.StringVar(&c.norms, "norms", "linf,l1", "norms, comma-separated")
	fl.IntVar(&c.opt.Localized, "localized", 5, "weights the NNrepair-style row may change (0: no such row)")
	fl.IntVar(&c.opt.Passing, "passing", 50, "clean training images a class held to it in the NNrepair-style row")
	fl.Float64Var(&c.opt.Limit, "limit", 0.5, "bound on each change in the NNrepair-style row")
	c.flags(cmd)
	return cmd
}

func (c *nnrepairCmd) run(cmd *cobra.Command, _ []string) error {
	norms, err := parseNorms(c.norms)
	if err != nil {
		return err
	}
	c.opt.Norms = norms
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	rows, err := bench.RunBackdoor(cmd.Context(), c.opt, func(r bench.BackdoorRow) {
		if r.Err != "" {
			fmt.Fprintf(w, "%s: error: %s\n", r.Method, r.Err)
			return
		}
		fmt.Fprintf(w, "%s: clean %.2f%% -> %.2f%%, triggered %.2f%% -> %.2f%%, backdoor %.2f%% -> %.2f%%, %.1f s\n", r.Method,
			r.CleanBefore, r.CleanAfter, r.TriggeredBefore, r.TriggeredAfter, r.BackdoorBefore, r.BackdoorAfter, r.Seconds)
	})
	if err != nil {
		return err
	}
	dir, err := outputDir(c.out, "nnrepair", c.force)
	if err != nil {
		return err
	}
	if err := writeTables(dir, "nnrepair-poisoned", bench.BackdoorMarkdown(rows, c.opt), rows); err != nil {
		return err
	}
	return c.report(cmd, dir, map[string]any{"rows": rows}, fmt.Sprintf("backdoor removal: %d rows\n", len(rows)))
}
