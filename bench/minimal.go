package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// MinimalACASRow is one correction of ACAS Xu N2,9 on some of Goldberger et al.'s counterexamples.
type MinimalACASRow struct {
	Inputs string `json:"inputs"` // e.g. "0-6"
	Setup  string `json:"setup"`  // which entries may change, and the norm
	// Published is the paper's value for this setup (0: none published); PublishedNote its kind.
	Published     float64         `json:"published,omitempty"`
	PublishedNote string          `json:"published_note,omitempty"`
	Result        *minimal.Result `json:"result"`
}

// MinimalACASFidelity measures the network corrected on all seven inputs.
type MinimalACASFidelity struct {
	// AuthorsSet is the argmin agreement with N2,9 on the authors' 10,000 inputs (percent); Uniform on
	// 100,000 uniform samples of the input domain (seed 1).
	AuthorsSet float64 `json:"authors_set"`
	Uniform    float64 `json:"uniform"`
	// Advisories of the eight counterexamples after the correction (the paper's 8th, not in its LP, too).
	Advisories []int `json:"advisories"`
	// Property8 is the verifier's verdict on property 8 over its box, and its seconds; Property8Before
	// the original's.
	Property8        string  `json:"property8"`
	Property8Seconds float64 `json:"property8_seconds"`
	Property8Before  string  `json:"property8_before"`
}

// MinimalACAS is the N2,9 table.
type MinimalACAS struct {
	Rows     []MinimalACASRow    `json:"rows"`
	Fidelity MinimalACASFidelity `json:"fidelity"`
}

// acasN29Rows are the LP's constraints on one counterexample, as the authors wrote them: COC (0) and
// weak left (1) each at least 0.01 below weak right, strong left and strong right (2, 3, 4).
func acasN29Rows() []minimal.Row {
	var rows []minimal.Row
	for _, i := range []int{2, 3, 4} {
		for _, j := range []int{0, 1} {
			c := make([]float64, 5)
			c[i], c[j] = 1, -1
			rows = append(rows, minimal.Row{Coef: c, Bound: 0.01})
		}
	}
	return rows
}

