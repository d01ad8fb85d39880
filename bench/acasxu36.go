// Package bench reproduces the published benchmark tables: it builds each task's data, runs birdnn on it,
// and writes the results beside the published figures.
package bench

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/repair"
	"github.com/birdnn/birdnn/samplewise"
)

// Task is one repair task of a table.
type Task struct {
	Name     string // e.g. "N2,1"
	I, J     int    // ACAS Xu network N_{I,J}
	Property string // property file, for the report
	// CARE names the CARE set folder (N19, N29) used instead of sampling, or is empty.
	CARE string
}

// ACASXu36 lists the 36-task safety table of CARE, PRDNN and VeRe: N1,9 with property 7 and N2,9 with
// property 8 (on CARE's sampled sets) and the 34 networks N_{i>=2,j} that violate property 2.
func ACASXu36() []Task {
	tasks := []Task{
		{Name: "N1,9", I: 1, J: 9, Property: "care/N19/property.vnnlib", CARE: "N19"},
		{Name: "N2,9 p8", I: 2, J: 9, Property: "care/N29/property.vnnlib", CARE: "N29"},
	}
	for i := 2; i <= 5; i++ {
		for j := 1; j <= 9; j++ {
			if (i == 3 && j == 3) || (i == 4 && j == 2) {
				continue // the two networks that satisfy property 2
			}
			tasks = append(tasks, Task{Name: fmt.Sprintf("N%d,%d", i, j), I: i, J: j, Property: "vnnlib/prop_2.vnnlib"})
		}
	}
	return tasks
}

// Published holds a method's published averages on the 36 tasks (repair success, generalization,
// drawdown in percent; seconds).
type Published struct {
	Method                                     string
	Success, Generalization, Drawdown, Seconds float64
}

// ACASXu36Published are the averages CARE, PRDNN and VeRe report (as re-run by VeRe's authors).
var ACASXu36Published = []Published{
	{"CARE", 94.89, 94.70, 19.53, 150.4},
	{"PRDNN", 100, 95.15, 19.48, 3.77},
	{"VeRe", 99.88, 99.87, 15.26, 5.58},
}

// SampleOptions controls how a sampled task's repair and test sets are built.
type SampleOptions struct {
	// Uniform is how many uniform samples of the box each set gets.
	Uniform int
	// Search finds counterexamples; each one found contributes Around samples within Radius.
	Search falsify.Options
	Around int
	Radius float64
}

// DefaultSample builds sets of 10000 uniform samples plus the neighbourhoods of the counterexamples a
// search finds (the uniform samples alone hold few or no negatives on several networks).
var DefaultSample = SampleOptions{
	Uniform: 10000,
	Search:  falsify.Options{Samples: 100000, Starts: 1000, Steps: 100, StepSize: 0.01},
	Around:  5,
	Radius:  0.01,
}

// loadACASXu reads ACAS Xu network N_{i,j} (.nnet) and the property at rel, a path inside the ACAS Xu
// data folder, and checks that they fit.
func loadACASXu(i, j int, rel string) (*nn.Network, *property.Property, string, string, error) {
	dir, err := datasets.ACASXu()
	if err != nil {
		return nil, nil, "", "", err
	}
	netPath, _ := datasets.ACASXuNet(i, j, "nnet")
	propPath := filepath.Join(dir, rel)
	net, err := nnet.ReadFile(netPath)
	if err != nil {
		return nil, nil, "", "", err
	}
	prop, err := property.ReadFile(propPath)
	if err != nil {
		return nil, nil, "", "", err
	}
	if err := prop.Check(net.Inputs(), net.Outputs()); err != nil {
		return nil, nil, "", "", err
	}
	return net, prop, netPath, propPath, nil
}

