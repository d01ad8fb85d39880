// Package attack makes adversarial examples for classifiers: FGSM and PGD steps on the cross-entropy of
// the softmax of the network's outputs (the class being the output of highest score), within an
// L-infinity ball around each input and the valid input range.
package attack

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/birdnn/birdnn/internal/par"
	"github.com/birdnn/birdnn/nn"
)

// Options says how to attack.
type Options struct {
	// Method is "fgsm" (one step of Eps) or "pgd" (Steps steps of StepSize from a random start in the
	// ball, each projected back onto it), or "trigger": stamp Trigger on the image (a backdoor's
	// attack, towards Target; Eps is not used).
	Method string
	// Trigger is the "trigger" method's stamp.
	Trigger *Trigger
	// Eps is the L-infinity radius, in the network's input units.
	Eps float64
	// Steps and StepSize are PGD's (defaults 10 and 2.5*Eps/Steps).
	Steps    int
	StepSize float64
	// Lo and Hi bound every input value (the pixel range); Hi <= Lo means unbounded.
	Lo, Hi float64
	// Target, when >= 0, asks for that class (a targeted attack); -1 for any wrong class.
	Target int
	// Seed makes PGD's random starts repeatable.
	Seed uint64
	// Loss is what each step climbs: "ce" (the default), the cross-entropy of the softmax, or "margin",
	// the best wrong score minus the label's (for a target, the target's score minus the best other).
	// Where the cross-entropy's gradient underflows to zero (score gaps beyond about 745, as in networks
	// with unscaled outputs), a "ce" step takes the margin's instead.
	Loss string
}

// Result is an attack's outcome over a set of inputs.
type Result struct {
	// X holds the adversarial inputs, row-major, one for each input (the input itself where it was
	// already misclassified, or already the target).
	X []float64
	// Rows, Clean (correctly classified before, percent) and Robust (correctly classified after).
	Rows          int
	Clean, Robust float64
	// Success is the share of the attacked inputs (correct before; for a targeted attack, not already
	// the target) that the attack turned wrong (or into the target), in percent.
	Success  float64
	Attacked int
}

// Run attacks each row of x (labels its classes) and returns the adversarial inputs and the rates.
func Run(net *nn.Network, x []float64, labels []int, opt Options) (*Result, error) {
	d, m := net.Inputs(), net.Outputs()
	if len(x) != len(labels)*d {
		return nil, fmt.Errorf("attack: %d values for %d rows of %d inputs", len(x), len(labels), d)
	}
	if !(opt.Eps > 0) && opt.Method != "trigger" {
		return nil, errors.New("attack: eps must be positive")
	}
	if opt.Target >= m {
		return nil, fmt.Errorf("attack: target class %d of a network with %d outputs", opt.Target, m)
	}
	switch opt.Loss {
	case "", "ce", "margin":
	default:
		return nil, fmt.Errorf("attack: loss %q: want ce or margin", opt.Loss)
	}
	switch opt.Method {
	case "fgsm":
	case "trigger":
		if opt.Trigger == nil || opt.Target < 0 {
			return nil, errors.New("attack: the trigger method needs a trigger and a target class")
		}
		if err := opt.Trigger.Check(); err != nil {
			return nil, err
		}
		if opt.Trigger.C*opt.Trigger.H*opt.Trigger.W != d {
			return nil, fmt.Errorf("attack: a %dx%dx%d trigger image for %d inputs", opt.Trigger.C, opt.Trigger.H, opt.Trigger.W, d)
		}
	case "pgd":
		if opt.Steps <= 0 {
			opt.Steps = 10
		}
		if opt.StepSize <= 0 {
			opt.StepSize = 2.5 * opt.Eps / float64(opt.Steps)
		}
	default:
		return nil, fmt.Errorf("attack: method %q: want fgsm, pgd or trigger", opt.Method)
	}
	n := len(labels)
	res := &Result{X: append([]float64(nil), x...), Rows: n}
	y0 := net.Forward(x)
	attacked := make([]bool, n)
	for r := range labels {
		c := nn.Argmax(y0[r*m : (r+1)*m])
		attacked[r] = c == labels[r] && (opt.Target < 0 || c != opt.Target)
	}
	par.For(n, func(r int) {
		switch {
		case !attacked[r]:
		case opt.Method == "trigger":
			opt.Trigger.Stamp(res.X[r*d : (r+1)*d])
		default:
			attackRow(net, res.X[r*d:(r+1)*d], labels[r], opt, uint64(r))
		}
	})
	y1 := net.Forward(res.X)
	clean, robust, turned := 0, 0, 0
	for r, l := range labels {
		c0, c1 := nn.Argmax(y0[r*m:(r+1)*m]), nn.Argmax(y1[r*m:(r+1)*m])
		if c0 == l {
			clean++
		}
		if c1 == l {
			robust++
		}
		if attacked[r] {
			res.Attacked++
			if (opt.Target < 0 && c1 != l) || (opt.Target >= 0 && c1 == opt.Target) {
				turned++
			}
		}
	}
	res.Clean = 100 * float64(clean) / float64(max(n, 1))
	res.Robust = 100 * float64(robust) / float64(max(n, 1))
	res.Success = 100 * float64(turned) / float64(max(res.Attacked, 1))
	return res, nil
}

