package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/repair"
	"github.com/birdnn/birdnn/samplewise"
)

// RepairTask is one instance of the Veritex repair benchmark: a network and the properties it must be
// repaired against together, over their whole boxes.
type RepairTask struct {
	I, J  int
	Props []int
}

// Name is e.g. "N2,1 p1-4".
func (t RepairTask) Name() string {
	var p []string
	for _, k := range t.Props {
		p = append(p, fmt.Sprint(k))
	}
	return fmt.Sprintf("N%d,%d p%s", t.I, t.J, strings.Join(p, ","))
}

// Veritex35 lists the 35 unsafe instances of the Veritex repair benchmark: the 33 networks that violate
// some of properties 1-4 (all but N1,1-N1,8, N3,3 and N4,2, which violate none of properties 1-10, and
// N1,9 and N2,9), each against properties 1-4 together; N1,9 against property 7; N2,9 against properties
// 1-4 and 8.
func Veritex35() []RepairTask {
	safe := map[[2]int]bool{{3, 3}: true, {4, 2}: true, {1, 9}: true, {2, 9}: true}
	for j := 1; j <= 8; j++ {
		safe[[2]int{1, j}] = true
	}
	var out []RepairTask
	for i := 1; i <= 5; i++ {
		for j := 1; j <= 9; j++ {
			if !safe[[2]int{i, j}] {
				out = append(out, RepairTask{I: i, J: j, Props: []int{1, 2, 3, 4}})
			}
		}
	}
	return append(out, RepairTask{I: 1, J: 9, Props: []int{7}}, RepairTask{I: 2, J: 9, Props: []int{1, 2, 3, 4, 8}})
}

// Config returns the domain-wise repair config of the task, from base (whose network and properties it
// replaces).
func (t RepairTask) Config(base *configs.Repair) *configs.Repair {
	cfg := *base
	cfg.Mode = "domain"
	cfg.Network = fmt.Sprintf("data:acasxu/nnet/ACASXU_run2a_%d_%d_batch_2000.nnet", t.I, t.J)
	cfg.Property = ""
	cfg.Properties = nil
	for _, k := range t.Props {
		cfg.Properties = append(cfg.Properties, fmt.Sprintf("data:acasxu/vnnlib/prop_%d.vnnlib", k))
	}
	return &cfg
}

// RepairRow is one task's outcome.
type RepairRow struct {
	Task      string
	Certified bool
	Verdict   string
	Rounds    int
	// Fidelity on 5000 uniform samples of the whole domain (Veritex's accuracy), and on in-box samples
	// that were already safe.
	DomainFidelity, InBoxFidelity float64
	// Fidelity100k is the domain fidelity on 100,000 more uniform samples (NaN in rows read back from CSVs
	// written before it).
	Fidelity100k             float64
	VerifierSeconds, Seconds float64
	// Drift and DecisionProved are the report's certified drift outside the property's boxes and the
	// domain volume (percent) proved to keep its advisory; NaN without (and in rows read back from CSV).
	Drift, DecisionProved float64
	Err                   string
	// Result is the repair itself (network and report; nil after an error), for the caller to keep: it is
	// not part of the CSV.
	Result *repair.Result
}

// belowFloor marks the verdict of a certified task whose domain fidelity is below domain.fidelity_floor.
const belowFloor = " (below fidelity floor)"

// RunRepair runs domain-wise repair on every task with base's settings, calling progress after each. When
// ctx ends it stops, without a row for the task under way.
func RunRepair(ctx context.Context, tasks []RepairTask, base *configs.Repair, progress func(RepairRow)) []RepairRow {
	var rows []RepairRow
	for _, t := range tasks {
		row := RepairRow{Task: t.Name(), Drift: math.NaN(), DecisionProved: math.NaN(), Fidelity100k: math.NaN()}
		cfg := t.Config(base)
		var res *repair.Result
		p, err := samplewise.Load(ctx, cfg)
		if err == nil {
			res, err = repair.RunProblem(ctx, cfg, p, nil)
		}
		if ctx.Err() != nil {
			break // interrupted: the task under way is not a result (--resume runs it again)
		}
		if err != nil {
			row.Err = err.Error()
		} else {
			row.Result = res
			r := res.Report
			row.Certified, row.Verdict, row.Rounds = r.Domain.Certified, r.Domain.Verdict, r.Domain.Rounds
			if r.Domain.BelowFloor != "" {
				row.Verdict += belowFloor
			}
			row.DomainFidelity, row.InBoxFidelity = float64(r.Fidelity.Domain), float64(r.Fidelity.HeldOutPositives)
			row.VerifierSeconds, row.Seconds = r.Domain.VerifierSeconds, r.Seconds["total"]
			if r.Drift != nil {
				row.Drift, row.DecisionProved = r.Drift.Outside, r.Drift.DecisionProved
			}
			if box, _, ok := p.Net.DomainBox(p.Prop); ok {
				x := box.Sample(rand.New(rand.NewPCG(cfg.Seed, 100)), 100000)
				row.Fidelity100k = p.Agreement(p.Net.Forward(x), res.Repaired.Forward(x), p.Net.Outputs())
			}
		}
		rows = append(rows, row)
		if progress != nil {
			progress(row)
		}
	}
	return rows
}

