// Package learn trains new networks of a chosen architecture and activation: on a CSV dataset (inputs
// with target values or class labels), or by distilling a teacher network over its input domain, with
// samples concentrated where the teacher's decision changes and around its counterexamples.
package learn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/train"
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
func Distil(teacher *nn.Network, prop *property.Property, cfg *configs.Train, rep *progress.Reporter) (*Set, error) {
	d, m := teacher.Inputs(), teacher.Outputs()
	box, ok := DomainBox(teacher)
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
		cx := verify.Counterexamples(context.Background(), teacher, prop, 200, 30*time.Second, cfg.Seed)
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

// DomainBox returns the network's whole input domain in its own (normalized) units, from the
// normalization bounds, and whether they are known and every dimension has a positive width.
func DomainBox(net *nn.Network) (property.Box, bool) {
	lo, hi, ok := net.InputDomain()
	if !ok {
		return property.Box{}, false
	}
	for i := range lo {
		if !(hi[i] > lo[i]) {
			return property.Box{}, false
		}
	}
	return property.Box{Lo: lo, Hi: hi}, true
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

// Result is a trained network with its held-out scores.
type Result struct {
	Net *nn.Network
	// Agreement is the percentage of held-out rows whose argmin matches the target's; RMSE the output
	// error on them.
	Agreement, RMSE float64
	Epochs          int
	Seconds         float64
}

// Train fits a new network (cfg.Hidden layers of cfg.Activation, a linear output layer) to the set,
// holding out cfg.Holdout rows to score it, with Adam, a decision hinge beside the squared error, and
// early stopping on held-out agreement. The best network on the held-out rows is returned.
func Train(set *Set, cfg *configs.Train, rep *progress.Reporter) (*Result, error) {
	start := time.Now()
	act, err := activation.Parse(cfg.Activation)
	if err != nil {
		return nil, err
	}
	lin := activation.Identity
	rng := rand.New(rand.NewPCG(cfg.Seed, 12))
	n := set.Rows()
	hold := min(cfg.Holdout, n/5)
	perm := rng.Perm(n)
	pick := func(idx []int, v []float64, w int) []float64 {
		out := make([]float64, 0, len(idx)*w)
		for _, i := range idx {
			out = append(out, v[i*w:(i+1)*w]...)
		}
		return out
	}
	hx, hy := pick(perm[:hold], set.X, set.D), pick(perm[:hold], set.Y, set.M)
	tx, ty := pick(perm[hold:], set.X, set.D), pick(perm[hold:], set.Y, set.M)
	if set.HX != nil {
		hx, hy, tx, ty = set.HX, set.HY, set.X, set.Y
		hold = len(hx) / set.D
	}
	nt := len(tx) / set.D
	if nt == 0 {
		return nil, fmt.Errorf("no training rows")
	}
	sizes := append(append([]int{set.D}, cfg.Hidden...), set.M)
	net := nn.Random(rng, sizes, act, lin)
	if cfg.InitFromTeacher {
		if set.Teacher == nil {
			return nil, fmt.Errorf("init_from_teacher: no teacher (a CSV set)")
		}
		if net, err = FromReLU(set.Teacher, act, cfg.Sharpness); err != nil {
			return nil, err
		}
	}
	if cfg.Init != "" {
		if net, err = resume(cfg.Init, sizes, act, rng); err != nil {
			return nil, err
		}
	}
	net.Norm = set.Normalize
	// Scale: the targets' RMS, so that the weights of the loss mean the same for any output range.
	scale := 0.0
	for _, v := range ty {
		scale += v * v
	}
	scale = math.Sqrt(scale/float64(len(ty))) + 1e-12
	batch := min(cfg.Batch, nt)
	dec := property.OrderConjunctions(set.M)
	margin := cfg.Margin * scale
	gr, err := rebuild(net, batch, dec, margin, cfg.CapMargin)
	if err != nil {
		return nil, err
	}
	defer func() { gr.Close() }()
	lr := cfg.LearnRate
	opt := train.NewAdam(lr)
	bx, bt := make([]float64, batch*set.D), make([]float64, batch*set.M)
	bw, bk, bm := make([]float64, batch), make([]float64, batch*len(dec)), make([]float64, batch*len(dec))
	sseW := 1 / (float64(batch) * float64(set.M) * scale * scale)
	keepW := cfg.Keep / (float64(batch) * scale)
	w := len(dec) // hinge entries per row
	score := func(net *nn.Network) (float64, float64) {
		y := net.Forward(hx)
		same, se := 0, 0.0
		for r := 0; r < hold; r++ {
			a, b := y[r*set.M:(r+1)*set.M], hy[r*set.M:(r+1)*set.M]
			if nn.Argmin(a) == nn.Argmin(b) {
				same++
			}
			for i := range a {
				se += (a[i] - b[i]) * (a[i] - b[i])
			}
		}
		return 100 * float64(same) / float64(max(hold, 1)), math.Sqrt(se / float64(max(hold*set.M, 1)))
	}
	best := &Result{Net: net.Clone()}
	best.Agreement, best.RMSE = score(net)
	calm := 0
	ph := rep.Start("train epochs", cfg.Epochs)
	order := make([]int, nt)
	for i := range order {
		order[i] = i
	}
	epochs := 0
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		epochs = epoch + 1
		rng.Shuffle(nt, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for s := 0; s+batch <= nt; s += batch { // whole batches; the shuffle covers the rest over epochs
			for b := 0; b < batch; b++ {
				r := order[s+b]
				copy(bx[b*set.D:(b+1)*set.D], tx[r*set.D:(r+1)*set.D])
				t := ty[r*set.M : (r+1)*set.M]
				copy(bt[b*set.M:(b+1)*set.M], t)
				bw[b] = sseW
				hingeRow(t, cfg.Rank, keepW, margin, bk[b*w:(b+1)*w], bm[b*w:(b+1)*w])
			}
			for _, f := range []struct {
				n *G.Node
				v []float64
			}{{gr.X, bx}, {gr.tn, bt}, {gr.wn, bw}, {gr.kn, bk}, {gr.mn, bm}} {
				if f.n == nil {
					continue
				}
				if err := gr.Feed(f.n, f.v); err != nil {
					return nil, err
				}
			}
			if _, err := gr.Run(); err != nil {
				return nil, err
			}
			if err := opt.Step(gr.Graph); err != nil {
				return nil, err
			}
		}
		cur := gr.Network()
		agr, rmse := score(cur)
		if set.Teacher != nil && cfg.Mine > 0 && cfg.MineEvery > 0 && (epoch+1)%cfg.MineEvery == 0 {
			// Hard examples: where this student still decides differently from the teacher.
			if mx, my := mine(cur, set.Teacher, set.Box, cfg.Mine, rng, cfg); mx != nil {
				tx, ty = append(tx, mx...), append(ty, my...)
				for r := nt; r < len(tx)/set.D; r++ {
					order = append(order, r)
				}
				nt = len(tx) / set.D
			}
		}
		ph.Add(1, fmt.Sprintf("held-out agreement %.2f%%, rmse %.3g, lr %.2g", agr, rmse, lr))
		if agr > best.Agreement || (agr == best.Agreement && rmse < best.RMSE) {
			best.Net, best.Agreement, best.RMSE, calm = cur, agr, rmse, 0
		} else if calm++; calm >= cfg.Patience {
			if lr/cfg.LearnRate < 1.0/64 {
				break
			}
			// Plateau: continue from the best network with half the learning rate.
			lr /= 2
			calm = 0
			gr.Close()
			if gr, err = rebuild(best.Net, batch, dec, margin, cfg.CapMargin); err != nil {
				return nil, err
			}
			opt = train.NewAdam(lr)
		}
		if best.Agreement >= cfg.TargetAgreement && cfg.TargetAgreement > 0 && epoch >= cfg.MinEpochs {
			break
		}
	}
	ph.Finish(fmt.Sprintf("held-out agreement %.2f%% after %d epochs", best.Agreement, epochs))
	best.Net.Norm = set.Normalize
	best.Epochs = epochs
	best.Seconds = time.Since(start).Seconds()
	return best, nil
}

// hingeRow fills one row's decision-hinge weights k and margins mg (m(m-1) each; conjunction a*(m-1)+i
// says y_j <= y_a, i the index of j among the outputs other than a) for the targets t: weight keepW for
// the decision's pairs (a the argmin of t, every j), or with rank for every pair that t orders (t_a <
// t_j), and 0 elsewhere; each weighed pair's margin capped at half the targets' own gap,
// min(margin, (t_j - t_a)/2), so that the targets are a zero of the hinge with room to spare (at a gap of
// exactly the margin a hinge's gradient is not zero). CapMargin feeds mg; else the margin is margin.
func hingeRow(t []float64, rank bool, keepW, margin float64, k, mg []float64) {
	m := len(t)
	clear(k)
	clear(mg)
	dec := nn.Argmin(t)
	for a := 0; a < m; a++ {
		if !rank && a != dec {
			continue
		}
		for j, i := 0, 0; j < m; j++ {
			if j == a {
				continue
			}
			if !rank || t[a] < t[j] {
				k[a*(m-1)+i] = keepW
				mg[a*(m-1)+i] = min(margin, (t[j]-t[a])/2)
			}
			i++
		}
	}
}

// resume loads the network to start from and checks that it has the layer sizes and hidden activation
// asked for, and a linear output layer. A network with as many layers but narrower hidden ones is widened
// first (widen): it computes the same function, with room to grow.
func resume(path string, sizes []int, act activation.Activation, rng *rand.Rand) (*nn.Network, error) {
	file, err := datasets.Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	net, err := netio.Load(file)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	got := []int{net.Inputs()}
	for _, l := range net.Layers {
		got = append(got, l.Out)
	}
	narrower := len(got) == len(sizes) && got[0] == sizes[0] && got[len(got)-1] == sizes[len(sizes)-1]
	for k := range got {
		narrower = narrower && got[k] <= sizes[k]
	}
	if !narrower {
		return nil, fmt.Errorf("init %s: layer sizes %v, the config asks for %v", path, got, sizes)
	}
	for k, l := range net.Layers {
		want := act
		if k == len(net.Layers)-1 {
			want = activation.Identity
		}
		if l.Act != want {
			return nil, fmt.Errorf("init %s: layer %d is %s, the config asks for %s", path, k+1, l.Act, want)
		}
	}
	if !slices.Equal(got, sizes) {
		net = widen(net, sizes, rng)
	}
	return net, nil
}

// widen returns net with its hidden layers grown to sizes (which keeps its input and output sizes and
// its depth, and is nowhere narrower). The new neurons' incoming weights and biases are random, as
// nn.Random draws them, and their weights into the original neurons are zero, so the widened network
// computes net's function exactly; training moves those weights first (their gradients are the new
// neurons' outputs times the next layer's), the incoming ones after.
func widen(net *nn.Network, sizes []int, rng *rand.Rand) *nn.Network {
	out := &nn.Network{Norm: net.Norm}
	for k, l := range net.Layers {
		in, o := sizes[k], sizes[k+1]
		w := nn.Layer{In: in, Out: o, W: make([]float64, in*o), B: make([]float64, o), Act: l.Act}
		lim := math.Sqrt(6 / float64(in+o))
		copy(w.B, l.B)
		for j := range l.Out { // the original neurons: their weights, zero from the new inputs
			copy(w.W[j*in:], l.W[j*l.In:(j+1)*l.In])
		}
		for j := l.Out; j < o; j++ {
			w.B[j] = (2*rng.Float64() - 1) * 0.1
			for i := range in {
				w.W[j*in+i] = (2*rng.Float64() - 1) * lim
			}
		}
		out.Layers = append(out.Layers, w)
	}
	return out
}

// graph is a compiled training graph with its extra inputs.
type graph struct {
	*train.Graph
	tn, wn, kn *G.Node
	mn         *G.Node // the hinge's margin per row and pair (nil: margin, the same for all)
}

// rebuild compiles the training graph of net: the weighted squared error plus the decision hinge over the
// conjunctions dec, with the margin given, or (capped) a margin per row and pair fed at mn.
func rebuild(net *nn.Network, batch int, dec []property.Conjunction, margin float64, capped bool) (*graph, error) {
	gr, err := train.NewGraph(net, batch, train.Options{})
	if err != nil {
		return nil, err
	}
	g := &graph{Graph: gr}
	g.tn = gr.NewInput("target", batch, net.Outputs())
	g.wn = gr.NewInput("sse_w", batch, 1)
	g.kn = gr.NewInput("keep_w", batch, len(dec))
	loss, err := gr.WeightedSSE(gr.Out, g.tn, g.wn)
	if err == nil {
		var keep *G.Node
		if capped {
			g.mn = gr.NewInput("keep_margin", batch, len(dec))
			keep, err = gr.ViolationLossPer(gr.Out, dec, g.kn, g.mn)
		} else {
			keep, err = gr.ViolationLoss(gr.Out, dec, g.kn, margin)
		}
		if err == nil {
			if loss, err = G.Add(loss, keep); err == nil {
				err = gr.Compile(loss)
			}
		}
	}
	if err != nil {
		gr.Close()
		return nil, err
	}
	return g, nil
}

// FromReLU returns a network with activation act that computes nearly what the ReLU network teacher
// computes, with sharpness k:
//   - elu: every hidden neuron relu(z) becomes elu with alpha 1/k (rounded to float32, as ONNX stores
//     it), which differs from relu(z) by at most alpha; the weights are the teacher's.
//   - softplus, which has no parameter: relu(z) becomes softplus(k*z)/k, off by at most log(2)/k. The
//     scale k is folded into the weights: a layer's weights and bias are multiplied by k, except that the
//     weights of a layer after a hidden one are unchanged (the 1/k of the outputs below cancels the k),
//     and the output layer's weights are divided by k.
//
// Only these activations approach relu so. (Elu could be scaled like softplus, elu(k*z)/k; its network's
// hidden biases and outputs are then k times the teacher's and its output weights 1/k of them, and
// repair's optimizer, whose steps are of one size in every layer, moves such a network badly.)
func FromReLU(teacher *nn.Network, act activation.Activation, k float64) (*nn.Network, error) {
	if act.Name != "elu" && act.Name != "softplus" {
		return nil, fmt.Errorf("init from a ReLU teacher: %s does not approach relu when scaled (elu and softplus do)", act)
	}
	if !teacher.AllReLU() {
		return nil, fmt.Errorf("init from teacher: the teacher is not a ReLU network")
	}
	if !(k > 0) || math.IsInf(k, 1) {
		return nil, fmt.Errorf("init from teacher: sharpness %v must be finite and > 0", k)
	}
	net := teacher.Clone()
	last := len(net.Layers) - 1
	if act.Name == "elu" {
		act.Param = float64(float32(1 / k))
		for i := 0; i < last; i++ {
			net.Layers[i].Act = act
		}
		return net, nil
	}
	for i := range net.Layers {
		l := &net.Layers[i]
		wScale, bScale := k, k
		if i > 0 {
			wScale = 1
		}
		if i == last {
			wScale, bScale = 1/k, 1
		}
		for j := range l.W {
			l.W[j] *= wScale
		}
		for j := range l.B {
			l.B[j] *= bScale
		}
		if i < last {
			l.Act = act
		}
	}
	return net, nil
}

// Convert rewrites a network whose hidden layers are all tanh into the sigmoid network that computes
// exactly the same function, or back, using tanh(z) = 2 sigmoid(2z) - 1: each hidden output h of the tanh
// network is 2s - 1 for the sigmoid network's s, so a layer reading h reads 2s - 1 instead, and a tanh
// layer's pre-activation doubles. Only the rounding of the rewritten weights separates the two.
func Convert(net *nn.Network, to activation.Activation) (*nn.Network, error) {
	var from activation.Activation
	switch to.Name {
	case "sigmoid":
		from = activation.Tanh
	case "tanh":
		from = activation.Sigmoid
	default:
		return nil, fmt.Errorf("convert: to %s: want tanh or sigmoid", to)
	}
	last := len(net.Layers) - 1
	for i := 0; i < last; i++ {
		if net.Layers[i].Act.Name != from.Name {
			return nil, fmt.Errorf("convert to %s: hidden layer %d is %s, want %s", to, i, net.Layers[i].Act, from)
		}
	}
	out := net.Clone()
	// With h = a*s + c the old hidden output in terms of the new one (tanh from sigmoid: a=2, c=-1;
	// sigmoid from tanh: a=1/2, c=1/2), and the new activation's argument g times the old one's (2 or 1/2).
	a, c, g := 2.0, -1.0, 2.0
	if to.Name == "tanh" {
		a, c, g = 0.5, 0.5, 0.5
	}
	for i := range out.Layers {
		l := &out.Layers[i]
		inScale, shift := 1.0, 0.0 // this layer's input is a*s + c (except the first layer's)
		for j := 0; j < l.Out; j++ {
			row := l.W[j*l.In : (j+1)*l.In]
			if i > 0 {
				inScale, shift = a, c
				sum := 0.0
				for _, w := range row {
					sum += w
				}
				l.B[j] += shift * sum
			}
			for t := range row {
				row[t] *= inScale
			}
			if i < last {
				for t := range row {
					row[t] *= g
				}
				l.B[j] *= g
			}
		}
		if i < last {
			l.Act = to
		}
	}
	return out, nil
}

// standardize replaces each row of m values by (v - mean) / (spread + floor), the spread being the
// row's root mean square deviation and the floor a thousandth of the whole set's.
func standardize(y []float64, m int) {
	n := len(y) / m
	total := 0.0
	spreads := make([]float64, n)
	for r := 0; r < n; r++ {
		row := y[r*m : (r+1)*m]
		mean := 0.0
		for _, v := range row {
			mean += v / float64(m)
		}
		ss := 0.0
		for i := range row {
			row[i] -= mean
			ss += row[i] * row[i]
		}
		spreads[r] = math.Sqrt(ss / float64(m))
		total += spreads[r]
	}
	floor := 1e-3*total/float64(max(n, 1)) + 1e-300
	for r := 0; r < n; r++ {
		for i := r * m; i < (r+1)*m; i++ {
			y[i] /= spreads[r] + floor
		}
	}
}