// RunMinimalACAS reproduces Goldberger et al.'s correction of ACAS Xu N2,9 against property 8: the least
// L-infinity change of the last layer that puts COC and weak left 0.01 below the other advisories on
// their counterexample inputs, beside the published LP values; the same with the weights alone and with
// the L1 norm; then the fidelity and property 8 of the network corrected on all seven, the verifier
// given verifyTimeout.
func RunMinimalACAS(ctx context.Context, verifyTimeout time.Duration) (*MinimalACAS, error) {
	dir, err := datasets.Dir()
	if err != nil {
		return nil, err
	}
	netPath, err := datasets.ACASXuNet(2, 9, "nnet")
	if err != nil {
		return nil, err
	}
	net, err := netio.Load(netPath)
	if err != nil {
		return nil, err
	}
	cxPath := filepath.Join(dir, "goldberger", "acas_n29", "counterexamples.csv")
	cx, err := readCSVColumns(cxPath, []string{"x0", "x1", "x2", "x3", "x4"})
	if err != nil {
		return nil, err
	}
	if len(cx) != 8 {
		return nil, fmt.Errorf("%s: %d rows, want 8", cxPath, len(cx))
	}
	var inputs []minimal.Input
	var all8 []float64
	for r, x := range cx {
		all8 = append(all8, x...)
		if r < 7 {
			inputs = append(inputs, minimal.Input{X: x, Rows: acasN29Rows()})
		}
	}
	out := &MinimalACAS{}
	setups := []struct {
		name string
		opt  minimal.Options
	}{
		{"weights and biases, L-infinity (the paper's LP)", minimal.Options{Layer: -1, Norm: minimal.LInf, Bias: true}},
		{"weights only, L-infinity", minimal.Options{Layer: -1, Norm: minimal.LInf}},
		{"weights and biases, L1", minimal.Options{Layer: -1, Norm: minimal.L1, Bias: true}},
	}
	published := map[int]float64{2: 0.0016116609359367417, 3: 0.0016116609359367417, 4: 0.0016116609359367417, 7: 0.0017419112814297166}
	var corrected *nn.Network
	for _, su := range setups {
		for _, n := range []int{1, 2, 3, 4, 7} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			res, err := minimal.Solve(ctx, net, inputs[:n], su.opt)
			if err != nil {
				return nil, fmt.Errorf("N2,9 on inputs 0-%d, %s: %w", n-1, su.name, err)
			}
			row := MinimalACASRow{Inputs: fmt.Sprintf("0-%d", n-1), Setup: su.name, Result: res}
			if su.opt.Norm == minimal.LInf && su.opt.Bias {
				if v, ok := published[n]; ok {
					row.Published, row.PublishedNote = v, "LP (Gurobi)"
				}
				if n == 7 {
					corrected = res.Net
				}
			}
			if su.opt.Norm == minimal.L1 && n == 7 {
				row.Published, row.PublishedNote = 0.013427734375, "Marabou L1 bisection: (0.01281738, 0.01342773)"
			}
			out.Rows = append(out.Rows, row)
		}
	}
	// Fidelity of the network corrected on all seven.
	rs, err := datasets.ReadCSVFile(filepath.Join(dir, "goldberger", "acas_n29", "random_inputs.csv"), 0)
	if err != nil {
		return nil, err
	}
	var xs []float64
	for r := 0; r < rs.Rows(); r++ {
		xs = append(xs, rs.Row(r)[:5]...)
	}
	out.Fidelity.AuthorsSet = nn.Agreement(net.Forward(xs), corrected.Forward(xs), 5)
	prop, err := acasProperty(8)
	if err != nil {
		return nil, err
	}
	box, _, _ := net.DomainBox(prop)
	u := box.Sample(rand.New(rand.NewPCG(1, 1)), 100000)
	out.Fidelity.Uniform = nn.Agreement(net.Forward(u), corrected.Forward(u), 5)
	y := corrected.Forward(all8)
	for r := 0; r < len(all8)/5; r++ {
		out.Fidelity.Advisories = append(out.Fidelity.Advisories, nn.Argmin(y[r*5:(r+1)*5]))
	}
	before := verify.Verify(ctx, net, prop, verify.Options{Timeout: verifyTimeout})
	after := verify.Verify(ctx, corrected, prop, verify.Options{Timeout: verifyTimeout})
	out.Fidelity.Property8Before = string(before.Verdict)
	out.Fidelity.Property8, out.Fidelity.Property8Seconds = string(after.Verdict), after.Seconds
	return out, ctx.Err()
}

// acasProperty reads ACAS Xu property k.
func acasProperty(k int) (*property.Property, error) {
	path, err := datasets.ACASXuProperty(k)
	if err != nil {
		return nil, err
	}
	return property.ReadFile(path)
}

