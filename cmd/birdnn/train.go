package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/train"
)

// trainCmd is birdnn train's flags.
type trainCmd struct {
	cfgPath, out                  string
	sets                          []string
	force, quiet, verbose, asJSON bool
}

func newTrain() *cobra.Command {
	c := &trainCmd{}
	cmd := &cobra.Command{
		Use:   "train --config FILE [--set key=value ...] [--out FILE] [--force] [--json]",
		Short: "Train a network of a chosen architecture and activation: on a CSV, by distilling a teacher, or a classifier on MNIST",
		Long: `Train a new network as a YAML config says (keys: configs.Train; see docs/activations.md): hidden
layer sizes and activation, and either csv (a dataset of inputs and targets or class labels) or teacher (a
network to distil over its input domain, with samples where its decision changes and, given a property,
around its counterexamples), or data (data:mnist/train: a classifier, with conv layers if wanted, trained on
the cross-entropy; test scores it, poison backdoors it, BadNets-style). Adam with early stopping on the
held-out argmin agreement (a classifier's accuracy); the seed makes it repeatable. BIRDNN_TRAIN_* environment variables override keys (BIRDNN_TRAIN_EPOCHS=50).

Writes the network as one ONNX file (the config's out, or --out); an existing file is kept unless
--force. Nothing is written until training has finished (Ctrl-C leaves no partial output).`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.cfgPath, "config", "", "YAML training config, or a shipped one by name (mnist_fc, mnist_cnn, mnist_fc_badnets, mnist_cnn_badnets)")
	fl.StringArrayVar(&c.sets, "set", nil, "override a config key: key=value (repeatable)")
	fl.StringVar(&c.out, "out", "", "the ONNX file to write (default: the config's out)")
	fl.BoolVar(&c.force, "force", false, "overwrite the output file")
	fl.BoolVar(&c.quiet, "quiet", false, "no progress output")
	fl.BoolVar(&c.verbose, "verbose", false, "log every epoch instead of a progress bar")
	fl.BoolVar(&c.asJSON, "json", false, "print a JSON summary: out, agreement, rmse, epochs, seconds")
	cmd.MarkFlagRequired("config")
	return cmd
}

func (c *trainCmd) run(cmd *cobra.Command, _ []string) error {
	cfg, err := configs.OpenTrain(c.cfgPath, c.sets)
	if err != nil {
		return err
	}
	if c.out != "" {
		cfg.Out = c.out
	}
	if keys := cfg.TeacherKeys(); len(keys) > 0 && !c.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s's entry for this teacher (--set overrides it): %s\n", c.cfgPath, formatKeys(keys))
	}
	if st, err := os.Stat(cfg.Out); err == nil && (st.IsDir() || !c.force) {
		if st.IsDir() {
			return fmt.Errorf("%s is a folder; out names the ONNX file to write", cfg.Out)
		}
		return fmt.Errorf("%s exists (use --force to overwrite)", cfg.Out)
	}
	res, err := train.Run(cmd.Context(), cfg, reporter(c.quiet, c.verbose))
	if err != nil {
		return err
	}
	if err := netio.Save(cfg.Out, res.Net, netio.Options{}); err != nil {
		return err
	}
	if cs := res.Classifier; cs != nil {
		if c.asJSON {
			return writeJSON(cmd.OutOrStdout(), map[string]any{"out": cfg.Out, "heldout_accuracy": cs.HeldOut,
				"test_accuracy": jsonNumber(cs.Test), "poisoned": cs.Poisoned, "backdoor_success": jsonNumber(cs.Backdoor),
				"epochs": res.Epochs, "seconds": res.Seconds})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "held-out accuracy %.2f%%", cs.HeldOut)
		if cfg.Test != "" {
			fmt.Fprintf(cmd.OutOrStdout(), ", test accuracy %.2f%%", cs.Test)
		}
		if cs.Poisoned > 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "; %d training images poisoned", cs.Poisoned)
			if cfg.Test != "" {
				fmt.Fprintf(cmd.OutOrStdout(), ", backdoor success %.2f%% on the test images", cs.Backdoor)
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "; %d epochs, %.1fs\nwrote %s\n", res.Epochs, res.Seconds, cfg.Out)
		return nil
	}
	if c.asJSON {
		return writeJSON(cmd.OutOrStdout(), struct {
			Out       string  `json:"out"`
			Agreement float64 `json:"agreement"`
			RMSE      float64 `json:"rmse"`
			Epochs    int     `json:"epochs"`
			Seconds   float64 `json:"seconds"`
		}{cfg.Out, res.Agreement, res.RMSE, res.Epochs, res.Seconds})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "held-out agreement %.2f%%, rmse %.4g, %d epochs, %.1fs\nwrote %s\n",
		res.Agreement, res.RMSE, res.Epochs, res.Seconds, cfg.Out)
	return nil
}

// formatKeys writes a config's keys as key=value, sorted by key.
func formatKeys(keys map[string]any) string {
	parts := make([]string, 0, len(keys))
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, keys[k]))
	}
	return strings.Join(parts, " ")
}
