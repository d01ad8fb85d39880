package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/experts"
	"github.com/birdnn/birdnn/minimal"
)

// nnrepairCmd is birdnn bench nnrepair's flags.
type nnrepairCmd struct {
	benchOut
	norms, scenarios, birdnn, experts string
	opt                               bench.NNrepairOptions
}

func newBenchNNrepair() *cobra.Command {
	c := &nnrepairCmd{}
	cmd := &cobra.Command{
		Use:   "nnrepair [--scenario poisoned,low-quality,adversarial] [--fix N] [--keep N] [--norms linf,l1] [--localized K --passing P --limit L] [--experts all] [--birdnn retrain,finetune] [--out DIR] [--json]",
		Short: "NNrepair's MNIST scenarios: every repair method on one table a scenario",
		Long: `Repairs NNrepair's three MNIST CNNs (../shared/datasets/nnrepair/): the poisoned one (backdoor to 7), the
low-quality one, and the FGSM-vulnerable one (--eps, default NNrepair's 0.05). In each scenario --fix failing
training images (triggered, misclassified, or FGSM images made against the model) must get their true labels
while --keep clean ones keep their class, and every method repairs the same images: the least L-infinity and
L1 change of the last layer (package minimal, --norms); with --localized K an NNrepair-style row (K localized
last-layer weights, each change within --limit, failing images soft and --passing clean images a class hard,
the LP relaxation of NNrepair's MaxSMT problem, one repair: FULL; with --exact also solved exactly by
branch and bound within --nodes and --exact-seconds; with --intermediate on the hidden dense layer, its
oracle the activation pattern each class's passing images share); with --experts one row a combination
strategy of ten per-class experts (package experts), and --models DIR saves them (a bundle for each
strategy, which birdnn eval --net runs, and AVERAGE as one ONNX network); with --birdnn the
behaviour-imitation paradigms. Writes DIR/nnrepair-SCENARIO.md and .json: clean and attacked test accuracy (and backdoor success,
adaptive FGSM accuracy) before and after, seconds, beside NNrepair's and VeRe's published figures.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.scenarios, "scenario", bench.Poisoned, "scenarios, comma-separated: "+strings.Join(bench.NNrepairScenarios, ", "))
	fl.IntVar(&c.opt.Fix, "fix", 0, "failing training images to classify as their true labels (0: the scenario's, 500; adversarial 2000)")
	fl.IntVar(&c.opt.Keep, "keep", -1, "clean training images that keep their class (-1: the scenario's, 2000; adversarial 4000)")
	fl.Float64Var(&c.opt.Margin, "margin", 0.01, "logits by which a failing image's true label must win (LP rows)")
	fl.StringVar(&c.norms, "norms", "linf,l1", "norms of the least-change rows, comma-separated (none: no such rows)")
	fl.IntVar(&c.opt.Localized, "localized", 5, "weights the NNrepair-style row may change (0: no such row)")
	fl.IntVar(&c.opt.Passing, "passing", 50, "clean training images a class held to it in the NNrepair-style rows")
	fl.IntSliceVar(&c.opt.PassingSweep, "passing-sweep", []int{0, 10, 100}, "more passing settings, each with a FULL (LP) and a CONF experts row (NNrepair's: 0, 10, 50, 100)")
	fl.Float64Var(&c.opt.Limit, "limit", 0.5, "bound on each change in the NNrepair-style row")
	fl.BoolVar(&c.opt.Exact, "exact", true, "add the NNrepair-style row solved exactly (branch and bound)")
	fl.IntVar(&c.opt.Nodes, "nodes", 300, "programs the exact row's branch and bound may solve")
	fl.Float64Var(&c.opt.ExactSeconds, "exact-seconds", 60, "time the exact row's branch and bound may take")
	fl.BoolVar(&c.opt.Intermediate, "intermediate", true, "add the NNrepair-style row on the hidden dense layer, its activation patterns inferred")
	fl.StringVar(&c.experts, "experts", "all", "combination strategies of the per-class expert rows, comma-separated (all; none)")
	fl.StringVar(&c.opt.ModelsDir, "models", "", "write the experts here: DIR/SCENARIO/bundle-STRATEGY.json (run by birdnn eval --net) and average.onnx")
	fl.StringVar(&c.birdnn, "birdnn", "", "behaviour-imitation paradigms to run too, comma-separated: retrain, finetune")
	fl.Float64Var(&c.opt.Eps, "eps", 0.05, "the adversarial scenario's FGSM radius (pixels in [0, 1])")
	fl.Uint64Var(&c.opt.Seed, "seed", 1, "seed of the behaviour-imitation rows")
	fl.IntVar(&c.opt.Batch, "batch", 0, "training batch of the BIRDNN rows (0: the configs' default, 4096; the badnets CNN needs a smaller one to fit in 24 GB)")
	fl.IntVar(&c.opt.TestImages, "test-images", 0, "measure on the first N test images only (0: all 10,000)")
	c.flags(cmd)
	return cmd
}

func (c *nnrepairCmd) run(cmd *cobra.Command, _ []string) error {
	c.opt.Norms = []minimal.Norm{}
	if c.norms != "none" {
		norms, err := parseNorms(c.norms)
		if err != nil {
			return err
		}
		c.opt.Norms = norms
	}
	var scenarios []string
	for _, s := range strings.Split(c.scenarios, ",") {
		if s = strings.TrimSpace(s); !slices.Contains(bench.NNrepairScenarios, s) {
			return fmt.Errorf("--scenario %q: want %s", s, strings.Join(bench.NNrepairScenarios, ", "))
		}
		scenarios = append(scenarios, s)
	}
	c.opt.Experts = nil
	switch c.experts {
	case "none", "":
	case "all":
		c.opt.Experts = experts.Strategies
	default:
		for _, f := range strings.Split(c.experts, ",") {
			st, err := experts.ParseStrategy(f)
			if err != nil {
				return fmt.Errorf("--experts: %w", err)
			}
			c.opt.Experts = append(c.opt.Experts, st)
		}
	}
	c.opt.BIRDNN = nil
	if c.birdnn != "" {
		for _, p := range strings.Split(c.birdnn, ",") {
			if p = strings.TrimSpace(p); p != "retrain" && p != "finetune" {
				return fmt.Errorf("--birdnn %q: want retrain, finetune", p)
			}
			c.opt.BIRDNN = append(c.opt.BIRDNN, strings.TrimSpace(p))
		}
	}
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	dir, err := outputDir(c.out, "nnrepair", c.force)
	if err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	all := map[string][]bench.NNrepairRow{}
	for _, s := range scenarios {
		opt := c.opt
		opt.Scenario = s
		rows, err := bench.RunNNrepair(cmd.Context(), opt, func(r bench.NNrepairRow) {
			if r.Err != "" {
				fmt.Fprintf(w, "%s: %s: error: %s\n", s, r.Method, r.Err)
				return
			}
			fmt.Fprintf(w, "%s: %s: clean %.2f%% -> %.2f%%, attacked %.2f%% -> %.2f%%, backdoor %.2f%% -> %.2f%%, adaptive %.2f%%, %.1f s\n", s, r.Method,
				r.CleanBefore, r.CleanAfter, r.AttackedBefore, r.AttackedAfter, r.BackdoorBefore, r.BackdoorAfter, r.AdaptiveAfter, r.Seconds)
		})
		if err != nil {
			return err
		}
		if err := writeTables(dir, "nnrepair-"+s, bench.NNrepairMarkdown(rows, opt), rows); err != nil {
			return err
		}
		all[s] = rows
	}
	return c.report(cmd, dir, map[string]any{"scenarios": all}, fmt.Sprintf("nnrepair: %d scenarios\n", len(all)))
}