// Markdown renders the N2,9 table beside the published values.
func (m *MinimalACAS) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Minimal change of ACAS Xu N2,9's last layer (Goldberger et al., LPAR 2020)\n\n")
	b.WriteString("Constraints on each counterexample input (goldberger/acas_n29/counterexamples.csv, rows as listed): outputs 0 and 1 ")
	b.WriteString("at least 0.01 below outputs 2, 3 and 4, as the authors' LP states them. Optimum: the least norm of the change; ")
	b.WriteString("certified: the weak-duality lower bound from the solver's multipliers (no smaller change of the layer satisfies the rows). ")
	b.WriteString("The authors' LP also moved the output biases (their Marabou network ties each bias change to a weight's), ")
	b.WriteString("hence the first setup; their Keras weights differ from the .nnet's by up to 4.2e-7.\n\n")
	b.WriteString("| inputs | setup | optimum | certified lower bound | published | relative difference | rows x cols (nonzeros) | iterations | seconds | rows violated after |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|---:|---:|---:|\n")
	for _, r := range m.Rows {
		res := r.Result
		pub, diff := "", ""
		if r.Published != 0 {
			pub = fmt.Sprintf("%.10g (%s)", r.Published, r.PublishedNote)
			if r.PublishedNote == "LP (Gurobi)" {
				diff = fmt.Sprintf("%.2g", math.Abs(res.Objective-r.Published)/r.Published)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %.10g | %.10g | %s | %s | %d x %d (%d) | %d | %.3f | %d |\n", r.Inputs, r.Setup, res.Objective, res.LowerBound, pub, diff,
			res.Rows, res.Cols, res.Nonzeros, res.Iterations, res.Seconds, res.Violated)
	}
	f := m.Fidelity
	b.WriteString("\n## The network corrected on inputs 0-6 (weights and biases, L-infinity)\n\n")
	fmt.Fprintf(&b, "- Argmin agreement with N2,9: %.2f%% on the authors' 10,000 inputs (random_inputs.csv), %.3f%% on 100,000 uniform samples of the domain.\n", f.AuthorsSet, f.Uniform)
	fmt.Fprintf(&b, "- Advisories of the eight counterexamples after the change (row 7 was not in the LP): %v (before: all 3).\n", f.Advisories)
	fmt.Fprintf(&b, "- Property 8 over its box: before %s; after %s (%.1f s). The LP fixes finitely many inputs; it proves nothing of the box.\n", f.Property8Before, f.Property8, f.Property8Seconds)
	return b.Bytes()
}

