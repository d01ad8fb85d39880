package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/repair"
	"github.com/birdnn/birdnn/samplewise"
)

// defaultConfig is the shipped run that "birdnn repair" uses without --config.
const defaultConfig = "demo"

// repairCmd is birdnn repair's flags.
type repairCmd struct {
	cfgPath, out                  string
	sets                          []string
	force, quiet, verbose, asJSON bool
}

func newRepair() *cobra.Command {
	c := &repairCmd{}
	cmd := &cobra.Command{
		Use:   "repair [--config FILE|NAME] [--set key=value ...] [--out DIR] [--force] [--json]",
		Short: "Repair a network so that it satisfies a property (sample-wise or domain-wise, by behaviour imitation)",
		Long: `Repair a network against a property, as a YAML config describes (schema: configs/README.md).
Without --config, repair the project's built-in demo network.

--config takes a file, or the name of a shipped config (` + strings.Join(configs.Names(), ", ") + `).
--set overrides a key (e.g. --set finetune.optimizer=pso); BIRDNN_* environment variables override keys too
(BIRDNN_FINETUNE_TRAIN_EPOCHS=50).

Writes the folder DIR: repaired.onnx, repaired.nnet (ReLU networks), report.json and report.md. An
existing --out DIR is never written into without --force; without --out, a fresh folder under out/ is
used. Nothing is written until the repair has finished (Ctrl-C leaves no partial output).

Exit code: 0 done (in domain mode: certified), 10 domain mode ended violated, 20 domain mode ended
unknown, 130 interrupted, 1 error.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.cfgPath, "config", "", "YAML config file, or the name of a shipped config")
	fl.StringArrayVar(&c.sets, "set", nil, "override a config key: key=value (repeatable)")
	fl.StringVar(&c.out, "out", "", "output folder (default: a new folder under out/)")
	fl.BoolVar(&c.force, "force", false, "write into --out even if it exists")
	fl.BoolVar(&c.quiet, "quiet", false, "no progress output")
	fl.BoolVar(&c.verbose, "verbose", false, "log every epoch or iteration instead of a progress bar")
	fl.BoolVar(&c.asJSON, "json", false, "print the report as JSON (with the output folder as \"out\")")
	return cmd
}

func (c *repairCmd) run(cmd *cobra.Command, _ []string) error {
	cfg, name, err := configs.OpenRepair(c.cfgPath, defaultConfig, c.sets)
	if err != nil {
		return err
	}
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	prob, err := samplewise.Load(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	if prob.Focus > 0 && !c.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "no negative among the uniform repair samples: half of the repair and test samples are drawn around %d counterexamples\n", prob.Focus)
	}
	res, err := repair.RunProblem(cmd.Context(), cfg, prob, reporter(c.quiet, c.verbose))
	if err != nil {
		return err
	}
	dir, err := outputDir(c.out, name, c.force)
	if err != nil {
		return err
	}
	if err := res.Write(dir); err != nil {
		return err
	}
	r := res.Report
	if c.asJSON {
		if err := writeJSON(cmd.OutOrStdout(), struct {
			Out string `json:"out"`
			*repair.Report
		}{dir, r}); err != nil {
			return err
		}
	} else {
		if d := r.Domain; d != nil {
			if d.Patch != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s by a local patch, %d box(es), %d neurons added (verifier %.2fs); ", d.Verdict, len(d.Patch.Boxes), d.Patch.AddedNeurons, d.VerifierSeconds)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s after %d round(s) (verifier %.2fs); ", d.Verdict, d.Rounds, d.VerifierSeconds)
			}
		}
		domain := r.Fidelity.Domain.Percent() + " (domain), "
		if r.Fidelity.DomainSamples == 0 {
			domain = ""
		}
		fmt.Fprintf(cmd.OutOrStdout(), "repair success %s, generalization %s, drawdown %s, fidelity %s%s (safe in-box), %.2fs\nwrote %s\n",
			r.RepairSuccessRate.Percent(), r.Generalization.Percent(), r.Drawdown.Percent(), domain, r.Fidelity.HeldOutPositives.Percent(), r.Seconds["total"], dir)
	}
	if d := r.Domain; d != nil {
		return verdictExit(d.Verdict)
	}
	return nil
}

// reporter is the progress reporter --quiet and --verbose ask for, on standard error.
func reporter(quiet, verbose bool) *progress.Reporter {
	switch {
	case quiet:
		return progress.To(nil)
	case verbose:
		return progress.Stderr().Verbose()
	}
	return progress.Stderr()
}

// verdictExit is the exit of a command that ends on a verifier's verdict: nil for certified, else an
// exitError with the verdict's code and no message.
func verdictExit(verdict string) error {
	switch verdict {
	case "violated":
		return &exitError{code: exitViolated, err: errors.New("")}
	case "unknown":
		return &exitError{code: exitUnknown, err: errors.New("")}
	}
	return nil
}

// checkOut refuses, before any work, an --out that outputDir would refuse after it.
func checkOut(out string, force bool) error {
	if out == "" {
		return nil
	}
	if st, err := os.Stat(out); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("--out %s exists and is not a folder", out)
		}
		if !force {
			return fmt.Errorf("--out %s exists; pass --force to write into it", out)
		}
	}
	return nil
}

// outputDir creates the output folder: out itself (refusing an existing one without force), or the first
// free out/NAME, out/NAME-2, ... when out is empty.
func outputDir(out, name string, force bool) (string, error) {
	if out != "" {
		if err := checkOut(out, force); err != nil {
			return "", err
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
