package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/repair"
	"github.com/birdnn/birdnn/verify"
)

func newBench() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench NAME",
		Short: "Reproduce a published benchmark table (acasxu-36, vnncomp-acasxu, veritex-35, activations, mnist-models, neurodiff, isomorphic-acasxu, minimal)",
		Long: `Reproduce a published benchmark table. Each writes its tables into the folder --out (default: a
new folder under out/) and prints a summary, as JSON with --json. docs/benchmarks.md lists every table, its
data and its run time.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newBenchACASXu36(), newBenchVNNCOMP(), newBenchVeritex35(), newBenchActivations(), newBenchMNIST(), newBenchNeuroDiff(), newBenchIsomorphic(), newBenchMinimal(), newBenchNNrepair())
	return cmd
}

// benchOut is the output flags every bench shares.
type benchOut struct {
	out           string
	force, asJSON bool
}

func (o *benchOut) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&o.out, "out", "", "output folder (default: a new folder under out/)")
	fl.BoolVar(&o.force, "force", false, "write into --out even if it exists")
	fl.BoolVar(&o.asJSON, "json", false, "print the summary as JSON (with the output folder as \"out\")")
}

// report prints a bench's summary: text (then "wrote DIR"), or with --json the summary's fields and out.
func (o *benchOut) report(cmd *cobra.Command, dir string, summary map[string]any, text string) error {
	if o.asJSON {
		summary["out"] = dir
		return writeJSON(cmd.OutOrStdout(), summary)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%swrote %s\n", text, dir)
	return nil
}

// writeTables writes DIR/name.md and DIR/name.json (rows as indented JSON), each whole or not at all.
func writeTables(dir, name string, md []byte, rows any) error {
	if err := atomicfile.WriteBytes(filepath.Join(dir, name+".md"), md); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, name+".json"), append(js, '\n'))
}

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

// vnncompCmd is birdnn bench vnncomp-acasxu's flags.
type vnncompCmd struct {
	benchOut
	only    string
	timeout time.Duration
	opt     verify.Options
}

func newBenchVNNCOMP() *cobra.Command {
	c := &vnncompCmd{}
	cmd := &cobra.Command{
		Use:   "vnncomp-acasxu [--timeout DURATION] [--instances \"N2,1 p2;N3,3 p2\"] [--out DIR] [--json]",
		Short: "The 186 ACAS Xu instances of VNN-COMP 2021: verdict and time each",
		Long: `Verifies the 186 ACAS Xu instances of VNN-COMP 2021 (properties 1-4 on all 45 networks, 5 and 6 on
N1,1, 7 on N1,9, 8 on N2,9, 9 on N3,3, 10 on N4,5) and writes the folder DIR with vnncomp-acasxu.md: each
instance's verdict, seconds and boxes.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.DurationVar(&c.timeout, "timeout", 116*time.Second, "budget per instance (VNN-COMP 2021 gave 116 s)")
	verifierFlags(cmd, &c.opt)
	fl.StringVar(&c.only, "instances", "", "run only these instances, separated by ';' (e.g. \"N2,1 p2\")")
	c.flags(cmd)
	return cmd
}

func (c *vnncompCmd) run(cmd *cobra.Command, _ []string) error {
	instances, err := pick(bench.VNNCOMPACASXu(), bench.Instance.Name, c.only, "--instances")
	if err != nil {
		return err
	}
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	c.opt.Timeout = c.timeout
	rows := bench.RunVerify(cmd.Context(), instances, c.opt, func(r bench.VerifyRow) {
		if r.Err != "" {
			fmt.Fprintf(w, "%-10s error: %s\n", r.Instance.Name(), r.Err)
			return
		}
		fmt.Fprintf(w, "%-10s %-9s %7.2fs %7d boxes\n", r.Instance.Name(), r.Result.Verdict, r.Result.Seconds, r.Result.Boxes)
	})
	if err := cmd.Context().Err(); err != nil {
		return err // interrupted: no table of the instances done so far
	}
	dir, err := outputDir(c.out, "vnncomp-acasxu", c.force)
	if err != nil {
		return err
	}
	md := bench.VerifyMarkdown("VNN-COMP 2021 ACAS Xu: birdnn verify", rows, c.timeout)
	if err := atomicfile.WriteBytes(filepath.Join(dir, "vnncomp-acasxu.md"), md); err != nil {
		return err
	}
	counts := map[string]int{}
	for _, r := range rows {
		if r.Err != "" {
			counts["error"]++
		} else {
			counts[string(r.Result.Verdict)]++
		}
	}
	return c.report(cmd, dir, map[string]any{"instances": len(rows), "verdicts": counts}, "")
}

