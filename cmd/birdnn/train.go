package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/train"
)

func newTrain() *cobra.Command {
	var cfgPath, out string
	var sets []string
	var force, quiet, verbose bool
	cmd := &cobra.Command{
		Use:   "train --config FILE [--set key=value ...] [--out FILE] [--force]",
		Short: "Train a network of a chosen architecture and activation, on a CSV or by distilling a teacher",
		Long: `Train a new network as a YAML config says (keys: see configs.Train and the README): hidden layer
sizes and activation, and either csv (a dataset of inputs and targets or class labels) or teacher (a network
to distil over its input domain, with samples where its decision changes and, given a property, around its
counterexamples). Adam with early stopping on the held-out argmin agreement; the seed makes it repeatable.
Writes the network as ONNX (the config's out, or --out); an existing file is kept unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := configs.LoadTrain(cfgPath, nil, sets)
			if err != nil {
				return err
			}
			if out != "" {
				cfg.Out = out
			}
			if keys := cfg.TeacherKeys(); len(keys) > 0 && !quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s's entry for this teacher (--set overrides it): %s\n", cfgPath, formatKeys(keys))
			}
			if _, err := os.Stat(cfg.Out); err == nil && !force {
				return fmt.Errorf("%s exists (use --force to overwrite)", cfg.Out)
			}
			rep := progress.Stderr()
			if quiet {
				rep = progress.To(nil)
			} else if verbose {
				rep = rep.Verbose()
			}
			res, err := trainFromConfig(cfg, rep)
			if err != nil {
				return err
			}
			if err := netio.Save(cfg.Out, res.Net, netio.Options{}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "held-out agreement %.2f%%, rmse %.4g, %d epochs, %.1fs\nwrote %s\n",
				res.Agreement, res.RMSE, res.Epochs, res.Seconds, cfg.Out)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfgPath, "config", "", "YAML training config")
	fl.StringArrayVar(&sets, "set", nil, "override a config key: key=value (repeatable)")
	fl.StringVar(&out, "out", "", "ONNX file to write (default: the config's out)")
	fl.BoolVar(&force, "force", false, "overwrite the output file")
	fl.BoolVar(&quiet, "quiet", false, "no progress output")
	fl.BoolVar(&verbose, "verbose", false, "log every epoch instead of a progress bar")
	cmd.MarkFlagRequired("config")
	return cmd
}

// trainFromConfig builds the training set a config describes and trains on it.
func trainFromConfig(cfg *configs.Train, rep *progress.Reporter) (*train.Result, error) {
	var set *train.Set
	if cfg.CSV != "" {
		p, err := datasets.Resolve(cfg.CSV)
		if err != nil {
			return nil, err
		}
		if set, err = train.ReadCSV(p, cfg.Inputs, cfg.Outputs, cfg.Labels); err != nil {
			return nil, err
		}
	} else {
		tp, err := datasets.Resolve(cfg.Teacher)
		if err != nil {
			return nil, err
		}
		teacher, err := netio.Load(tp)
		if err != nil {
			return nil, err
		}
		var prop *property.Property
		if cfg.Property != "" {
			pp, err := datasets.Resolve(cfg.Property)
			if err != nil {
				return nil, err
			}
			if prop, err = property.ReadFile(pp); err != nil {
				return nil, err
			}
			if err := prop.Check(teacher.Inputs(), teacher.Outputs()); err != nil {
				return nil, fmt.Errorf("%s and %s: %w", cfg.Property, cfg.Teacher, err)
			}
		}
		if set, err = train.Distil(teacher, prop, cfg, rep); err != nil {
			return nil, err
		}
	}
	return train.Fit(set, cfg, rep)
}
