package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/repair"
	"github.com/birdnn/birdnn/samplewise"
	"github.com/spf13/cobra"
)

// defaultConfig is the shipped run that "birdnn repair" uses without --config.
const defaultConfig = "demo"

func newRepair() *cobra.Command {
	var cfgPath, out string
	var sets []string
	var force, quiet, verbose bool
	cmd := &cobra.Command{
		Use:   "repair [--config FILE] [--set key=value ...] [--out DIR] [--force]",
		Short: "Repair a network so that it satisfies a property (sample-wise or domain-wise, by behaviour imitation)",
		Long: `Repair a network against a property, as a YAML config describes (see configs/ and the README).
Without --config, repair the project's built-in demo network.

--config takes a file, or the name of a shipped config (` + strings.Join(configs.Names(), ", ") + `).
--set overrides a key (e.g. --set finetune.optimizer=pso); BIRDNN_* environment variables override keys too
(BIRDNN_FINETUNE_TRAIN_EPOCHS=50).

Writes DIR/repaired.onnx, DIR/repaired.nnet (ReLU networks), DIR/report.json and DIR/report.md. An existing
--out DIR is never overwritten without --force; without --out, a fresh folder under out/ is used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, name, err := loadConfig(cfgPath, sets)
			if err != nil {
				return err
			}
			prob, err := samplewise.Load(cfg)
			if err != nil {
				return err
			}
			if prob.Focus > 0 && !quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "no negative among the uniform repair samples: half of the repair and test samples are drawn around %d counterexamples\n", prob.Focus)
			}
			dir, err := outputDir(out, name, force)
			if err != nil {
				return err
			}
			rep := progress.Stderr()
			if quiet {
				rep = progress.To(nil)
			} else if verbose {
				rep = rep.Verbose()
			}
			res, err := repair.RunProblem(cmd.Context(), cfg, prob, rep)
			if err != nil {
				return err
			}
			if err := res.Write(dir); err != nil {
				return err
			}
			r := res.Report
			if d := r.Domain; d != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s after %d round(s) (verifier %.2fs); ", d.Verdict, d.Rounds, d.VerifierSeconds)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "repair success %s, generalization %s, drawdown %s, fidelity %s (domain), %s (safe in-box), %.2fs\nwrote %s\n",
				r.RepairSuccessRate.Percent(), r.Generalization.Percent(), r.Drawdown.Percent(), r.Fidelity.Domain.Percent(), r.Fidelity.HeldOutPositives.Percent(), r.Seconds["total"], dir)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfgPath, "config", "", "YAML config file, or the name of a shipped config")
	fl.StringArrayVar(&sets, "set", nil, "override a config key: key=value (repeatable)")
	fl.StringVar(&out, "out", "", "output folder (default: a new folder under out/)")
	fl.BoolVar(&force, "force", false, "write into --out even if it exists")
	fl.BoolVar(&quiet, "quiet", false, "no progress output")
	fl.BoolVar(&verbose, "verbose", false, "log every epoch or iteration instead of a progress bar")
	return cmd
}

// loadConfig reads a config file, a shipped config by name, or the default, and returns it with a name
// for the output folder.
func loadConfig(path string, sets []string) (*configs.Repair, string, error) {
	if path == "" {
		path = defaultConfig
	}
	if _, err := os.Stat(path); err == nil {
		cfg, err := configs.LoadRepair(path, nil, sets)
		return cfg, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), err
	}
	if strings.ContainsAny(path, "/.") {
		return nil, "", fmt.Errorf("config %s: no such file", path)
	}
	yaml, err := configs.Get(path)
	if err != nil {
		return nil, "", err
	}
	cfg, err := configs.LoadRepair("", yaml, sets)
	if err != nil {
		return nil, "", fmt.Errorf("shipped config %s: %w", path, err)
	}
	return cfg, path, nil
}

// outputDir creates the output folder: out itself (refusing an existing one without force), or the first
// free out/NAME, out/NAME-2, ... when out is empty.
func outputDir(out, name string, force bool) (string, error) {
	if out != "" {
		if st, err := os.Stat(out); err == nil {
			if !st.IsDir() {
				return "", fmt.Errorf("--out %s exists and is not a folder", out)
			}
			if !force {
				return "", fmt.Errorf("--out %s exists; pass --force to write into it", out)
			}
			return out, nil
		}
		return out, os.MkdirAll(out, 0o755)
	}
	if err := os.MkdirAll("out", 0o755); err != nil {
		return "", err
	}
	for i := 1; ; i++ {
		dir := filepath.Join("out", name)
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", dir, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
}