// acasxu36Cmd is birdnn bench acasxu-36's flags.
type acasxu36Cmd struct {
	benchOut
	paradigm, optimizer, only string
	sets                      []string
}

func newBenchACASXu36() *cobra.Command {
	c := &acasxu36Cmd{}
	cmd := &cobra.Command{
		Use:   "acasxu-36 [--paradigm finetune|retrain|minimal] [--optimizer gradient|pso] [--tasks N2,1;N5,3] [--out DIR] [--json]",
		Short: "The 36-task ACAS Xu safety table of CARE, PRDNN and VeRe",
		Long: `Repairs the 36 tasks of the table CARE, PRDNN and VeRe report: N1,9 with property 7 and N2,9 with
property 8 on CARE's sampled sets, and the 34 networks N_{i>=2,j} that violate property 2, whose repair and
test sets are 10000 uniform samples of the box plus the neighbourhoods of counterexamples found by an
independent, seeded search each. Writes the folder DIR with acasxu36.md and acasxu36.csv, one row a task,
the average, and the published averages.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.paradigm, "paradigm", "finetune", "finetune, retrain or minimal (the least change of the last layer)")
	fl.StringVar(&c.optimizer, "optimizer", "gradient", "fine-tuning optimizer: gradient or pso")
	fl.StringVar(&c.only, "tasks", "", "run only these tasks, separated by ';' (e.g. \"N2,1;N5,3\")")
	fl.StringArrayVar(&c.sets, "set", nil, "override a repair config key: key=value (repeatable)")
	c.flags(cmd)
	return cmd
}

func (c *acasxu36Cmd) run(cmd *cobra.Command, _ []string) error {
	c.sets = append([]string{"paradigm=" + c.paradigm, "finetune.optimizer=" + c.optimizer,
		"network=unused", "property=unused"}, c.sets...)
	cfg, err := configs.LoadRepair("", []byte("dataset: {samples: 1, test_samples: 1}\n"), c.sets)
	if err != nil {
		return err
	}
	tasks, err := pick(bench.ACASXu36(), func(t bench.Task) string { return t.Name }, c.only, "--tasks")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("acasxu36-%s", c.paradigm)
	if c.paradigm == "finetune" {
		name += "-" + c.optimizer
	}
	if err := checkOut(c.out, c.force); err != nil {
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
	if err := cmd.Context().Err(); err != nil {
		return err // interrupted: no table of the tasks done so far
	}
	dir, err := outputDir(c.out, name, c.force)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("ACAS Xu 36-task safety table: birdnn %s", c.paradigm)
	if c.paradigm == "finetune" {
		title += " (" + c.optimizer + ")"
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "acasxu36.md"), bench.Markdown(title, rows, bench.ACASXu36Published)); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "acasxu36.csv"), bench.CSV(rows)); err != nil {
		return err
	}
	avg := bench.Average(rows)
	return c.report(cmd, dir, map[string]any{"tasks": len(rows), "average": avg},
		fmt.Sprintf("average: success %.2f%%, generalization %.2f%%, drawdown %.2f%%, domain fidelity %.2f%%, %.2fs\n",
			avg.Success, avg.Generalization, avg.Drawdown, avg.DomainFidelity, avg.Seconds))
}

// veritexCmd is birdnn bench veritex-35's flags.
type veritexCmd struct {
	benchOut
	paradigm, only string
	sets           []string
	resume         bool
}

func newBenchVeritex35() *cobra.Command {
	c := &veritexCmd{}
	cmd := &cobra.Command{
		Use:   "veritex-35 [--paradigm retrain|finetune|patch] [--tasks \"N2,1 p1,2,3,4\"] [--set key=value] [--out DIR] [--resume] [--json]",
		Short: "Domain-wise repair of the 35 unsafe instances of the Veritex repair benchmark",
		Long: `Repairs, domain-wise (until the verifier certifies every box), the 35 unsafe instances of the Veritex
repair benchmark: 33 ACAS Xu networks against properties 1-4 together, N1,9 against property 7, N2,9 against
properties 1-4 and 8. Writes the folder DIR with veritex35.md (beside Veritex's and ART's published
results), veritex35.csv, and each task's repaired network and report (with its rounds' log) in
DIR/tasks/<task>/ (N4_3-p1_2_3_4 for "N4,3 p1,2,3,4"), as birdnn repair writes them. --set changes
the repair config (e.g. --set domain.verify_seconds=30).`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.paradigm, "paradigm", "retrain", "retrain, finetune or patch (a local patch on each box: no training, the network unchanged outside the boxes' bands)")
	fl.StringVar(&c.only, "tasks", "", "run only these tasks, separated by ';' (e.g. \"N2,1 p1,2,3,4\")")
	fl.StringArrayVar(&c.sets, "set", nil, "override a repair config key: key=value (repeatable)")
	fl.BoolVar(&c.resume, "resume", false, "continue the run in --out: keep the tasks its veritex35.csv has, run the others")
	c.flags(cmd)
	return cmd
}

func (c *veritexCmd) run(cmd *cobra.Command, _ []string) error {
	c.sets = append([]string{"mode=domain", "paradigm=" + c.paradigm, "network=unused", "property=unused"}, c.sets...)
	cfg, err := configs.LoadRepair("", nil, c.sets)
	if err != nil {
		return err
	}
	tasks, err := pick(bench.Veritex35(), bench.RepairTask.Name, c.only, "--tasks")
	if err != nil {
		return err
	}
	if c.resume && c.out == "" {
		return fmt.Errorf("--resume needs --out (the folder of the run to continue)")
	}
	dir, err := outputDir(c.out, "veritex35-"+c.paradigm, c.force || c.resume)
	if err != nil {
		return err
	}
	csvPath := filepath.Join(dir, "veritex35.csv")
	var rows []bench.RepairRow
	if c.resume {
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
	title := "Veritex repair benchmark (35 unsafe instances): birdnn domain-wise " + c.paradigm
	// Both files are rewritten after every task, so an interrupted run loses at most the task
	// under way (and --c.resume continues it).
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
	certified := 0
	for _, r := range rows {
		if r.Certified {
			certified++
		}
	}
	return c.report(cmd, dir, map[string]any{"tasks": len(rows), "certified": certified}, fmt.Sprintf("%d of %d certified\n", certified, len(rows)))
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

// mnistCmd is birdnn bench mnist-models' flags.
type mnistCmd struct{ benchOut }

func newBenchMNIST() *cobra.Command {
	c := &mnistCmd{}
	cmd := &cobra.Command{
		Use:   "mnist-models [--out DIR] [--json]",
		Short: "NNrepair's three MNIST CNNs: clean accuracy, accuracy under FGSM, the poisoned one's backdoor",
		Long: `Measures NNrepair's three MNIST CNNs (../shared/datasets/nnrepair/) on the 10000 test images: clean
accuracy, accuracy under FGSM at eps 0.01, 0.05 and 0.1 (pixels in [0, 1]), and the poisoned model's
backdoor (a 3x3 white square in the bottom-right corner, to 7), beside the figures the data README
publishes, and writes DIR/mnist-models.md.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	c.flags(cmd)
	return cmd
}

