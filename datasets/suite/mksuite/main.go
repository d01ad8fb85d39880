// Command mksuite makes the ACAS Xu activation suite in datasets/suite: for each teacher (N2,1, N2,9, N3,5
// against property 2, N1,9 against property 7) a tanh student distilled as the config says (uniform
// samples, samples where the teacher's advisory changes, and samples around its counterexamples), the
// sigmoid network that computes exactly the same function (tanh(z) = 2 sigmoid(2z) - 1), and an elu
// student started from the teacher with elu of alpha 1/8192 for relu (the teacher's weights) and
// distilled further. A student is kept only if a counterexample search finds it violating the teacher's
// failing property. It writes OUT/<activation>_n<ij>.onnx and OUT/suite.json (agreement with the teacher
// on 10000 uniform samples, violation, epochs, seconds). Run from the repository root:
//
//	go run ./datasets/suite/mksuite [-config datasets/suite/suite.yaml] [-out datasets/suite] [-teachers "N2,1;N2,9"] [-activations tanh,elu] [-force] [-resume] [-set key=value ...]
//
// -resume continues training each tanh student from its file in OUT (its epochs and seconds add up in
// suite.json), e.g. with -set epochs=100 -set learn_rate=0.0005. It needs the shared data folder
// (BIRDNN_DATA) and takes about an hour and a half on 2 cores for all four teachers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/internal/override"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/train"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("mksuite: ")
	var sets []string
	cfgPath := flag.String("config", "datasets/suite/suite.yaml", "training config of the tanh students")
	out := flag.String("out", "datasets/suite", "the suite's folder")
	only := flag.String("teachers", "", "only these teachers, separated by ';' (e.g. \"N2,1\")")
	acts := flag.String("activations", "tanh,elu", "students to make: tanh (and its exact sigmoid rewrite), elu")
	force := flag.Bool("force", false, "rebuild students whose files exist")
	resume := flag.Bool("resume", false, "train the tanh students further, from their files in -out")
	flag.Func("set", "override a training config key: key=value (repeatable)", func(s string) error {
		sets = append(sets, s)
		return nil
	})
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := makeSuite(ctx, *cfgPath, *out, *only, *acts, sets, *force, *resume); err != nil {
		log.Fatal(err)
	}
}

func makeSuite(ctx context.Context, cfgPath, out, only, acts string, sets []string, force, resume bool) error {
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
	teachers, err := pick(bench.SuiteTeachers, only)
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
	w := os.Stderr
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
			found, err := distil(ctx, t, act, cfg, before)
			if err != nil {
				return err
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
	fmt.Printf("wrote %s\n", out)
	return nil
}

// distil makes the students of teacher t with activation act: an elu student, or a tanh student and
// its exact sigmoid rewrite. before, when not nil, is the student resumed (its epochs and seconds add up).
func distil(ctx context.Context, t bench.SuiteTeacher, act string, cfg configs.Train, before *bench.Student) ([]*bench.Student, error) {
	s, err := bench.MakeStudent(ctx, t, act, cfg, progress.Stderr())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", t.Name(), act, err)
	}
	if before != nil {
		s.Epochs += before.Epochs
		s.Seconds += before.Seconds
	}
	found := []*bench.Student{s}
	if act == "tanh" {
		sn, err := train.Convert(s.Net, activation.Sigmoid)
		if err != nil {
			return nil, err
		}
		teacher, _, err := t.Teacher()
		if err != nil {
			return nil, err
		}
		found = append(found, &bench.Student{Teacher: s.Teacher, Activation: "sigmoid", File: t.File("sigmoid"),
			Agreement: bench.Agreement(teacher, sn, 10000, cfg.Seed+99), Violates: s.Violates, Epochs: s.Epochs, Seconds: s.Seconds, Net: sn})
	}
	return found, nil
}

// pick keeps the teachers named in list (separated by ';'), or all of them when list is empty.
func pick(all []bench.SuiteTeacher, list string) ([]bench.SuiteTeacher, error) {
	if list == "" {
		return all, nil
	}
	var keep []bench.SuiteTeacher
	for _, n := range strings.Split(list, ";") {
		i := slices.IndexFunc(all, func(t bench.SuiteTeacher) bool { return t.Name() == strings.TrimSpace(n) })
		if i < 0 {
			return nil, fmt.Errorf("-teachers: no teacher %q", n)
		}
		keep = append(keep, all[i])
	}
	return keep, nil
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