// attackRow moves x (in place) up the cross-entropy of its label (or down that of the target).
func attackRow(net *nn.Network, x []float64, label int, opt Options, row uint64) {
	x0 := append([]float64(nil), x...)
	project := func() {
		for i := range x {
			x[i] = math.Min(math.Max(x[i], x0[i]-opt.Eps), x0[i]+opt.Eps)
			if opt.Hi > opt.Lo {
				x[i] = math.Min(math.Max(x[i], opt.Lo), opt.Hi)
			}
		}
	}
	step := func(size float64) {
		var g []float64
		if opt.Loss != "margin" {
			g = crossEntropyGrad(net, x, label, opt.Target)
		}
		if !slices.ContainsFunc(g, func(v float64) bool { return v != 0 }) {
			g = marginGrad(net, x, label, opt.Target)
		}
		for i := range x {
			switch {
			case g[i] > 0:
				x[i] += size
			case g[i] < 0:
				x[i] -= size
			}
		}
		project()
	}
	if opt.Method == "fgsm" {
		step(opt.Eps)
		return
	}
	rng := rand.New(rand.NewPCG(opt.Seed, row))
	for i := range x {
		x[i] += opt.Eps * (2*rng.Float64() - 1)
	}
	project()
	for s := 0; s < opt.Steps; s++ {
		step(opt.StepSize)
		if c := nn.Argmax(net.Forward(x)); (opt.Target < 0 && c != label) || c == opt.Target {
			return // done: stop where the first success lies, closest to the start
		}
	}
}

// crossEntropyGrad is the gradient with respect to x of the direction the attack climbs: the
// cross-entropy of label (untargeted), or minus that of target.
func crossEntropyGrad(net *nn.Network, x []float64, label, target int) []float64 {
	y := net.Forward(x)
	p := Softmax(y)
	want, sign := label, 1.0
	if target >= 0 {
		want, sign = target, -1
	}
	// d CE(want) / dy = softmax(y) - onehot(want)
	for i := range p {
		p[i] *= sign
	}
	p[want] -= sign
	return net.InputGrad(x, p)
}

// marginGrad is the gradient with respect to x of the margin the attack climbs: the best wrong score minus
// the label's (untargeted), or the target's score minus the best other.
func marginGrad(net *nn.Network, x []float64, label, target int) []float64 {
	y := net.Forward(x)
	own := label // the class the margin is measured from
	if target >= 0 {
		own = target
	}
	best := -1
	for j, v := range y {
		if j != own && (best < 0 || v > y[best]) {
			best = j
		}
	}
	up, down := best, label
	if target >= 0 {
		up, down = target, best
	}
	dy := make([]float64, len(y))
	if best >= 0 {
		dy[up], dy[down] = 1, -1
	}
	return net.InputGrad(x, dy)
}

// Softmax returns exp(y_i - max) / sum_j exp(y_j - max) (nn.Softmax).
func Softmax(y []float64) []float64 { return nn.Softmax(y) }