func (c *mnistCmd) run(cmd *cobra.Command, _ []string) error {
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	rows, err := bench.RunMNIST(cmd.Context(), bench.NNrepairModels(), func(r bench.MNISTRow) {
		if r.Err != "" {
			fmt.Fprintf(w, "%-40s error: %s\n", r.Model.File, r.Err)
			return
		}
		fmt.Fprintf(w, "%-40s accuracy %.2f%%, FGSM %v, backdoor %.2f%%\n", r.Model.File, r.Accuracy, r.FGSM, r.Backdoor)
	})
	if err != nil {
		return err
	}
	dir, err := outputDir(c.out, "mnist-models", c.force)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "mnist-models.md"), bench.MNISTMarkdown(rows)); err != nil {
		return err
	}
	summary := map[string]any{}
	for _, r := range rows {
		summary[filepath.Base(r.Model.File)] = map[string]any{"accuracy": r.Accuracy, "fgsm": r.FGSM, "backdoor": r.Backdoor, "error": r.Err}
	}
	return c.report(cmd, dir, summary, "")
}

// neurodiffCmd is birdnn bench neurodiff's flags.
type neurodiffCmd struct {
	benchOut
	only    string
	timeout time.Duration
	opt     verify.Options
	mnist   bool
	images  int
}