// readCSVColumns reads the named numeric columns of a CSV file with a header (other columns may hold
// text), one slice a row.
func readCSVColumns(path string, cols []string) ([][]float64, error) {
	recs, err := readCSVRecords(path)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = slices.Index(recs[0], c)
		if idx[i] < 0 {
			return nil, fmt.Errorf("%s: no column %q", path, c)
		}
	}
	var out [][]float64
	for r, rec := range recs[1:] {
		row := make([]float64, len(cols))
		for i, k := range idx {
			if k >= len(rec) {
				return nil, fmt.Errorf("%s: line %d has %d fields", path, r+2, len(rec))
			}
			if row[i], err = strconv.ParseFloat(rec[k], 64); err != nil {
				return nil, fmt.Errorf("%s: line %d, column %s: %w", path, r+2, cols[i], err)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// WatermarkOptions set the watermark-removal table.
type WatermarkOptions struct {
	// Ks are the numbers of watermarks removed together (default 1-7, 25, 50, 75, 100).
	Ks []int
	// Subsets is how many seeded random subsets are removed for 1 < k < 100 (default 10), and how many
	// runs each k gets in the keep variant; k = 1 removes each of the 100 watermarks on its own.
	Subsets int
	Seed    uint64
	// Norms to run (default both).
	Norms []minimal.Norm
	// Keep is how many clean training images (the first that the model classifies correctly) must keep
	// their class in the keep variant (0: no keep variant).
	Keep int
	// KeepOnly skips the paper's setting (no keep rows) when Keep > 0.
	KeepOnly bool
	// Margin is how far the runner-up must overtake a watermark's label (logits; default 1e-3).
	Margin float64
}

func (o *WatermarkOptions) defaults() {
	if len(o.Ks) == 0 {
		o.Ks = []int{1, 2, 3, 4, 5, 6, 7, 25, 50, 75, 100}
	}
	if o.Subsets <= 0 {
		o.Subsets = 10
	}
	if len(o.Norms) == 0 {
		o.Norms = []minimal.Norm{minimal.LInf, minimal.L1}
	}
	if o.Margin == 0 {
		o.Margin = 1e-3
	}
}

// WatermarkRow is one k, norm and variant of the removal table: figures over its runs.
type WatermarkRow struct {
	K    int    `json:"k"`
	Norm string `json:"norm"`
	// Keep is the number of clean training images held to their class (0: the paper's setting).
	Keep int `json:"keep"`
	Runs int `json:"runs"`
	// Change is the norm of the change (avg, min, max over the runs); Accuracy the test accuracy in
	// percent; Removed the share of the targeted watermarks no longer classified as their label; Others
	// the share of the other watermarks still classified as theirs.
	ChangeAvg, ChangeMin, ChangeMax       float64
	AccuracyAvg, AccuracyMin, AccuracyMax float64
	Removed, Others                       float64
	// WorstGap is the largest relative gap between an optimum and its certified lower bound.
	WorstGap float64
	// Rows is the largest program (rows x cols) and Seconds the mean solve time.
	Rows, Cols int
	Seconds    float64
	Infeasible int
	Err        string `json:"err,omitempty"`
}

// watermarkPublished is the paper's L-infinity table: k -> avg, min, max change, avg, min, max accuracy.
var watermarkPublished = map[int][6]float64{
	1: {0.3421, 0.3006, 0.3781, 0.8744, 0.8574, 0.8848}, 2: {0.4283, 0.3038, 1.8301, 0.7888, 0.7592, 0.8846},
	3: {0.5334, 0.3264, 1.7884, 0.7106, 0.6639, 0.8761}, 4: {0.6846, 0.3305, 1.7941, 0.6441, 0.5661, 0.8756},
	5: {0.7943, 0.3347, 1.8684, 0.5887, 0.4703, 0.7962}, 6: {0.8931, 0.3451, 1.8301, 0.5343, 0.3788, 0.7848},
	7: {1.0459, 0.3401, 1.9098, 0.4827, 0.2827, 0.7844}, 25: {1.8641, 1.4481, 2.0896, 0.0949, 0.0027, 0.4100},
	50: {2.0452, 1.8954, 2.1521, 0.0489, 0.0023, 0.2006}, 75: {2.1260, 2.0317, 2.1743, 0.0595, 0.0028, 0.1809},
	100: {2.1763, 0, 0, 0.0511, 0, 0},
}

// watermarkPublishedL1 is the paper's Marabou (sum of |changes|) table: k -> avg change, avg accuracy.
var watermarkPublishedL1 = map[int][2]float64{1: {27.95, 0.9411}, 2: {51.12, 0.9030}, 3: {73.52, 0.8618}, 4: {98.39, 0.8629}, 5: {118.09, 0.8560}}

// RunWatermark removes watermarks from Goldberger et al.'s MNIST model by the least change of its last
// layer: for each k, norm and variant, the runs' change and test accuracy (done is called after each row).
func RunWatermark(ctx context.Context, opt WatermarkOptions, done func(WatermarkRow)) ([]WatermarkRow, error) {
	opt.defaults()
	dir, err := datasets.Dir()
	if err != nil {
		return nil, err
	}
	g := filepath.Join(dir, "goldberger")
	net, err := netio.Load(filepath.Join(g, "mnist_w_wm.nnet"))
	if err != nil {
		return nil, err
	}
	wm, err := datasets.ReadCSVFile(filepath.Join(g, "wm_images.csv"), 784)
	if err != nil {
		return nil, err
	}
	lab, err := datasets.ReadCSVFile(filepath.Join(g, "wm_labels.csv"), 2)
	if err != nil {
		return nil, err
	}
	if wm.Rows() != lab.Rows() {
		return nil, fmt.Errorf("%d watermark images but %d labels", wm.Rows(), lab.Rows())
	}
	nwm := wm.Rows()
	labels := make([]int, nwm)
	for i := range labels {
		labels[i] = int(lab.Row(i)[1])
	}
	test, err := datasets.MNIST("test")
	if err != nil {
		return nil, err
	}
	scale := func(x []float64) []float64 { // the model takes raw pixels 0-255
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = 255 * v
		}
		return out
	}
	tx := scale(test.Data)
	var keep []minimal.Input
	if opt.Keep > 0 {
		train, err := datasets.MNIST("train")
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(train.Labels) && len(keep) < opt.Keep; i++ {
			x := scale(train.Data[i*784 : (i+1)*784])
			y := net.Forward(x)
			p := nn.Argmax(y)
			if p != train.Labels[i] {
				continue
			}
			rows := minimal.DecisionRows(10, p, true, 0)
			keep = append(keep, minimal.Input{X: x, Rows: rows})
		}
	}
	removal := func(i int) minimal.Input {
		x := wm.Row(i)
		y := net.Forward(x)
		l, sec := labels[i], -1
		for j := 0; j < 10; j++ {
			if j != l && (sec < 0 || y[j] > y[sec]) {
				sec = j
			}
		}
		c := make([]float64, 10)
		c[sec], c[l] = 1, -1
		return minimal.Input{X: x, Rows: []minimal.Row{{Coef: c, Bound: opt.Margin}}}
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 38))
	subsets := map[int][][]int{}
	for _, k := range opt.Ks {
		switch {
		case k <= 0 || k > nwm:
			return nil, fmt.Errorf("k = %d: want 1 to %d watermarks", k, nwm)
		case k == 1:
			for i := 0; i < nwm; i++ {
				subsets[k] = append(subsets[k], []int{i})
			}
		case k == nwm:
			subsets[k] = [][]int{rng.Perm(nwm)}
		default:
			for s := 0; s < opt.Subsets; s++ {
				subsets[k] = append(subsets[k], rng.Perm(nwm)[:k])
			}
		}
	}
	variants := []int{0}
	if opt.Keep > 0 {
		variants = append(variants, len(keep))
		if opt.KeepOnly {
			variants = variants[1:]
		}
	}
	var rows []WatermarkRow
	for _, nk := range variants {
		for _, norm := range opt.Norms {
			for _, k := range opt.Ks {
				if err := ctx.Err(); err != nil {
					return rows, err
				}
				runs := subsets[k]
				if nk > 0 && len(runs) > opt.Subsets {
					runs = runs[:opt.Subsets]
				}
				row := WatermarkRow{K: k, Norm: norm.String(), Keep: nk, ChangeMin: math.Inf(1), AccuracyMin: math.Inf(1)}
				removed, others, nothers := 0, 0, 0
				for _, set := range runs {
					var ins []minimal.Input
					for _, i := range set {
						ins = append(ins, removal(i))
					}
					if nk > 0 {
						ins = append(ins, keep...)
					}
					res, err := minimal.Solve(ctx, net, ins, minimal.Options{Layer: -1, Norm: norm, Lazy: nk > 0})
					if err != nil {
						if ctx.Err() != nil {
							return rows, ctx.Err()
						}
						row.Infeasible++
						row.Err = err.Error()
						continue
					}
					row.Runs++
					acc := 100 * classAccuracy(res.Net, tx, test.Labels)
					row.ChangeAvg += res.Change
					row.ChangeMin, row.ChangeMax = min(row.ChangeMin, res.Change), max(row.ChangeMax, res.Change)
					row.AccuracyAvg += acc
					row.AccuracyMin, row.AccuracyMax = min(row.AccuracyMin, acc), max(row.AccuracyMax, acc)
					row.WorstGap = max(row.WorstGap, res.Gap)
					row.Rows, row.Cols = max(row.Rows, res.Rows), max(row.Cols, res.Cols)
					row.Seconds += res.Seconds
					in := map[int]bool{}
					for _, i := range set {
						in[i] = true
					}
					y := res.Net.Forward(wm.Data)
					for i := 0; i < nwm; i++ {
						hit := nn.Argmax(y[i*10:(i+1)*10]) == labels[i]
						if in[i] && !hit {
							removed++
						}
						if !in[i] {
							nothers++
							if hit {
								others++
							}
						}
					}
				}
				if row.Runs > 0 {
					n := float64(row.Runs)
					row.ChangeAvg /= n
					row.AccuracyAvg /= n
					row.Seconds /= n
					row.Removed = 100 * float64(removed) / float64(row.Runs*k)
					if nothers > 0 {
						row.Others = 100 * float64(others) / float64(nothers)
					}
				}
				rows = append(rows, row)
				if done != nil {
					done(row)
				}
			}
		}
	}
	return rows, nil
}

// classAccuracy is the share of rows of x whose highest output is their label.
func classAccuracy(net *nn.Network, x []float64, labels []int) float64 {
	y := net.Forward(x)
	m := net.Outputs()
	hit := 0
	for i, l := range labels {
		if nn.Argmax(y[i*m:(i+1)*m]) == l {
			hit++
		}
	}
	return float64(hit) / float64(len(labels))
}

// WatermarkMarkdown renders the removal tables beside the paper's.
func WatermarkMarkdown(rows []WatermarkRow, opt WatermarkOptions) []byte {
	opt.defaults()
	var b bytes.Buffer
	b.WriteString("# Watermark removal by the least change of the last layer (Goldberger et al., LPAR 2020)\n\n")
	b.WriteString("goldberger/mnist_w_wm (784-150-10, raw pixels, 96.84% test accuracy) and its 100 watermark images. ")
	fmt.Fprintf(&b, "Each run asks the runner-up class of every removed watermark to beat its label by %g (logits) and changes the ", opt.Margin)
	fmt.Fprintf(&b, "150 x 10 output weights by the least L-infinity or L1 norm. k = 1 removes each watermark alone (100 runs); 1 < k < 100 removes %d ", opt.Subsets)
	fmt.Fprintf(&b, "random subsets (seed %d); k = 100 all. Accuracy: the 10,000 MNIST test images. Removed: targeted watermarks no longer ", opt.Seed)
	b.WriteString("classified as their label; others: the remaining watermarks still recognized. Published (in parentheses): the paper's ")
	b.WriteString("LP table (avg change [min, max], avg accuracy [min, max]) and its Marabou L1 table (avg change, avg accuracy).")
	if opt.Keep > 0 {
		fmt.Fprintf(&b, " Keep rows: %d clean training images (the first the model gets right) must keep their class (hard rows, added lazily); their runs are the first %d of each k.", opt.Keep, opt.Subsets)
	}
	b.WriteString("\n\n| norm | keep | k | runs | change avg [min, max] | published | test accuracy % avg [min, max] | published | removed % | others kept % | worst certificate gap | largest program | s a run |\n")
	b.WriteString("|---|---:|---:|---:|---|---|---|---|---:|---:|---:|---|---:|\n")
	for _, r := range rows {
		pubC, pubA := "", ""
		if r.Norm == "linf" && r.Keep == 0 {
			if p, ok := watermarkPublished[r.K]; ok {
				pubC, pubA = fmt.Sprintf("%.4f [%.4f, %.4f]", p[0], p[1], p[2]), fmt.Sprintf("%.2f [%.2f, %.2f]", 100*p[3], 100*p[4], 100*p[5])
				if r.K == 100 {
					pubC, pubA = fmt.Sprintf("%.4f", p[0]), fmt.Sprintf("%.2f", 100*p[3])
				}
			}
		}
		if r.Norm == "l1" && r.Keep == 0 {
			if p, ok := watermarkPublishedL1[r.K]; ok {
				pubC, pubA = fmt.Sprintf("%.2f (Marabou)", p[0]), fmt.Sprintf("%.2f", 100*p[1])
			}
		}
		if r.Runs == 0 {
			fmt.Fprintf(&b, "| %s | %d | %d | 0 | %s | %s | | %s | | | | | |\n", r.Norm, r.Keep, r.K, cell(r.Err), pubC, pubA)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.4f [%.4f, %.4f] | %s | %.2f [%.2f, %.2f] | %s | %.1f | %.1f | %.1g | %d x %d | %.2f |\n",
			r.Norm, r.Keep, r.K, r.Runs, r.ChangeAvg, r.ChangeMin, r.ChangeMax, pubC, r.AccuracyAvg, r.AccuracyMin, r.AccuracyMax, pubA,
			r.Removed, r.Others, r.WorstGap, r.Rows, r.Cols, r.Seconds)
	}
	return b.Bytes()
}

// readCSVRecords reads a whole CSV file as text fields.
func readCSVRecords(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}