// Problem builds a task's repair problem. Sampled tasks draw the repair set with seed and the test set
// with an independent seed.
func (t Task) Problem(opt SampleOptions, seed uint64) (*samplewise.Problem, error) {
	net, prop, netPath, propPath, err := loadACASXu(t.I, t.J, t.Property)
	if err != nil {
		return nil, err
	}
	p := &samplewise.Problem{Net: net, Prop: prop, NetworkPath: netPath, PropertyPath: propPath}
	if t.CARE != "" {
		dir, _ := datasets.ACASXu() // loadACASXu found it
		var sets [4][]float64
		for i, f := range []string{"counterexample.csv", "drawndown.csv", "counterexample_test.csv", "drawndown_test.csv"} {
			tab, err := datasets.ReadCSVFile(filepath.Join(dir, "care", t.CARE, f), net.Inputs())
			if err != nil {
				return nil, err
			}
			sets[i] = tab.Data
		}
		p.Neg, p.Pos = imitate.Split(net, prop, append(sets[0], sets[1]...))
		p.TestNeg, p.TestPos = imitate.Split(net, prop, append(sets[2], sets[3]...))
		return p, nil
	}
	build := func(s uint64) (neg, pos []float64) {
		x := prop.Sample(newRand(s), opt.Uniform)
		found := falsify.Search(net, prop, opt.Search, s)
		n1, p1 := imitate.Split(net, prop, x)
		n2, p2 := imitate.Split(net, prop, falsify.Around(prop, found, opt.Around, opt.Radius, s))
		return append(append(n1, n2...), found...), append(p1, p2...)
	}
	p.Neg, p.Pos = build(seed)
	p.TestNeg, p.TestPos = build(seed + 1000003)
	if len(p.Neg) == 0 {
		return nil, fmt.Errorf("%s: no counterexample found to repair", t.Name)
	}
	return p, nil
}

// Row is one task's result.
type Row struct {
	Task                                              string
	Negatives, TestNegatives, TestPositives           int
	Success, Generalization, Drawdown, DomainFidelity float64
	Seconds, DataSeconds                              float64
	// Drift is the certified bound on max |f' - f| outside the property's boxes and DecisionProved the
	// domain volume (percent) proved to keep its advisory, from the report's drift section (NaN without).
	Drift, DecisionProved float64
	Err                   string
}

// Run runs every task with cfg (its network, property and dataset keys are ignored) and returns a row each.
// progress, when not nil, is called after each task.
func Run(ctx context.Context, tasks []Task, cfg *configs.Repair, opt SampleOptions, progress func(Row)) []Row {
	var rows []Row
	for _, t := range tasks {
		t0 := time.Now()
		row := Row{Task: t.Name}
		p, err := t.Problem(opt, cfg.Seed)
		row.DataSeconds = time.Since(t0).Seconds()
		if err == nil {
			var res *repair.Result
			if res, err = repair.RunProblem(ctx, cfg, p, nil); err == nil {
				r := res.Report
				row.Negatives, row.TestNegatives, row.TestPositives = r.Counts.RepairNegatives, r.Counts.TestNegatives, r.Counts.TestPositives
				row.Success, row.Generalization, row.Drawdown = float64(r.RepairSuccessRate), float64(r.Generalization), float64(r.Drawdown)
				row.DomainFidelity, row.Seconds = float64(r.Fidelity.Domain), r.Seconds["total"]
				row.Drift, row.DecisionProved = math.NaN(), math.NaN()
				if r.Drift != nil {
					row.Drift, row.DecisionProved = r.Drift.Outside, r.Drift.DecisionProved
				}
			}
		}
		if err != nil {
			row.Err = err.Error()
		}
		rows = append(rows, row)
		if progress != nil {
			progress(row)
		}
	}
	return rows
}

// Average returns the mean of each figure over the rows that ran (NaN figures are skipped).
func Average(rows []Row) Row {
	avg := Row{Task: "average"}
	fields := func(r *Row) []*float64 {
		return []*float64{&r.Success, &r.Generalization, &r.Drawdown, &r.DomainFidelity, &r.Seconds, &r.DataSeconds, &r.Drift, &r.DecisionProved}
	}
	sums := make([]float64, 8)
	counts := make([]int, 8)
	for i := range rows {
		if rows[i].Err != "" {
			continue
		}
		for k, f := range fields(&rows[i]) {
			if !math.IsNaN(*f) {
				sums[k] += *f
				counts[k]++
			}
		}
		avg.Negatives += rows[i].Negatives
		avg.TestNegatives += rows[i].TestNegatives
		avg.TestPositives += rows[i].TestPositives
	}
	for k, f := range fields(&avg) {
		*f = math.NaN()
		if counts[k] > 0 {
			*f = sums[k] / float64(counts[k])
		}
	}
	return avg
}
