package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/minimal"
)

// minimalCmd is birdnn bench minimal's flags.
type minimalCmd struct {
	benchOut
	only          string
	ks, norms     string
	opt           bench.WatermarkOptions
	verifyTimeout time.Duration
}

func newBenchMinimal() *cobra.Command {
	c := &minimalCmd{}
	cmd := &cobra.Command{
		Use:   "minimal [--only acasxu|watermark] [--k 1,5,25] [--subsets N] [--keep N [--keep-only]] [--norms linf,l1] [--out DIR] [--json]",
		Short: "Goldberger et al.'s minimal changes of one layer: ACAS Xu N2,9 against property 8, and watermark removal",
		Long: `Reproduces Goldberger et al. (LPAR 2020) with package minimal's linear programs:
DIR/minimal-acasxu.md: the least change of N2,9's last layer on the paper's counterexamples, beside the
published LP values, the certified lower bounds, then fidelity and property 8 (verified within
--verify-timeout) of the corrected network. DIR/minimal-watermark.md: removal of k of the 100 watermarks
of goldberger/mnist_w_wm (each alone for k = 1, --subsets seeded random subsets for 1 < k < 100), change
and test accuracy beside the paper's tables; with --keep N also with N clean training images held to
their class. Each table also as .json.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.only, "only", "", "run one part: acasxu or watermark")
	fl.StringVar(&c.ks, "k", "", "numbers of watermarks removed together, comma-separated (default 1-7,25,50,75,100)")
	fl.StringVar(&c.norms, "norms", "linf,l1", "norms, comma-separated")
	fl.IntVar(&c.opt.Subsets, "subsets", 10, "random subsets for 1 < k < 100, and runs of each k with --keep")
	fl.Uint64Var(&c.opt.Seed, "seed", 1, "seed of the subsets")
	fl.IntVar(&c.opt.Keep, "keep", 1000, "clean training images held to their class in the keep variant (0: none)")
	fl.BoolVar(&c.opt.KeepOnly, "keep-only", false, "with --keep, run only the keep variant")
	fl.Float64Var(&c.opt.Margin, "margin", 1e-3, "logits by which the runner-up must beat a removed watermark's label")
	fl.DurationVar(&c.verifyTimeout, "verify-timeout", 120*time.Second, "verifier budget for property 8 on N2,9 before and after")
	c.flags(cmd)
	return cmd
}

func (c *minimalCmd) run(cmd *cobra.Command, _ []string) error {
	if c.only != "" && c.only != "acasxu" && c.only != "watermark" {
		return fmt.Errorf("--only %q: want acasxu or watermark", c.only)
	}
	if c.ks != "" {
		for _, f := range strings.Split(c.ks, ",") {
			k, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--k: %q is not a number", f)
			}
			c.opt.Ks = append(c.opt.Ks, k)
		}
	}
	norms, err := parseNorms(c.norms)
	if err != nil {
		return err
	}
	c.opt.Norms = norms
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	ctx := cmd.Context()
	summary := map[string]any{}
	var text strings.Builder
	var acas *bench.MinimalACAS
	var wrows []bench.WatermarkRow
	if c.only != "watermark" {
		var err error
		if acas, err = bench.RunMinimalACAS(ctx, c.verifyTimeout); err != nil {
			return err
		}
		for _, r := range acas.Rows {
			fmt.Fprintf(w, "N2,9 inputs %s, %s: %.10g (certified >= %.10g) in %.3f s\n", r.Inputs, r.Setup, r.Result.Objective, r.Result.LowerBound, r.Result.Seconds)
		}
		for _, r := range acas.Rows {
			if r.Inputs == "0-6" && r.PublishedNote == "LP (Gurobi)" {
				summary["acasxu_linf_all"] = r.Result.Objective
				fmt.Fprintf(&text, "N2,9 on all 7 inputs: L-infinity %.10g (published %.10g)\n", r.Result.Objective, r.Published)
			}
		}
	}
	if c.only != "acasxu" {
		var err error
		wrows, err = bench.RunWatermark(ctx, c.opt, func(r bench.WatermarkRow) {
			fmt.Fprintf(w, "watermarks k=%-3d %-4s keep %-5d %3d runs: change %.4f, accuracy %.2f%% [%.2f, %.2f], removed %.1f%%, %.2f s a run\n",
				r.K, r.Norm, r.Keep, r.Runs, r.ChangeAvg, r.AccuracyAvg, r.AccuracyMin, r.AccuracyMax, r.Removed, r.Seconds)
		})
		if err != nil {
			return err
		}
		summary["watermark_rows"] = len(wrows)
		fmt.Fprintf(&text, "watermark removal: %d rows\n", len(wrows))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := outputDir(c.out, "minimal", c.force)
	if err != nil {
		return err
	}
	if acas != nil {
		if err := writeTables(dir, "minimal-acasxu", acas.Markdown(), acas); err != nil {
			return err
		}
	}
	if wrows != nil {
		if err := writeTables(dir, "minimal-watermark", bench.WatermarkMarkdown(wrows, c.opt), wrows); err != nil {
			return err
		}
	}
	return c.report(cmd, dir, summary, text.String())
}

// parseNorms reads --norms: comma-separated norm names (linf, l1).
func parseNorms(list string) ([]minimal.Norm, error) {
	var out []minimal.Norm
	for _, f := range strings.Split(list, ",") {
		n, err := minimal.ParseNorm(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--norms: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}
