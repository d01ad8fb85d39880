package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// Set is a training set: inputs and targets, row-major, with the input box they come from.
type Set struct {
	X, Y []float64
	// HX, HY are held-out rows that score the network; when nil, Train holds out random rows of X.
	HX, HY []float64
	D, M   int
	Box    property.Box
	Labels bool // targets encode class labels: the argmin of each row is its class
	// Teacher is the distilled network (nil for a CSV set).
	Teacher   *nn.Network
	Normalize *nn.Normalization
}

// Rows is the number of rows.
func (s *Set) Rows() int { return len(s.X) / s.D }

// Distil builds a training set from a teacher: cfg.Samples uniform samples of its input domain,
// cfg.BoundarySamples near inputs where its decision (argmin) changes, and, when a property is given,
// cfg.FocusSamples in the property's boxes plus the neighbourhoods of the teacher's counterexamples (so a
// student inherits the teacher's faults). Targets are the teacher's outputs.
func Distil(ctx context.Context, teacher *nn.Network, prop *property.Property, cfg *configs.Train, rep *progress.Reporter) (*Set, error) {
	d, m := teacher.Inputs(), teacher.Outputs()
	box, _, ok := teacher.DomainBox(nil)
	if cfg.Region == "property" && prop != nil {
		// A local student: the hull of the property's boxes is its domain.
		box, ok = prop.Hull(), true
	}
	if !ok {
		if prop == nil {
			return nil, fmt.Errorf("teacher has no finite input domain (normalization bounds); give a property to sample")
		}
		box = prop.Cases[0].Box
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 11))
	ph := rep.Start("sample teacher", 3)
	x := box.Sample(rng, cfg.Samples)
	ph.Add(1, "uniform")
	x = append(x, boundarySamples(teacher, box, rng, cfg.BoundarySamples)...)
	ph.Add(1, "decision boundary")
	if prop != nil && cfg.FocusSamples > 0 {
		x = append(x, prop.Sample(rng, cfg.FocusSamples/2)...)
		// Violations on the box's faces escape sampling: the verifier's counterexamples serve then.
		cx := verify.Counterexamples(ctx, teacher, prop, 200, 30*time.Second, cfg.Seed)
		if n := len(cx) / d; n > 0 {
			x = append(x, falsify.Around(prop, cx, max(cfg.FocusSamples/2/n, 1), 0.02, cfg.Seed)...)
		}
	}
	ph.Add(1, "property")
	ph.Finish(fmt.Sprintf("%d rows", len(x)/d))
	// The score: agreement on uniform samples of the domain, drawn apart from the training rows.
	hx := box.Sample(rand.New(rand.NewPCG(cfg.Seed, 13)), cfg.Holdout)
	y, hy := targets(teacher, x, cfg), targets(teacher, hx, cfg)
	return &Set{X: x, Y: y, HX: hx, HY: hy, Teacher: teacher, D: d, M: m, Box: box, Normalize: teacher.Norm}, nil
}

// targets returns the teacher's outputs on x, transformed as cfg says (Squash, Standardize).
func targets(teacher *nn.Network, x []float64, cfg *configs.Train) []float64 {
	y := teacher.Forward(x)
	if s := cfg.Squash; s > 0 {
		for i := range y {
			y[i] = s * math.Asinh(y[i]/s)
		}
	}
	if cfg.Standardize {
		standardize(y, teacher.Outputs())
	}
	return y
}

