package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/internal/override"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/train"
)

func newBenchMakeSuite() *cobra.Command {
	var cfgPath, out, only, acts string
	var sets []string
	var force, resume bool
	cmd := &cobra.Command{
		Use:   "make-activation-suite [--config datasets/suite/suite.yaml] [--out datasets/suite] [--teachers \"N2,1;N2,9\"] [--resume] [--set key=value]",
		Short: "Distil the sigmoid, tanh and elu students of ACAS Xu N2,1, N2,9, N3,5 and N1,9",
		Long: `Builds the activation suite: for each teacher (N2,1, N2,9, N3,5 against property 2, N1,9 against
property 7) a tanh student distilled as the config says (uniform samples, samples where the teacher's
advisory changes, and samples around its counterexamples), the sigmoid network that computes exactly the same
function (tanh(z) = 2 sigmoid(2z) - 1), and an elu student started from the teacher with elu of alpha
1/8192 for relu (the teacher's weights) and distilled further. A student is kept only if a counterexample
search finds it violating the teacher's failing property. Writes OUT/<activation>_n<ij>.onnx and
OUT/suite.json (agreement with the teacher on 10000 uniform samples, violation, epochs, seconds).

--resume continues training each tanh student from its file in OUT (its epochs and seconds add up in
suite.json), e.g. with --set epochs=100 --set learn_rate=0.0005.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, o := range sets {
				if k, _, _ := override.Parse(o); k == "teacher" {
					return fmt.Errorf("--set %q: the suite sets each teacher itself (see --teachers)", o)
				}
			}
			// Each teacher's config is the file, then the file's entry for that teacher, then --set.
			cfgs := map[string]*configs.Train{}
			for _, t := range bench.SuiteTeachers {
				cfg, err := configs.LoadTrain(cfgPath, nil, append([]string{"teacher=" + t.Path()}, sets...))
				if err != nil {
					return err
				}
				cfgs[t.Name()] = cfg
			}
			teachers, err := pick(bench.SuiteTeachers, bench.SuiteTeacher.Name, only, "--teachers")
			if err != nil {
				return err
			}
			if resume && acts != "tanh" {
				return fmt.Errorf("--resume trains the tanh students further: give --activations tanh")
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			manifest := filepath.Join(out, "suite.json")
			var students []*bench.Student
			if b, err := os.ReadFile(manifest); err == nil {
				if err := json.Unmarshal(b, &students); err != nil {
					return fmt.Errorf("%s: %w", manifest, err)
				}
			}
			w := cmd.ErrOrStderr()
			rep := progress.Stderr()
			for _, t := range teachers {
				if keys := cfgs[t.Name()].TeacherKeys(); len(keys) > 0 {
					fmt.Fprintf(w, "%s: %s's entry for this teacher (--set overrides it): %s\n", t.Name(), cfgPath, formatKeys(keys))
				}
				for _, act := range strings.Split(acts, ",") {
					if act != "tanh" && act != "elu" {
						return fmt.Errorf("--activations: %q: want tanh (which brings sigmoid) or elu", act)
					}
					path := filepath.Join(out, t.File(act))
					_, statErr := os.Stat(path)
					if statErr == nil && !force && !resume {
						return fmt.Errorf("%s exists (use --force to rebuild, --resume to train it further)", path)
					}
					cfg := *cfgs[t.Name()]
					var before *bench.Student // the student resumed
					if resume && act == "tanh" {
						if statErr != nil {
							return fmt.Errorf("--resume: %w", statErr)
						}
						cfg.Init = path
						if i := slices.IndexFunc(students, func(o *bench.Student) bool { return o.File == t.File(act) }); i >= 0 {
							before = students[i]
						}
					}
					if act == "elu" {
						cfg.InitFromTeacher, cfg.Sharpness = true, 8192
						cfg.Epochs, cfg.LearnRate, cfg.Squash = 3, 1e-5, 0
					}
					s, err := bench.MakeStudent(t, act, cfg, rep)
					if err != nil {
						return fmt.Errorf("%s %s: %w", t.Name(), act, err)
					}
					if before != nil {
						s.Epochs += before.Epochs
						s.Seconds += before.Seconds
					}
					found := []*bench.Student{s}
					if act == "tanh" {
						sn, err := train.Convert(s.Net, activation.Sigmoid)
						if err != nil {
							return err
						}
						teacher, _, err := t.Teacher()
						if err != nil {
							return err
						}
						found = append(found, &bench.Student{Teacher: s.Teacher, Activation: "sigmoid", File: t.File("sigmoid"),
							Agreement: bench.Agreement(teacher, sn, 10000, cfg.Seed+99), Violates: s.Violates, Epochs: s.Epochs, Seconds: s.Seconds, Net: sn})
					}
					for _, f := range found {
						fmt.Fprintf(w, "%s %-7s agreement %.2f%%, violates property %d: %v, %d epochs, %.1fs\n", f.Teacher, f.Activation, f.Agreement, t.Prop, f.Violates, f.Epochs, f.Seconds)
						p := filepath.Join(out, f.File)
						if !f.Violates {
							// Not kept: a student from an earlier build goes too, file and entry, so the
							// manifest lists exactly the files that are there.
							os.Remove(p)
							students = slices.DeleteFunc(students, func(o *bench.Student) bool { return o.File == f.File })
							continue
						}
						if err := netio.Save(p, f.Net, netio.Options{}); err != nil {
							return err
						}
						students = replaceStudent(students, f)
					}
				}
			}
			b, err := json.MarshalIndent(students, "", "  ")
			if err != nil {
				return err
			}
			if err := atomicfile.WriteBytes(manifest, append(b, '\n')); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfgPath, "config", "datasets/suite/suite.yaml", "training config of the tanh students")
	fl.StringVar(&out, "out", "datasets/suite", "output folder")
	fl.StringVar(&only, "teachers", "", "only these teachers, separated by ';' (e.g. \"N2,1\")")
	fl.BoolVar(&force, "force", false, "rebuild students whose files exist")
	fl.BoolVar(&resume, "resume", false, "train the tanh students further, from their files in --out")
	fl.StringArrayVar(&sets, "set", nil, "override a training config key: key=value (repeatable)")
	fl.StringVar(&acts, "activations", "tanh,elu", "students to make: tanh (and its exact sigmoid rewrite), elu")
	return cmd
}

// formatKeys writes a config's keys as key=value, sorted by key.
func formatKeys(keys map[string]any) string {
	parts := make([]string, 0, len(keys))
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, keys[k]))
	}
	return strings.Join(parts, " ")
}

// replaceStudent puts s in the list in place of the entry for the same file, or appends it.
func replaceStudent(list []*bench.Student, s *bench.Student) []*bench.Student {
	for i, o := range list {
		if o.File == s.File {
			list[i] = s
			return list
		}
	}
	return append(list, s)
}

func newBenchActivations() *cobra.Command {
	var suite, out, only, files string
	var sets []string
	var force bool
	cmd := &cobra.Command{
		Use:   "activations [--suite datasets/suite] [--teachers \"N2,1\"] [--set key=value] [--out DIR]",
		Short: "Repair the activation suite's students and their ReLU teachers, sample-wise and domain-wise",
		Long: `For every network of the activation suite (SUITE/suite.json) and its ReLU teacher: sample-wise repair
against the teacher's failing property with both paradigms (success, generalization, drawdown, fidelity,
seconds), then domain-wise repair (certified or not, rounds, fidelity, seconds). Writes DIR/activations.md
and DIR/activations.json. --set changes the repair config (e.g. --set domain.verify_seconds=30).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(filepath.Join(suite, "suite.json"))
			if err != nil {
				return fmt.Errorf("read the suite (build it with birdnn bench make-activation-suite): %w", err)
			}
			var students []*bench.Student
			if err := json.Unmarshal(b, &students); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(suite, "suite.json"), err)
			}
			teachers, err := pick(bench.SuiteTeachers, bench.SuiteTeacher.Name, only, "--teachers")
			if err != nil {
				return err
			}
			want := map[string]bool{}
			for _, f := range strings.Split(files, ";") {
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
						abs, err := filepath.Abs(filepath.Join(suite, s.File))
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
			sets = append([]string{"network=unused", "property=unused"}, sets...)
			cfg, err := configs.LoadRepair("", nil, sets)
			if err != nil {
				return err
			}
			dir, err := outputDir(out, "activations", force)
			if err != nil {
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
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", dir)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&suite, "suite", "datasets/suite", "the activation suite's folder")
	fl.StringVar(&files, "files", "", "only these students (file names separated by ';'), without the teachers unless \"teacher\" is among them")
	fl.StringVar(&only, "teachers", "", "only these teachers, separated by ';' (e.g. \"N2,1\")")
	fl.StringVar(&out, "out", "", "output folder (default: a new folder under out/)")
	fl.StringArrayVar(&sets, "set", nil, "override a repair config key: key=value (repeatable)")
	fl.BoolVar(&force, "force", false, "write into --out even if it exists")
	return cmd
}
