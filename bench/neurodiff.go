package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/diff"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// DiffSetting is one row of NeuroDiff's ACAS Xu tables: a property box run on some networks against
// their 16-bit copies, the output compared and the eps, with NeuroDiff's published outcome (12 threads,
// 30 min a network).
type DiffSetting struct {
	Prop, Output int
	Nets         [][2]int
	Eps          float64
	// Published is NeuroDiff's count proved and total seconds; Undetermined when it proved none.
	PublishedProved  int
	PublishedSeconds float64
	Undetermined     bool
}

// Name is how tables show the setting, e.g. "p1 eps 0.05".
func (s DiffSetting) Name() string { return fmt.Sprintf("p%d eps %g", s.Prop, s.Eps) }

// neuroDiffPublished is NeuroDiff's (ASE 2020) ACAS Xu results: property, eps, proved, seconds.
var neuroDiffPublished = []struct {
	prop    int
	eps     float64
	proved  int
	seconds float64
}{
	{1, 0.05, 45, 343.3}, {7, 0.05, 1, 542.0}, {8, 0.05, 1, 71.7},
	{1, 0.01, 41, 11400.1}, {3, 0.01, 42, 14.25}, {4, 0.01, 42, 3.81}, {7, 0.01, 0, math.NaN()},
	{8, 0.01, 1, 1115.9}, {14, 0.01, 2, 1589.3},
}

// neuroDiffDir is the NeuroDiff data folder.
func neuroDiffDir() (string, error) {
	d, err := datasets.Dir()
	if err != nil {
		return "", err
	}
	nd := filepath.Join(d, "neurodiff")
	if _, err := os.Stat(nd); err != nil {
		return "", fmt.Errorf("NeuroDiff data: %w", err)
	}
	return nd, nil
}

// NeuroDiffACASXu lists the published ACAS Xu settings, with the networks and output each property is run
// on as the data's networks.csv gives them.
func NeuroDiffACASXu() ([]DiffSetting, error) {
	dir, err := neuroDiffDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "acas_properties", "networks.csv")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	type runOn struct {
		output int
		nets   [][2]int
	}
	props := map[int]runOn{}
	for k, r := range recs {
		if k == 0 {
			continue
		}
		if len(r) != 4 {
			return nil, fmt.Errorf("%s: line %d: %d fields, want 4", path, k+1, len(r))
		}
		p, e1 := strconv.Atoi(r[0])
		t, e2 := strconv.Atoi(r[1])
		if e1 != nil || e2 != nil {
			return nil, fmt.Errorf("%s: line %d: property and output must be integers", path, k+1)
		}
		var nets [][2]int
		for _, n := range strings.Fields(r[3]) {
			var i, j int
			if _, err := fmt.Sscanf(n, "N%d_%d", &i, &j); err != nil {
				return nil, fmt.Errorf("%s: line %d: network %q is not N<i>_<j>", path, k+1, n)
			}
			nets = append(nets, [2]int{i, j})
		}
		props[p] = runOn{t, nets}
	}
	var out []DiffSetting
	for _, pub := range neuroDiffPublished {
		ro, ok := props[pub.prop]
		if !ok {
			return nil, fmt.Errorf("%s: property %d is not listed", path, pub.prop)
		}
		out = append(out, DiffSetting{Prop: pub.prop, Output: ro.output, Nets: ro.nets, Eps: pub.eps,
			PublishedProved: pub.proved, PublishedSeconds: pub.seconds, Undetermined: pub.proved == 0})
	}
	return out, nil
}

// DiffRow is one network's outcome in a setting.
type DiffRow struct {
	Setting string
	Net     [2]int
	Result  diff.Result
	Err     string
}