// VeritexMarkdown renders the rows beside Veritex's and ART's published results.
func VeritexMarkdown(title string, rows []RepairRow) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", title)
	b.WriteString("| task | verdict | rounds | fidelity (domain) | fidelity (100,000) | fidelity (safe in-box) | certified drift | decision proved | verifier s | total s |\n|---|---|---|---|---|---|---|---|---|---|\n")
	var fid, fid100k, secs []float64
	certified := 0
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | error: %s | | | | | | | | |\n", r.Task, cell(r.Err))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.2f%% | %s%% | %.2f%% | %s | %s%% | %.1f | %.1f |\n", r.Task, r.Verdict, r.Rounds, r.DomainFidelity, pct3(r.Fidelity100k), r.InBoxFidelity, num(r.Drift), pct(r.DecisionProved), r.VerifierSeconds, r.Seconds)
		if !math.IsNaN(r.Fidelity100k) {
			fid100k = append(fid100k, r.Fidelity100k)
		}
		if r.Certified {
			certified++
		}
		fid = append(fid, r.DomainFidelity)
		secs = append(secs, r.Seconds)
	}
	b.WriteString("\n| | certified | fidelity min / mean / max | on 100,000 samples | time min / median / max (s) |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| birdnn (2 cores) | %d/%d | %s | %s | %s |\n", certified, len(rows), summary(fid, "%.2f%%", false), summary(fid100k, "%.3f%%", false), summary(secs, "%.1f", true))
	b.WriteString("| Veritex (published, 48 vCPUs) | 35/35 | 98.74% / 99.70% / 100% | | 9.6 / 72.4 / 265.4 (N1,9: 11250.7, N2,9: 2484.1) |\n")
	b.WriteString("| ART (published) | 34/35 | mean 94.57% | | |\n")
	return b.Bytes()
}

// summary formats min / mean (or median) / max of v.
func summary(v []float64, format string, median bool) string {
	if len(v) == 0 {
		return "n/a"
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	mid := 0.0
	if median {
		mid = s[len(s)/2]
		if len(s)%2 == 0 {
			mid = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
	} else {
		for _, x := range s {
			mid += x
		}
		mid /= float64(len(s))
	}
	f := func(x float64) string {
		if math.IsNaN(x) {
			return "n/a"
		}
		return fmt.Sprintf(format, x)
	}
	return f(s[0]) + " / " + f(mid) + " / " + f(s[len(s)-1])
}

// RepairCSV renders the rows as CSV (header task,verdict,rounds,domain_fidelity,inbox_fidelity,
// verifier_seconds,seconds,error,drift,decision_proved,domain_fidelity_100k); ReadRepairCSV reads it
// back.
func RepairCSV(rows []RepairRow) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(repairCSVHeader)
	for _, r := range rows {
		w.Write([]string{r.Task, r.Verdict, strconv.Itoa(r.Rounds), fmt.Sprintf("%.4f", r.DomainFidelity),
			fmt.Sprintf("%.4f", r.InBoxFidelity), fmt.Sprintf("%.2f", r.VerifierSeconds), fmt.Sprintf("%.2f", r.Seconds), r.Err,
			strconv.FormatFloat(r.Drift, 'g', 6, 64), strconv.FormatFloat(r.DecisionProved, 'g', 6, 64), strconv.FormatFloat(r.Fidelity100k, 'f', 4, 64)})
	}
	w.Flush()
	return b.Bytes()
}

var repairCSVHeader = []string{"task", "verdict", "rounds", "domain_fidelity", "inbox_fidelity", "verifier_seconds", "seconds", "error", "drift", "decision_proved", "domain_fidelity_100k"}

// ReadRepairCSV parses what RepairCSV wrote, so that an interrupted benchmark can resume.
func ReadRepairCSV(data []byte) ([]RepairRow, error) {
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, err
	}
	// Files written before the drift columns have the first eight, before the 100,000-sample fidelity ten.
	if len(recs) == 0 || !(slices.Equal(recs[0], repairCSVHeader) || slices.Equal(recs[0], repairCSVHeader[:10]) || slices.Equal(recs[0], repairCSVHeader[:8])) {
		return nil, fmt.Errorf("not a repair benchmark CSV (want the header %s)", strings.Join(repairCSVHeader, ","))
	}
	var rows []RepairRow
	for i, rec := range recs[1:] {
		r := RepairRow{Task: rec[0], Verdict: rec[1], Err: rec[7], Drift: math.NaN(), DecisionProved: math.NaN(), Fidelity100k: math.NaN()}
		var errs [5]error
		r.Rounds, errs[0] = strconv.Atoi(rec[2])
		r.DomainFidelity, errs[1] = strconv.ParseFloat(rec[3], 64)
		r.InBoxFidelity, errs[2] = strconv.ParseFloat(rec[4], 64)
		r.VerifierSeconds, errs[3] = strconv.ParseFloat(rec[5], 64)
		r.Seconds, errs[4] = strconv.ParseFloat(rec[6], 64)
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("line %d: %w", i+2, e)
			}
		}
		if len(rec) >= 10 {
			var e1, e2 error
			r.Drift, e1 = strconv.ParseFloat(rec[8], 64)
			r.DecisionProved, e2 = strconv.ParseFloat(rec[9], 64)
			if e1 != nil || e2 != nil {
				return nil, fmt.Errorf("line %d: drift %q, decision proved %q: not numbers", i+2, rec[8], rec[9])
			}
		}
		if len(rec) == 11 {
			if r.Fidelity100k, err = strconv.ParseFloat(rec[10], 64); err != nil {
				return nil, fmt.Errorf("line %d: fidelity on 100,000 samples %q: %w", i+2, rec[10], err)
			}
		}
		r.Certified = strings.TrimSuffix(r.Verdict, belowFloor) == "certified"
		rows = append(rows, r)
	}
	return rows, nil
}
