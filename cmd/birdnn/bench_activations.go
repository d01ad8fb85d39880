package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/atomicfile"
)

// activationsCmd is birdnn bench activations' flags.
type activationsCmd struct {
	benchOut
	suite, only, files string
	sets               []string
}

func newBenchActivations() *cobra.Command {
	c := &activationsCmd{}
	cmd := &cobra.Command{
		Use:   "activations [--suite datasets/suite] [--teachers \"N2,1\"] [--files F] [--set key=value] [--out DIR] [--json]",
		Short: "Repair the activation suite's students and their ReLU teachers, sample-wise and domain-wise",
		Long: `For every network of the activation suite (SUITE/suite.json) and its ReLU teacher: sample-wise repair
against the teacher's failing property with both paradigms (success, generalization, drawdown, fidelity,
seconds), then domain-wise repair (certified or not, rounds, fidelity, seconds). Writes the folder DIR
with activations.md and activations.json. --set changes the repair config (e.g. --set domain.verify_seconds=30).`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&c.suite, "suite", "datasets/suite", "the activation suite's folder (made by go run ./datasets/suite/mksuite)")
	fl.StringVar(&c.files, "files", "", "only these students (file names separated by ';'), without the teachers unless \"teacher\" is among them")
	fl.StringVar(&c.only, "teachers", "", "only these teachers, separated by ';' (e.g. \"N2,1\")")
	fl.StringArrayVar(&c.sets, "set", nil, "override a repair config key: key=value (repeatable)")
	c.flags(cmd)
	return cmd
}

func (c *activationsCmd) run(cmd *cobra.Command, _ []string) error {
	b, err := os.ReadFile(filepath.Join(c.suite, "suite.json"))
	if err != nil {
		return fmt.Errorf("read the suite (build it with go run ./datasets/suite/mksuite): %w", err)
	}
	var students []*bench.Student
	if err := json.Unmarshal(b, &students); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(c.suite, "suite.json"), err)
	}
	teachers, err := pick(bench.SuiteTeachers, bench.SuiteTeacher.Name, c.only, "--teachers")
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, f := range strings.Split(c.files, ";") {
		if f = strings.TrimSpace(f); f != "" {
			want[f] = true
		}
	}
	var nets []bench.SuiteNet
	for _, t := range teachers {
		teacher := bench.SuiteNet{Teacher: t, Activation: "relu (teacher)", Path: t.Path()}
		if want["teacher"] {
			nets = append(nets, teacher)
			teacher.Path = ""
		}
		for _, s := range students {
			if s.Teacher == t.Name() && s.Violates && (len(want) == 0 || want[s.File]) {
				abs, err := filepath.Abs(filepath.Join(c.suite, s.File))
				if err != nil {
					return err
				}
				if len(want) == 0 && teacher.Path != "" {
					// The teacher's rows come first, and only for teachers with a student in the
					// suite.
					nets = append(nets, teacher)
					teacher.Path = ""
				}
				nets = append(nets, bench.SuiteNet{Teacher: t, Activation: s.Activation, Path: abs})
			}
		}
	}
	sets := append([]string{"network=unused", "property=unused"}, c.sets...)
	cfg, err := configs.LoadRepair("", nil, sets)
	if err != nil {
		return err
	}
	if err := checkOut(c.out, c.force); err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	rows := bench.RunActivations(cmd.Context(), nets, cfg, func(r bench.ActivationRow) {
		if r.Err != "" {
			fmt.Fprintf(w, "%s %-15s %-8s error: %s\n", r.Teacher, r.Activation, r.Paradigm, r.Err)
			return
		}
		fmt.Fprintf(w, "%s %-15s %-8s success %6.2f%% generalization %6.2f%% drawdown %5.2f%% fidelity %6.2f%% %6.1fs | domain-wise %s in %d round(s), fidelity %6.2f%%, %6.1fs\n",
			r.Teacher, r.Activation, r.Paradigm, r.Success, r.Generalization, r.Drawdown, r.DomainFidelity, r.SampleSeconds, r.Verdict(), r.DomainRounds, r.DomainFidelityAfter, r.DomainSeconds)
	})
	if err := cmd.Context().Err(); err != nil {
		return err // interrupted: no table of the networks done so far
	}
	dir, err := outputDir(c.out, "activations", c.force)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "activations.md"), bench.ActivationsMarkdown(rows)); err != nil {
		return err
	}
	jb, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "activations.json"), append(jb, '\n')); err != nil {
		return err
	}
	certified := 0
	for _, r := range rows {
		if r.Certified {
			certified++
		}
	}
	return c.report(cmd, dir, map[string]any{"rows": len(rows), "certified": certified}, fmt.Sprintf("%d of %d domain-wise repairs certified\n", certified, len(rows)))
}
