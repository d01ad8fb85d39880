// Command crosscheck checks the repaired networks of a `birdnn bench veritex-35` run with code that shares
// nothing with birdnn: its own .nnet reader and forward pass, and the ACAS Xu properties as Katz et al.
// (2017) state them, in physical units. For each task it attacks the repaired network on the property's
// boxes (uniform samples, then coordinate-wise descent on the safety margin from the worst ones) and
// measures the argmin agreement with the original network on uniform samples of the whole input domain.
//
//	go run ./tools/crosscheck [-samples 100000] [-attack 20000] RUN_DIR > RUN_DIR/crosscheck.md
//
// RUN_DIR is a veritex-35 output folder (its tasks/<task>/repaired.nnet); the originals are read from
// $BIRDNN_DATA/acasxu/nnet (default ../shared/datasets).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// net is a .nnet network: relu hidden layers, a linear output, input clipping and normalization.
type net struct {
	sizes             []int
	w, b              [][]float64 // per layer, row-major out x in, and biases
	min, max          []float64
	mean, rng         []float64 // inputs, then the output
	outMean, outRange float64
}

func readNNet(path string) (*net, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var vals [][]float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		var row []float64
		for _, s := range strings.Split(strings.TrimSuffix(line, ","), ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", path, line, err)
			}
			row = append(row, v)
		}
		vals = append(vals, row)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(vals) < 7 {
		return nil, fmt.Errorf("%s: %d lines, too short for a .nnet", path, len(vals))
	}
	n := &net{}
	layers := int(vals[0][0])
	for _, s := range vals[1] {
		n.sizes = append(n.sizes, int(s))
	}
	if len(n.sizes) != layers+1 {
		return nil, fmt.Errorf("%s: %d layer sizes for %d layers", path, len(n.sizes), layers)
	}
	in := n.sizes[0]
	n.min, n.max = vals[3], vals[4]
	n.mean, n.rng = vals[5][:in], vals[6][:in]
	n.outMean, n.outRange = vals[5][in], vals[6][in]
	k := 7
	for l := 0; l < layers; l++ {
		a, o := n.sizes[l], n.sizes[l+1]
		w := make([]float64, 0, a*o)
		for r := 0; r < o; r++ {
			if k >= len(vals) || len(vals[k]) != a {
				return nil, fmt.Errorf("%s: layer %d: weight row %d malformed", path, l, r)
			}
			w = append(w, vals[k]...)
			k++
		}
		b := make([]float64, 0, o)
		for r := 0; r < o; r++ {
			if k >= len(vals) || len(vals[k]) != 1 {
				return nil, fmt.Errorf("%s: layer %d: bias %d malformed", path, l, r)
			}
			b = append(b, vals[k][0])
			k++
		}
		n.w, n.b = append(n.w, w), append(n.b, b)
	}
	return n, nil
}

// eval returns the raw-unit advisory scores of a physical input (clipped and normalized as .nnet says).
func (n *net) eval(raw []float64) []float64 {
	h := make([]float64, len(raw))
	for i, x := range raw {
		x = math.Min(math.Max(x, n.min[i]), n.max[i])
		h[i] = (x - n.mean[i]) / n.rng[i]
	}
	for l := range n.w {
		a, o := n.sizes[l], n.sizes[l+1]
		next := make([]float64, o)
		for j := 0; j < o; j++ {
			s := n.b[l][j]
			row := n.w[l][j*a : (j+1)*a]
			for i, v := range h {
				s += row[i] * v
			}
			if l < len(n.w)-1 && s < 0 {
				s = 0
			}
			next[j] = s
		}
		h = next
	}
	for j := range h {
		h[j] = h[j]*n.outRange + n.outMean
	}
	return h
}

func argmin(y []float64) int {
	k := 0
	for j, v := range y {
		if v < y[k] {
			k = j
		}
	}
	return k
}

// prop is one ACAS Xu property: its input box (physical units) and its safety margin, positive where the
// scores y are safe.
type prop struct {
	lo, hi []float64
	margin func(y []float64) float64
}

// notLeast is positive when output i is not the least score (beaten by some other, strictly).
func notLeast(i int) func([]float64) float64 {
	return func(y []float64) float64 {
		m := math.Inf(-1)
		for j, v := range y {
			if j != i {
				m = math.Max(m, y[i]-v)
			}
		}
		return m
	}
}

// properties are Katz et al.'s properties 1-4, 7 and 8 (Reluplex, CAV 2017, appendix VI); the open sides
// are the networks' input ranges.
func properties() map[int][]prop {
	pi := math.Pi
	return map[int][]prop{
		1: {{lo: []float64{55947.691, -pi, -pi, 1145, 0}, hi: []float64{60760, pi, pi, 1200, 60},
			margin: func(y []float64) float64 { return 1500 - y[0] }}},
		2: {{lo: []float64{55947.691, -pi, -pi, 1145, 0}, hi: []float64{60760, pi, pi, 1200, 60},
			margin: func(y []float64) float64 { // COC is not the largest
				m := math.Inf(-1)
				for j := 1; j < len(y); j++ {
					m = math.Max(m, y[j]-y[0])
				}
				return m
			}}},
		3: {{lo: []float64{1500, -0.06, 3.10, 980, 960}, hi: []float64{1800, 0.06, pi, 1200, 1200}, margin: notLeast(0)}},
		4: {{lo: []float64{1500, -0.06, 0, 1000, 700}, hi: []float64{1800, 0.06, 0, 1200, 800}, margin: notLeast(0)}},
		7: {{lo: []float64{0, -pi, -pi, 100, 0}, hi: []float64{60760, pi, pi, 1200, 1200},
			margin: func(y []float64) float64 { return math.Min(notLeast(3)(y), notLeast(4)(y)) }}},
		8: {{lo: []float64{0, -pi, -0.1, 600, 600}, hi: []float64{60760, -0.75 * pi, 0.1, 1200, 1200},
			margin: func(y []float64) float64 { // the advisory is COC or weak left: every other score above the lesser of those two
				best := math.Min(y[0], y[1])
				m := math.Inf(1)
				for j := 2; j < len(y); j++ {
					m = math.Min(m, y[j]-best)
				}
				return m
			}}},
	}
}

