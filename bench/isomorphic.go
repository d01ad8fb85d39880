package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/diff"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// IsoPair is one pair of the two-network ACAS Xu benchmark in VNN-COMP 2026's style: an ACAS Xu network
// and a copy with perturbed or pruned weights.
type IsoPair struct {
	Index int
	I, J  int
	// Kind is "perturbed" (every weight w becomes w (1 + Scale u), u uniform in [-1, 1]) or "pruned" (the
	// Scale share of each layer's weights smallest in magnitude set to 0).
	Kind  string
	Scale float64
	Seed  uint64
}

// Name is how tables show the pair, e.g. "07 N1,8 perturbed 1%".
func (p IsoPair) Name() string {
	return fmt.Sprintf("%02d N%d,%d %s %g%%", p.Index, p.I, p.J, p.Kind, 100*p.Scale)
}

// IsomorphicACASXu lists the 50 pairs made from seed: pair k takes network k mod 45 (N1,1 to N5,9 in
// order), even pairs perturbed and odd ones pruned, at a scale that cycles through 0.5%, 1% and 2%, each
// with its own seed drawn from seed.
func IsomorphicACASXu(seed uint64) []IsoPair {
	rng := rand.New(rand.NewPCG(seed, 0x1503))
	scales := []float64{0.005, 0.01, 0.02}
	var out []IsoPair
	for k := 0; k < 50; k++ {
		n := k % 45
		kind := "perturbed"
		if k%2 == 1 {
			kind = "pruned"
		}
		out = append(out, IsoPair{Index: k, I: n/9 + 1, J: n%9 + 1, Kind: kind, Scale: scales[(k/2)%3], Seed: rng.Uint64()})
	}
	return out
}

// Copy makes the pair's second network from the first.
func (p IsoPair) Copy(a *nn.Network) *nn.Network {
	b := a.Clone()
	rng := rand.New(rand.NewPCG(p.Seed, 1))
	for k := range b.Layers {
		w := b.Layers[k].W
		switch p.Kind {
		case "perturbed":
			for i := range w {
				w[i] *= 1 + p.Scale*(2*rng.Float64()-1)
			}
		case "pruned":
			mag := make([]float64, len(w))
			for i, v := range w {
				mag[i] = math.Abs(v)
			}
			slices.Sort(mag)
			cut := int(p.Scale * float64(len(w)))
			if cut == 0 {
				continue
			}
			limit := mag[cut-1]
			pruned := 0
			for i, v := range w {
				if math.Abs(v) <= limit && pruned < cut {
					w[i] = 0
					pruned++
				}
			}
		}
	}
	return b
}

// IsoRow is one pair's outcome.
type IsoRow struct {
	Pair   IsoPair
	Result diff.Result
	// Sampled is the largest |B - A| among 10,000 uniform samples of the box.
	Sampled float64
	Err     string
}

// isoInstance is the data's VNN-LIB 2.0 instance: its box and eps.
func isoInstance() (property.Box, float64, error) {
	d, err := datasets.Dir()
	if err != nil {
		return property.Box{}, 0, err
	}
	p, err := property.ReadPairFile(filepath.Join(d, "vnnlib2", "isomorphic_acasxu_instance_0.vnnlib"))
	if err != nil {
		return property.Box{}, 0, err
	}
	if p.Eps == nil || len(p.Joint.Cases) != 1 {
		return property.Box{}, 0, fmt.Errorf("%s: want one box and one eps", p.Name)
	}
	eps := p.Eps[0]
	for _, e := range p.Eps {
		if e != eps {
			return property.Box{}, 0, fmt.Errorf("%s: want one eps for every output", p.Name)
		}
	}
	return p.Joint.Cases[0].Box, eps, nil
}

// RunIsomorphic decides |B - A| < eps on every output over the data's two-network instance's box for each
// pair, within opt.Timeout each, calling progress after each.
func RunIsomorphic(ctx context.Context, pairs []IsoPair, opt verify.Options, progress func(IsoRow)) ([]IsoRow, error) {
	box, eps, err := isoInstance()
	if err != nil {
		return nil, err
	}
	var rows []IsoRow
	for _, p := range pairs {
		if ctx.Err() != nil {
			break
		}
		row := IsoRow{Pair: p}
		path, err := datasets.ACASXuNet(p.I, p.J, "nnet")
		var a *nn.Network
		if err == nil {
			a, err = nnet.ReadFile(path)
		}
		if err == nil {
			b := p.Copy(a)
			bd, _ := diff.MaxBound(ctx, a, b, box, diff.BoundOptions{Output: -1, Samples: 10000, Seed: p.Seed})
			row.Sampled = bd.Sampled
			row.Result, err = diff.Verify(ctx, a, b, box, diff.Options{Eps: eps, Output: -1, Verify: opt})
		}
		if err != nil {
			row.Err = err.Error()
		}
		rows = append(rows, row)
		if progress != nil {
			progress(row)
		}
	}
	return rows, nil
}

// IsomorphicMarkdown renders the pairs' outcomes with totals.
func IsomorphicMarkdown(rows []IsoRow, seed uint64, timeout float64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Two-network ACAS Xu, VNN-COMP 2026 style: |B - A| < 0.05 on every output\n\n")
	fmt.Fprintf(&b, "`birdnn bench isomorphic-acasxu --seed %d`: 50 pairs made by the command (an ACAS Xu network against a copy with every weight scaled by 1 + s u, u uniform in [-1, 1], or with the share s of each layer's smallest weights pruned; s 0.5%%, 1%%, 2%%), on the box of `../shared/datasets/vnnlib2/isomorphic_acasxu_instance_0.vnnlib`; %.0f s per pair, 2 cores. VNN-COMP 2026 gives 100 s.\n\n", seed, timeout)
	fmt.Fprintf(&b, "| pair | verdict | seconds | boxes | largest sampled \\|B - A\\| |\n|---|---|---:|---:|---:|\n")
	counts := map[verify.Verdict]int{}
	total, worst := 0.0, 0.0
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | error: %s | | | |\n", r.Pair.Name(), cell(r.Err))
			continue
		}
		counts[r.Result.Verdict]++
		total += r.Result.Seconds
		worst = math.Max(worst, r.Result.Seconds)
		fmt.Fprintf(&b, "| %s | %s | %.2f | %d | %.4g |\n", r.Pair.Name(), r.Result.Verdict, r.Result.Seconds, r.Result.Boxes, r.Sampled)
	}
	fmt.Fprintf(&b, "\nSettled %d of %d (certified %d, violated %d, unknown %d); total %.1f s, the slowest %.1f s.\n",
		counts[verify.Certified]+counts[verify.Violated], len(rows), counts[verify.Certified], counts[verify.Violated], counts[verify.Unknown], total, worst)
	return b.Bytes()
}