// loadNeuroDiffPair reads N_{i,j} and its 16-bit copy.
func loadNeuroDiffPair(i, j int) (*nn.Network, *nn.Network, error) {
	dir, err := neuroDiffDir()
	if err != nil {
		return nil, nil, err
	}
	ap, err := datasets.ACASXuNet(i, j, "nnet")
	if err != nil {
		return nil, nil, err
	}
	a, err := nnet.ReadFile(ap)
	if err != nil {
		return nil, nil, err
	}
	b, err := nnet.ReadFile(filepath.Join(dir, "acasxu_16bit", fmt.Sprintf("ACASXU_run2a_%d_%d_batch_2000_16bit.nnet", i, j)))
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// RunNeuroDiff decides every network of every setting against its 16-bit copy on the property's box at
// the setting's output and eps, each within opt.Timeout, calling progress after each.
func RunNeuroDiff(ctx context.Context, settings []DiffSetting, opt verify.Options, progress func(DiffRow)) []DiffRow {
	dir, dirErr := neuroDiffDir()
	var rows []DiffRow
	for _, s := range settings {
		for _, n := range s.Nets {
			if ctx.Err() != nil {
				return rows
			}
			row := DiffRow{Setting: s.Name(), Net: n}
			err := dirErr
			var prop *property.Property
			if err == nil {
				prop, err = property.ReadFile(filepath.Join(dir, "acas_properties", fmt.Sprintf("neurodiff_prop_%d.vnnlib", s.Prop)))
			}
			var a, b *nn.Network
			if err == nil {
				a, b, err = loadNeuroDiffPair(n[0], n[1])
			}
			if err == nil {
				row.Result, err = diff.Verify(ctx, a, b, prop.Cases[0].Box, diff.Options{Eps: s.Eps, Output: s.Output, Verify: opt})
			}
			if err != nil {
				row.Err = err.Error()
			}
			rows = append(rows, row)
			if progress != nil {
				progress(row)
			}
		}
	}
	return rows
}

// DiffSummary is a setting's totals.
type DiffSummary struct {
	Setting                     string
	Networks, Proved, Violated  int
	Seconds                     float64
	PublishedProved             int
	PublishedSeconds            float64
	Undetermined, ProvedAsOften bool
}

// SummarizeNeuroDiff totals the rows per setting.
func SummarizeNeuroDiff(settings []DiffSetting, rows []DiffRow) []DiffSummary {
	var out []DiffSummary
	for _, s := range settings {
		sum := DiffSummary{Setting: s.Name(), PublishedProved: s.PublishedProved, PublishedSeconds: s.PublishedSeconds, Undetermined: s.Undetermined}
		for _, r := range rows {
			if r.Setting != s.Name() {
				continue
			}
			sum.Networks++
			sum.Seconds += r.Result.Seconds
			switch r.Result.Verdict {
			case verify.Certified:
				sum.Proved++
			case verify.Violated:
				sum.Violated++
			}
		}
		sum.ProvedAsOften = sum.Proved >= s.PublishedProved
		out = append(out, sum)
	}
	return out
}

// NeuroDiffMarkdown renders the summaries beside NeuroDiff's figures, then every network's outcome.
func NeuroDiffMarkdown(settings []DiffSetting, rows []DiffRow, timeout time.Duration) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# NeuroDiff's ACAS Xu tables: each network against its 16-bit copy\n\n")
	fmt.Fprintf(&b, "`birdnn bench neurodiff`: |N'(x)_t - N(x)_t| < eps on NeuroDiff's property boxes, at the output t each is run on; %v per network, 2 cores. NeuroDiff: 12 threads, 30 min per network.\n\n", timeout)
	fmt.Fprintf(&b, "| setting | networks | proved | violated | total s | NeuroDiff proved | NeuroDiff s |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range SummarizeNeuroDiff(settings, rows) {
		pub := fmt.Sprintf("%d", s.PublishedProved)
		pubS := fmt.Sprintf("%.1f", s.PublishedSeconds)
		if s.Undetermined {
			pub, pubS = "undetermined", "-"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.1f | %s | %s |\n", s.Setting, s.Networks, s.Proved, s.Violated, s.Seconds, pub, pubS)
	}
	fmt.Fprintf(&b, "\n| setting | network | verdict | seconds | boxes |\n|---|---|---|---:|---:|\n")
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | N%d,%d | error: %s | | |\n", r.Setting, r.Net[0], r.Net[1], r.Err)
			continue
		}
		fmt.Fprintf(&b, "| %s | N%d,%d | %s | %.2f | %d |\n", r.Setting, r.Net[0], r.Net[1], r.Result.Verdict, r.Result.Seconds, r.Result.Boxes)
	}
	return b.Bytes()
}