// mine returns up to n inputs where the student's decision differs from the teacher's, found among 20n
// uniform samples of the box, each with three neighbours within half a percent of the box, and their
// targets.
func mine(student, teacher *nn.Network, box property.Box, n int, rng *rand.Rand, cfg *configs.Train) ([]float64, []float64) {
	d, m := teacher.Inputs(), teacher.Outputs()
	x := box.Sample(rng, 20*n)
	ys, yt := student.Forward(x), teacher.Forward(x)
	var out []float64
	for r := 0; r < 20*n && len(out) < 4*n*d; r++ {
		if nn.Argmin(ys[r*m:(r+1)*m]) == nn.Argmin(yt[r*m:(r+1)*m]) {
			continue
		}
		xr := x[r*d : (r+1)*d]
		out = appendNear(append(out, xr...), xr, 3, box, rng)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, targets(teacher, out, cfg)
}

// appendNear appends n points drawn uniformly within half a percent of the box's width of x on every
// side, clipped to the box.
func appendNear(out, x []float64, n int, box property.Box, rng *rand.Rand) []float64 {
	for k := 0; k < n; k++ {
		for i, v := range x {
			w := 0.005 * (box.Hi[i] - box.Lo[i])
			out = append(out, math.Min(math.Max(v+(2*rng.Float64()-1)*w, box.Lo[i]), box.Hi[i]))
		}
	}
	return out
}

// boundarySamples returns about n inputs near the teacher's decision boundary: pairs of nearby uniform
// points with different decisions are bisected to the boundary, and points are drawn around it.
func boundarySamples(teacher *nn.Network, box property.Box, rng *rand.Rand, n int) []float64 {
	if n <= 0 {
		return nil
	}
	d := box.Dim()
	var out []float64
	for tries := 0; len(out) < n*d && tries < 200; tries++ {
		a := box.Sample(rng, 4096)
		b := make([]float64, len(a))
		for i := range b {
			k := i % d
			w := 0.05 * (box.Hi[k] - box.Lo[k])
			b[i] = math.Min(math.Max(a[i]+(2*rng.Float64()-1)*w, box.Lo[k]), box.Hi[k])
		}
		ya, yb := teacher.Forward(a), teacher.Forward(b)
		m := len(ya) / 4096
		for r := 0; r < 4096 && len(out) < n*d; r++ {
			ca, cb := nn.Argmin(ya[r*m:(r+1)*m]), nn.Argmin(yb[r*m:(r+1)*m])
			if ca == cb {
				continue
			}
			lo, hi := append([]float64(nil), a[r*d:(r+1)*d]...), append([]float64(nil), b[r*d:(r+1)*d]...)
			for it := 0; it < 8; it++ {
				mid := make([]float64, d)
				for i := range mid {
					mid[i] = (lo[i] + hi[i]) / 2
				}
				if nn.Argmin(teacher.Forward(mid)) == ca {
					lo = mid
				} else {
					hi = mid
				}
			}
			out = appendNear(out, lo, 8, box, rng)
		}
	}
	return out
}

// ReadCSV reads a dataset: each row has inputs inputs, then either outputs target values or (labels)
// one class label in [0, outputs), which becomes a target of 0 for the class and 1 for the others (the
// class is the argmin, as in ACAS Xu).
func ReadCSV(path string, inputs, outputs int, labels bool) (*Set, error) {
	cols := inputs + outputs
	if labels {
		cols = inputs + 1
	}
	t, err := datasets.ReadCSVFile(path, cols)
	if err != nil {
		return nil, err
	}
	n := len(t.Data) / cols
	s := &Set{D: inputs, M: outputs, Labels: labels, Box: property.Box{Lo: make([]float64, inputs), Hi: make([]float64, inputs)}}
	for i := range s.Box.Lo {
		s.Box.Lo[i], s.Box.Hi[i] = math.Inf(1), math.Inf(-1)
	}
	for r := 0; r < n; r++ {
		row := t.Data[r*cols : (r+1)*cols]
		s.X = append(s.X, row[:inputs]...)
		for i, v := range row[:inputs] {
			s.Box.Lo[i], s.Box.Hi[i] = math.Min(s.Box.Lo[i], v), math.Max(s.Box.Hi[i], v)
		}
		if !labels {
			s.Y = append(s.Y, row[inputs:]...)
			continue
		}
		c := row[inputs]
		if c != math.Trunc(c) || c < 0 || int(c) >= outputs {
			return nil, fmt.Errorf("%s: row %d: label %v is not a class in [0, %d)", path, r+1, c, outputs)
		}
		for j := 0; j < outputs; j++ {
			v := 1.0
			if j == int(c) {
				v = 0
			}
			s.Y = append(s.Y, v)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return s, nil
}