func newBenchNeuroDiff() *cobra.Command {
	c := &neurodiffCmd{}
	cmd := &cobra.Command{
		Use:   "neurodiff [--mnist [--images N]] [--timeout DURATION] [--settings \"p1 eps 0.05;p8 eps 0.01\"] [--out DIR] [--json]",
		Short: "NeuroDiff's ACAS Xu tables: each network against its 16-bit copy, proved and seconds per setting",
		Long: `Runs NeuroDiff's published ACAS Xu settings (eps 0.05: properties 1, 7, 8; eps 0.01: properties 1, 3,
4, 7, 8, 14) with birdnn diff: each network of ../shared/datasets/neurodiff/ against its 16-bit copy, on
the property's box at the output it is run on, within --timeout, and writes DIR/neurodiff.md (the totals
per setting beside NeuroDiff's, then every network) and DIR/neurodiff.json (every network's result).

--mnist runs the MNIST experiments instead: mnist_relu_3_100 against its 16-bit copy on the 100 images
(the first --images), |B_t - A_t| < 1 at each image's label t, with k = 15, 18, 21, 24, 27 random pixels
free ("pixels k=21") or every pixel within p = 3 to 8 grey levels ("global p=5"), and writes
DIR/neurodiff-mnist.md and .json.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.DurationVar(&c.timeout, "timeout", time.Minute, "budget per network")
	verifierFlags(cmd, &c.opt)
	fl.StringVar(&c.only, "settings", "", "run only these settings, separated by ';' (e.g. \"p1 eps 0.05\", \"pixels k=21\")")
	fl.BoolVar(&c.mnist, "mnist", false, "run the MNIST experiments instead of ACAS Xu")
	fl.IntVar(&c.images, "images", 100, "with --mnist, the first this many images")
	c.flags(cmd)
	return cmd
}

func (c *neurodiffCmd) runMNIST(cmd *cobra.Command) error {
	settings, err := pick(bench.NeuroDiffMNIST(), bench.MNISTDiffSetting.Name, c.only, "--settings")
	if err != nil {
		return err
	}
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	c.opt.Timeout = c.timeout
	rows, err := bench.RunNeuroDiffMNIST(cmd.Context(), settings, c.images, c.opt, func(r bench.MNISTDiffRow) {
		if r.Err != "" {
			fmt.Fprintf(w, "%-12s image %2d error: %s\n", r.Setting, r.Image, r.Err)
			return
		}
		fmt.Fprintf(w, "%-12s image %2d %-9s %7.2fs %7d boxes\n", r.Setting, r.Image, r.Result.Verdict, r.Result.Seconds, r.Result.Boxes)
	})
	if err != nil {
		return err
	}
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	dir, err := outputDir(c.out, "neurodiff-mnist", c.force)
	if err != nil {
		return err
	}
	md := bench.NeuroDiffMNISTMarkdown(settings, rows, c.timeout)
	if err := writeTables(dir, "neurodiff-mnist", md, rows); err != nil {
		return err
	}
	summary := map[string]any{}
	for _, r := range rows {
		s, _ := summary[r.Setting].(map[string]int)
		if s == nil {
			s = map[string]int{}
			summary[r.Setting] = s
		}
		if r.Err != "" {
			s["error"]++
		} else {
			s[string(r.Result.Verdict)]++
		}
	}
	return c.report(cmd, dir, summary, string(md))
}

func (c *neurodiffCmd) run(cmd *cobra.Command, _ []string) error {
	if c.mnist {
		return c.runMNIST(cmd)
	}
	all, err := bench.NeuroDiffACASXu()
	if err != nil {
		return err
	}
	settings, err := pick(all, bench.DiffSetting.Name, c.only, "--settings")
	if err != nil {
		return err
	}
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	c.opt.Timeout = c.timeout
	rows := bench.RunNeuroDiff(cmd.Context(), settings, c.opt, func(r bench.DiffRow) {
		if r.Err != "" {
			fmt.Fprintf(w, "%-13s N%d,%d error: %s\n", r.Setting, r.Net[0], r.Net[1], r.Err)
			return
		}
		fmt.Fprintf(w, "%-13s N%d,%d %-9s %7.2fs %7d boxes %s\n", r.Setting, r.Net[0], r.Net[1], r.Result.Verdict, r.Result.Seconds, r.Result.Boxes, r.Result.Method)
	})
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	dir, err := outputDir(c.out, "neurodiff", c.force)
	if err != nil {
		return err
	}
	if err := writeTables(dir, "neurodiff", bench.NeuroDiffMarkdown(settings, rows, c.timeout), rows); err != nil {
		return err
	}
	summary := map[string]any{}
	var text strings.Builder
	for _, s := range bench.SummarizeNeuroDiff(settings, rows) {
		summary[s.Setting] = map[string]any{"networks": s.Networks, "proved": s.Proved, "violated": s.Violated, "seconds": s.Seconds, "neurodiff_proved": s.PublishedProved, "neurodiff_seconds": s.PublishedSeconds}
		fmt.Fprintf(&text, "%-13s proved %d of %d in %.1f s (NeuroDiff %d, %.1f s)\n", s.Setting, s.Proved, s.Networks, s.Seconds, s.PublishedProved, s.PublishedSeconds)
	}
	return c.report(cmd, dir, summary, text.String())
}

// isoCmd is birdnn bench isomorphic-acasxu's flags.
type isoCmd struct {
	benchOut
	seed    uint64
	timeout time.Duration
	opt     verify.Options
	only    string
}

func newBenchIsomorphic() *cobra.Command {
	c := &isoCmd{}
	cmd := &cobra.Command{
		Use:   "isomorphic-acasxu [--seed N] [--timeout DURATION] [--pairs \"00 N1,1 perturbed 0.5%\"] [--out DIR] [--json]",
		Short: "Two-network ACAS Xu in VNN-COMP 2026's style: 50 perturbed or pruned copies, |B - A| < 0.05",
		Long: `Makes 50 pairs from --seed (network k mod 45 against a copy with every weight scaled by 1 + s u, u
uniform in [-1, 1], for even k, or with the share s of each layer's smallest weights set to 0 for odd k;
s cycling through 0.5%, 1%, 2%), decides |B - A| < eps on every output over the box and eps of
../shared/datasets/vnnlib2/isomorphic_acasxu_instance_0.vnnlib within --timeout each, and writes
DIR/isomorphic-acasxu.md (verdict, seconds, and the largest sampled difference of each) and .json.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.Uint64Var(&c.seed, "seed", 1, "seed of the pairs")
	fl.DurationVar(&c.timeout, "timeout", 100*time.Second, "budget per pair (VNN-COMP 2026 gives 100 s)")
	verifierFlags(cmd, &c.opt)
	fl.StringVar(&c.only, "pairs", "", "run only these pairs, by name, separated by ';'")
	c.flags(cmd)
	return cmd
}

func (c *isoCmd) run(cmd *cobra.Command, _ []string) error {
	pairs, err := pick(bench.IsomorphicACASXu(c.seed), bench.IsoPair.Name, c.only, "--pairs")
	if err != nil {
		return err
	}
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	c.opt.Timeout = c.timeout
	rows, err := bench.RunIsomorphic(cmd.Context(), pairs, c.opt, func(r bench.IsoRow) {
		if r.Err != "" {
			fmt.Fprintf(w, "%-26s error: %s\n", r.Pair.Name(), r.Err)
			return
		}
		fmt.Fprintf(w, "%-26s %-9s %7.2fs %7d boxes, sampled max %.4g\n", r.Pair.Name(), r.Result.Verdict, r.Result.Seconds, r.Result.Boxes, r.Sampled)
	})
	if err != nil {
		return err
	}
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	dir, err := outputDir(c.out, "isomorphic-acasxu", c.force)
	if err != nil {
		return err
	}
	if err := writeTables(dir, "isomorphic-acasxu", bench.IsomorphicMarkdown(rows, c.seed, c.timeout.Seconds()), rows); err != nil {
		return err
	}
	counts := map[string]int{}
	worst := 0.0
	for _, r := range rows {
		if r.Err != "" {
			counts["error"]++
			continue
		}
		counts[string(r.Result.Verdict)]++
		worst = max(worst, r.Result.Seconds)
	}
	summary := map[string]any{"pairs": len(rows), "verdicts": counts, "slowest_seconds": worst}
	return c.report(cmd, dir, summary, fmt.Sprintf("%d pairs: %v, the slowest %.1f s\n", len(rows), counts, worst))
}
