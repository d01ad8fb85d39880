package verify

import (
	"context"
	"sync"
	"time"

	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Verdict is the outcome of a verification.
type Verdict string

// The verdicts.
const (
	Certified Verdict = "certified" // no input of any box reaches the unsafe region (bounds prove it)
	Violated  Verdict = "violated"  // a counterexample was found and confirmed by a plain forward pass
	Unknown   Verdict = "unknown"   // the budget ran out first
)

// Counterexample is an input of the property's box whose output is unsafe.
type Counterexample struct {
	Input  []float64 `json:"input"`
	Output []float64 `json:"output"`
}

// Result is a verification's outcome.
type Result struct {
	Verdict Verdict `json:"verdict"`
	Seconds float64 `json:"seconds"`
	Boxes   int     `json:"boxes"`
	// Proven is the fraction of the property's input volume that the bounds proved safe (1 when certified).
	Proven float64 `json:"proven"`
	// More holds every counterexample found (row-major) when Options.Collect asked for several.
	More []float64 `json:"-"`
	// Open holds up to 512 of the boxes left undecided when the verdict is unknown, the newest first:
	// where the property is closest to failing, or the bounds too loose.
	Open []property.Box `json:"-"`
	// Stalled says that Options.Stall ended the search before its timeout.
	Stalled bool `json:"stalled,omitempty"`
	// Depth is the deepest split reached.
	Depth          int             `json:"depth"`
	Counterexample *Counterexample `json:"counterexample,omitempty"`
}

// Options bounds the work.
type Options struct {
	// Timeout ends the search with Unknown (0: no limit).
	Timeout time.Duration
	// Grace lets a search that is on course to finish run past Timeout, up to Timeout+Grace: at Timeout,
	// and after that every twentieth of Grace, the rate at which the proven share grew over the last
	// quarter of the time so far, kept up, must prove the rest before Timeout+Grace; otherwise the search
	// ends with Unknown. 0: Timeout is final.
	Grace time.Duration
	// Stall ends a search that is falling behind before Timeout, with Unknown (Result.Stalled): from a
	// third of Timeout on, and then every twentieth of it, the unproven share of the box, shrinking by the
	// factor it shrank over the last quarter of the time so far for every such span, must be Stall or
	// less at Timeout; and from two thirds of Timeout on, the open boxes must be fewer than at the start
	// of that quarter (a frontier still growing with a third of the time left does not finish: N3,5's
	// round-1 sigmoid retraining was 99.87% proven at 30 s with its open boxes growing from 10 s on, and
	// needed more than 200 s). 0: off. Domain-wise repair sets it for every round but the last: a round
	// whose proof will not finish hands its open boxes to the next round sooner.
	Stall float64
	// MaxBoxes ends the search with Unknown after this many boxes (0: no limit).
	MaxBoxes int
	// Workers is the number of boxes bounded at once (0: 2).
	Workers int
	// SmearOnly splits where the smear heuristic says, instead of strong branching (bounding both halves
	// of every dimension and keeping the split that leaves the least to prove: 2d bounds per split, which
	// pays on the ACAS Xu properties).
	SmearOnly bool
	// BreadthFirst works the open boxes in the order they were made (level by level) throughout, instead
	// of only for the first breadthFirstBoxes and depth first after: heavier on memory, but when the
	// budget runs out the open boxes cover every region that is hard to prove, not one (domain-wise
	// repair samples them).
	BreadthFirst bool
	// Collect keeps searching after the first counterexample until this many are found (or the budget
	// or the boxes run out); Result.More holds them. 0 or 1: stop at the first.
	Collect int
	// CollectFor limits the search for more counterexamples to this long after the first (0: no limit
	// but the budget).
	CollectFor time.Duration
	// ReluSplits is how many unstable relus strong branching tries splitting (fixing the relu's sign
	// either way) beside the input dimensions; 0: none. On the ACAS Xu benchmark input splits alone are
	// faster (2 candidates: 1.7x the time for the same instances solved). Networks of more than 64
	// inputs (images) get 4 when it is 0, and strong branching tries only one input split there.
	ReluSplits int
	// NoAlpha keeps CROWN's fixed relu slopes and the least-area lines of sigmoid and tanh instead of
	// optimizing them for each objective.
	NoAlpha bool
	// NoExact turns off the exact decision of small boxes of piecewise-linear networks (enumerating the
	// linear regions that meet a box once few relus are unstable on it; see exact.go).
	NoExact bool
	// NoAttack turns the counterexample search off (bounds only), for testing the bounds' soundness.
	NoAttack bool
}

// attackSteps is the number of gradient steps of the attack on each box.
const attackSteps = 6

// breadthFirstBoxes is how many boxes every search works level by level before it goes depth first: the
// first levels try the centres and corners of boxes all over the property's box, where a dive would
// stay in one corner (N1,5's violation of property 2 was found after 609 boxes level by level, and not in
// 30 s depth first).
const breadthFirstBoxes = 1000

// Verify decides whether the network satisfies the property on every case's box: branch and bound over
// input splits, CROWN bounds to prune, and a counterexample search on the boxes left open. A Certified
// verdict rests only on the sound bounds; a Violated verdict comes with a counterexample that a plain
// forward pass confirms. A network with convolution or pooling layers is bounded through its dense
// lowering (nn.Lower: the same real-valued function, max pooling as ReLU layers), and its counterexamples
// are confirmed on the network itself.
func Verify(ctx context.Context, net *nn.Network, prop *property.Property, opt Options) Result {
	start := time.Now()
	if !net.AllDense() {
		low, err := nn.Lower(net)
		if err != nil {
			return Result{Verdict: Unknown, Seconds: time.Since(start).Seconds()}
		}
		return confirm(net, prop, verify(ctx, low, net, prop, opt, start))
	}
	return verify(ctx, net, net, prop, opt, start)
}

// confirm keeps a Violated verdict of the lowered network only where the network's own forward pass
// confirms the counterexample (with its outputs), and the confirmed extra counterexamples; otherwise the
// verdict is Unknown.
func confirm(net *nn.Network, prop *property.Property, res Result) Result {
	if res.Verdict != Violated {
		return res
	}
	d := net.Inputs()
	var more []float64
	for r := 0; r+d <= len(res.More); r += d {
		if x := res.More[r : r+d]; prop.Unsafe(x, net.Forward(x)) {
			more = append(more, x...)
		}
	}
	res.More = more
	if x := res.Counterexample.Input; prop.Unsafe(x, net.Forward(x)) {
		res.Counterexample.Output = net.Forward(x)
		return res
	}
	if len(more) > 0 {
		res.Counterexample = &Counterexample{Input: more[:d:d], Output: net.Forward(more[:d])}
		return res
	}
	return Result{Verdict: Unknown, Seconds: res.Seconds, Boxes: res.Boxes}
}

// verify is Verify on a dense network; orig is the network the user gave (the same, or the network net
// is the lowering of), which the first counterexample search runs on.
func verify(ctx context.Context, net, orig *nn.Network, prop *property.Property, opt Options, start time.Time) Result {
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.Timeout+max(opt.Grace, 0))
		defer cancel()
	}
	s := newSearch(ctx, net, prop, opt, start)
	// Cheap first: a seeded search of every box for a counterexample.
	if !opt.NoAttack {
		if cx := falsify.Search(orig, prop, falsify.Options{Samples: 2000, Starts: 16, Steps: 30, StepSize: 0.02, Want: max(opt.Collect, 1)}, 1); len(cx) > 0 {
			if !s.collecting {
				return violated(orig, cx[:net.Inputs()], start, 0)
			}
			s.keep(cx)
		}
	}
	s.stopped = s.collecting && len(s.more)/net.Inputs() >= opt.Collect
	workers := opt.Workers
	if workers <= 0 {
		workers = 2
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work()
		}()
	}
	wg.Wait()
	return s.result()
}