func uniform(r *rand.Rand, lo, hi []float64) []float64 {
	x := make([]float64, len(lo))
	for i := range x {
		x[i] = lo[i] + r.Float64()*(hi[i]-lo[i])
	}
	return x
}

// attack looks for a violation of p (margin <= 0) on n: samples, then coordinate descent from the 20
// worst, halving steps. It returns the least margin seen and where.
func attack(n *net, p prop, samples int, r *rand.Rand) (float64, []float64) {
	type pt struct {
		x []float64
		m float64
	}
	var pts []pt
	for s := 0; s < samples; s++ {
		x := uniform(r, p.lo, p.hi)
		pts = append(pts, pt{x, p.margin(n.eval(x))})
	}
	sort.Slice(pts, func(a, b int) bool { return pts[a].m < pts[b].m })
	best := pts[0]
	for _, start := range pts[:min(20, len(pts))] {
		x, m := append([]float64(nil), start.x...), start.m
		for step := 0.05; step > 1e-6; step /= 2 {
			for improved := true; improved; {
				improved = false
				for i := range x {
					for _, sgn := range []float64{-1, 1} {
						y := append([]float64(nil), x...)
						y[i] = math.Min(math.Max(y[i]+sgn*step*(p.hi[i]-p.lo[i]), p.lo[i]), p.hi[i])
						if v := p.margin(n.eval(y)); v < m {
							x, m, improved = y, v, true
						}
					}
				}
			}
		}
		if m < best.m {
			best = pt{x, m}
		}
	}
	return best.m, best.x
}

func main() {
	samples := flag.Int("samples", 100000, "uniform domain samples for the argmin agreement")
	attacks := flag.Int("attack", 20000, "uniform samples per property box before the descent")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: crosscheck [-samples N] [-attack N] RUN_DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	data := os.Getenv("BIRDNN_DATA")
	if data == "" {
		data = "../shared/datasets"
	}
	tasks, err := filepath.Glob(filepath.Join(dir, "tasks", "N*"))
	if err != nil || len(tasks) == 0 {
		fmt.Fprintf(os.Stderr, "crosscheck: no tasks in %s/tasks\n", dir)
		os.Exit(1)
	}
	props := properties()
	fmt.Printf("# Cross-check of %s\n\n", filepath.Base(dir))
	fmt.Printf("`go run ./tools/crosscheck %s`: own .nnet reader and forward pass, the properties in physical units (Katz et al. 2017), attack of %d uniform samples per box and coordinate descent from the 20 worst; argmin agreement with the original on %d uniform samples of the input domain (its own random stream).\n\n", dir, *attacks, *samples)
	fmt.Println("| task | least safety margin found (raw units) | violations | argmin agreement |")
	fmt.Println("|---|---|---|---|")
	var agree []float64
	bad := 0
	for _, t := range tasks {
		name := filepath.Base(t) // N2_1-p1_2_3_4
		var i, j int
		var ps string
		if _, err := fmt.Sscanf(name, "N%d_%d-p%s", &i, &j, &ps); err != nil {
			fmt.Fprintf(os.Stderr, "crosscheck: %s: not a task folder\n", name)
			continue
		}
		rep, err := readNNet(filepath.Join(t, "repaired.nnet"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "crosscheck:", err)
			os.Exit(1)
		}
		orig, err := readNNet(filepath.Join(data, "acasxu", "nnet", fmt.Sprintf("ACASXU_run2a_%d_%d_batch_2000.nnet", i, j)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "crosscheck:", err)
			os.Exit(1)
		}
		r := rand.New(rand.NewPCG(uint64(i*10+j), 2026))
		least, viol := math.Inf(1), 0
		var where []string
		for _, k := range strings.Split(ps, "_") {
			pk, _ := strconv.Atoi(k)
			for _, p := range props[pk] {
				m, x := attack(rep, p, *attacks, r)
				least = math.Min(least, m)
				if m <= 0 {
					viol++
					where = append(where, fmt.Sprintf("p%d at %.6g", pk, x))
				}
			}
		}
		same := 0
		for s := 0; s < *samples; s++ {
			x := uniform(r, orig.min, orig.max)
			if argmin(orig.eval(x)) == argmin(rep.eval(x)) {
				same++
			}
		}
		a := 100 * float64(same) / float64(*samples)
		agree = append(agree, a)
		v := "0"
		if viol > 0 {
			bad++
			v = fmt.Sprintf("%d: %s", viol, strings.Join(where, "; "))
		}
		fmt.Printf("| %s | %.4g | %s | %.3f%% |\n", strings.ReplaceAll(strings.Replace(name, "_", ",", 1), "_", ","), least, v, a)
	}
	sort.Float64s(agree)
	mean := 0.0
	for _, a := range agree {
		mean += a
	}
	mean /= float64(len(agree))
	fmt.Printf("\n%d tasks, %d with a violation found; argmin agreement min %.3f%%, mean %.3f%%, max %.3f%%.\n", len(agree), bad, agree[0], mean, agree[len(agree)-1])
}
