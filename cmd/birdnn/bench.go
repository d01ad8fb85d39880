package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/repair"
	"github.com/birdnn/birdnn/verify"
	"github.com/spf13/cobra"
)

// pick keeps the items whose name is in list (names separated by ';'), or all of them when list is empty.
func pick[T any](items []T, name func(T) string, list, flag string) ([]T, error) {
	if list == "" {
		return items, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ";") {
		want[strings.TrimSpace(n)] = true
	}
	var keep []T
	for _, it := range items {
		if want[name(it)] {
			keep = append(keep, it)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("%s %q matches nothing", flag, list)
	}
	return keep, nil
}

func newBench() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench NAME",
		Short: "Reproduce a published benchmark table (acasxu-36)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchACASXu36(), newBenchVNNCOMP(), newBenchVeritex35(), newBenchMakeSuite(), newBenchActivations())
	return cmd
}

func newBenchVNNCOMP() *cobra.Command {
	var out, only string
	var timeout time.Duration
	var opt verify.Options
	var force bool
	cmd := &cobra.Command{
		Use:   "vnncomp-acasxu [--timeout DURATION] [--instances \"N2,1 p2;N3,3 p2\"] [--out DIR]",
		Short: "The 186 ACAS Xu instances of VNN-COMP 2021: verdict and time each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			instances, err := pick(bench.VNNCOMPACASXu(), bench.Instance.Name, only, "--instances")
			if err != nil {
				return err
			}
			dir, err := outputDir(out, "vnncomp-acasxu", force)
			if err != nil {
				return err
			}
			w := cmd.ErrOrStderr()
			opt.Timeout = timeout
			rows := bench.RunVerify(context.Background(), instances, opt, func(r bench.VerifyRow) {
				if r.Err != "" {
					fmt.Fprintf(w, "%-10s error: %s\n", r.Instance.Name(), r.Err)
					return
				}
				fmt.Fprintf(w, "%-10s %-9s %7.2fs %7d boxes\n", r.Instance.Name(), r.Result.Verdict, r.Result.Seconds, r.Result.Boxes)
			})
			md := bench.VerifyMarkdown("VNN-COMP 2021 ACAS Xu: birdnn verify", rows, timeout)
			if err := atomicfile.WriteBytes(filepath.Join(dir, "vnncomp-acasxu.md"), md); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", dir)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&timeout, "timeout", 116*time.Second, "budget per instance (VNN-COMP 2021 gave 116 s)")
	verifierFlags(cmd, &opt)
	fl.StringVar(&only, "instances", "", "run only these instances, separated by ';' (e.g. \"N2,1 p2\")")
	fl.StringVar(&out, "out", "", "output folder (default: a new folder under out/)")
	fl.BoolVar(&force, "force", false, "write into --out even if it exists")
	return cmd
}

func newBenchACASXu36() *cobra.Command {
	var paradigm, optimizer, out, only string
	var sets []string
	var force bool
	cmd := &cobra.Command{
		Use:   "acasxu-36 [--paradigm finetune|retrain] [--optimizer gradient|pso] [--tasks N2,1;N5,3] [--out DIR]",
		Short: "The 36-task ACAS Xu safety table of CARE, PRDNN and VeRe",
		Long: `Repairs the 36 tasks of the table CARE, PRDNN and VeRe report: N1,9 with property 7 and N2,9 with
property 8 on CARE's sampled sets, and the 34 networks N_{i>=2,j} that violate property 2, whose repair and
test sets are 10000 uniform samples of the box plus the neighbourhoods of counterexamples found by an
independent, seeded search each. Writes DIR/acasxu36.md and DIR/acasxu36.csv, one row a task, the average,
and the published averages.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sets = append([]string{"paradigm=" + paradigm, "finetune.optimizer=" + optimizer,
				"network=unused", "property=unused"}, sets...)
			cfg, err := configs.LoadRepair("", []byte("dataset: {samples: 1, test_samples: 1}\n"), sets)
			if err != nil {
				return err
			}
			tasks, err := pick(bench.ACASXu36(), func(t bench.Task) string { return t.Name }, only, "--tasks")
			if err != nil {
				return err
			}
			name := fmt.Sprintf("acasxu36-%s", paradigm)
			if paradigm == "finetune" {
				name += "-" + optimizer
			}
			dir, err := outputDir(out, name, force)
			if err != nil {
				return err
			}
			w := cmd.ErrOrStderr()
			rows := bench.Run(cmd.Context(), tasks, cfg, bench.DefaultSample, func(r bench.Row) {
				if r.Err != "" {
					fmt.Fprintf(w, "%-8s error: %s\n", r.Task, r.Err)
					return
				}
				fmt.Fprintf(w, "%-8s neg %5d  success %6.2f%%  generalization %6.2f%%  drawdown %5.2f%%  domain fidelity %6.2f%%  %5.2fs\n",
					r.Task, r.Negatives, r.Success, r.Generalization, r.Drawdown, r.DomainFidelity, r.Seconds)
			})
			title := fmt.Sprintf("ACAS Xu 36-task safety table: birdnn %s", paradigm)
			if paradigm == "finetune" {
				title += " (" + optimizer + ")"
			}
			if err := atomicfile.WriteBytes(filepath.Join(dir, "acasxu36.md"), bench.Markdown(title, rows, bench.ACASXu36Published)); err != nil {
				return err
			}
			if err := atomicfile.WriteBytes(filepath.Join(dir, "acasxu36.csv"), bench.CSV(rows)); err != nil {
				return err
			}
			avg := bench.Average(rows)
			fmt.Fprintf(cmd.OutOrStdout(), "average: success %.2f%%, generalization %.2f%%, drawdown %.2f%%, domain fidelity %.2f%%, %.2fs\nwrote %s\n",
				avg.Success, avg.Generalization, avg.Drawdown, avg.DomainFidelity, avg.Seconds, dir)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&paradigm, "paradigm", "finetune", "finetune or retrain")
	fl.StringVar(&optimizer, "optimizer", "gradient", "fine-tuning optimizer: gradient or pso")
	fl.StringVar(&only, "tasks", "", "run only these tasks, separated by ';' (e.g. \"N2,1;N5,3\")")
	fl.StringVar(&out, "out", "", "output folder (default: a new folder under out/)")
	fl.StringArrayVar(&sets, "set", nil, "override a repair config key: key=value (repeatable)")
	fl.BoolVar(&force, "force", false, "write into --out even if it exists")
	return cmd
}

func newBenchVeritex35() *cobra.Command {
	var paradigm, out, only string
	var sets []string
	var force, resume bool
	cmd := &cobra.Command{
		Use:   "veritex-35 [--paradigm retrain|finetune] [--tasks \"N2,1 p1,2,3,4\"] [--set key=value] [--out DIR]",
		Short: "Domain-wise repair of the 35 unsafe instances of the Veritex repair benchmark",
		Long: `Repairs, domain-wise (until the verifier certifies every box), the 35 unsafe instances of the Veritex
repair benchmark: 33 ACAS Xu networks against properties 1-4 together, N1,9 against property 7, N2,9 against
properties 1-4 and 8. Writes DIR/veritex35.md (beside Veritex's and ART's published results),
DIR/veritex35.csv, and each task's repaired network and report (with its rounds' log) in
DIR/tasks/<task>/ (N4_3-p1_2_3_4 for "N4,3 p1,2,3,4"), as birdnn repair writes them. --set changes
the repair config (e.g. --set domain.verify_seconds=30).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sets = append([]string{"mode=domain", "paradigm=" + paradigm, "network=unused", "property=unused"}, sets...)
			cfg, err := configs.LoadRepair("", nil, sets)
			if err != nil {
				return err
			}
			tasks, err := pick(bench.Veritex35(), bench.RepairTask.Name, only, "--tasks")
			if err != nil {
				return err
			}
			if resume && out == "" {
				return fmt.Errorf("--resume needs --out (the folder of the run to continue)")
			}
			dir, err := outputDir(out, "veritex35-"+paradigm, force || resume)
			if err != nil {
				return err
			}
			csvPath := filepath.Join(dir, "veritex35.csv")
			var rows []bench.RepairRow
			if resume {
				// Keep the tasks an earlier run finished; run the rest.
				if b, err := os.ReadFile(csvPath); err == nil {
					if rows, err = bench.ReadRepairCSV(b); err != nil {
						return fmt.Errorf("%s: %w", csvPath, err)
					}
				} else if !errors.Is(err, os.ErrNotExist) {
					return err
				}
				done := map[string]bool{}
				for _, r := range rows {
					done[r.Task] = true
				}
				tasks = slices.DeleteFunc(tasks, func(t bench.RepairTask) bool { return done[t.Name()] })
				fmt.Fprintf(cmd.ErrOrStderr(), "resuming: %d tasks done, %d to run\n", len(rows), len(tasks))
			}
			title := "Veritex repair benchmark (35 unsafe instances): birdnn domain-wise " + paradigm
			// Both files are rewritten after every task, so an interrupted run loses at most the task
			// under way (and --resume continues it).
			save := func() error {
				if err := atomicfile.WriteBytes(filepath.Join(dir, "veritex35.md"), bench.VeritexMarkdown(title, rows)); err != nil {
					return err
				}
				return atomicfile.WriteBytes(csvPath, bench.RepairCSV(rows))
			}
			w := cmd.ErrOrStderr()
			var saveErr error
			bench.RunRepair(cmd.Context(), tasks, cfg, func(r bench.RepairRow) {
				if r.Result != nil {
					// Each task's repaired network and report (with its rounds' log), for a closer look.
					if err := writeTask(filepath.Join(dir, "tasks", taskFolder(r.Task)), r.Result); err != nil && saveErr == nil {
						saveErr = err
					}
					r.Result = nil
				}
				rows = append(rows, r)
				if err := save(); err != nil && saveErr == nil {
					saveErr = err
				}
				if r.Err != "" {
					fmt.Fprintf(w, "%-18s error: %s\n", r.Task, r.Err)
					return
				}
				fmt.Fprintf(w, "%-18s %-9s rounds %d  fidelity %6.2f%% (domain) %6.2f%% (in-box)  verifier %6.1fs  total %6.1fs\n",
					r.Task, r.Verdict, r.Rounds, r.DomainFidelity, r.InBoxFidelity, r.VerifierSeconds, r.Seconds)
			})
			if saveErr != nil {
				return saveErr
			}
			if err := save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", dir)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&paradigm, "paradigm", "retrain", "retrain or finetune")
	fl.StringVar(&only, "tasks", "", "run only these tasks, separated by ';' (e.g. \"N2,1 p1,2,3,4\")")
	fl.StringVar(&out, "out", "", "output folder (default: a new folder under out/)")
	fl.StringArrayVar(&sets, "set", nil, "override a repair config key: key=value (repeatable)")
	fl.BoolVar(&force, "force", false, "write into --out even if it exists")
	fl.BoolVar(&resume, "resume", false, "continue the run in --out: keep the tasks its veritex35.csv has, run the others")
	return cmd
}

// taskFolder names a benchmark task's folder: "N4,3 p1,2,3,4" is N4_3-p1_2_3_4.
func taskFolder(task string) string {
	return strings.NewReplacer(",", "_", " ", "-").Replace(task)
}

// writeTask writes a task's repaired network and report into dir, which it makes.
func writeTask(dir string, res *repair.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return res.Write(dir)
}
