// Package domain repairs a network over whole input boxes: rounds of behaviour-imitation repair, each
// checked by the verifier, with counterexamples and undecided regions joining the repair set, until the
// property is certified on every box or the rounds run out.
package domain

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/samplewise"
	"github.com/birdnn/birdnn/verify"
)

// Repair runs domain-wise repair of p as cfg says (cfg.Domain controls the rounds). Every round repairs
// the original network (so imitation targets and fidelity refer to it) on the repair set gathered so far:
// the box samples of p, the counterexamples of the original network and their neighbourhoods, and, after
// each round, the verifier's counterexample or samples of the boxes it left undecided. It returns the
// repaired network with its sample-wise report and the domain-wise report, whose Certified is set only
// by a verifier proof over every box.
func Repair(ctx context.Context, cfg *configs.Repair, p *samplewise.Problem, rep *progress.Reporter) (*samplewise.Result, *Report, error) {
	start := time.Now()
	if cfg.Paradigm == "patch" {
		return patchRepair(ctx, cfg, p, rep, start)
	}
	if cfg.Domain.Finish == "offset" {
		// Say now, not after the rounds, that the property does not suit the offset.
		if _, err := exclusions(p.Prop, p.Net.Outputs()); err != nil {
			return nil, nil, fmt.Errorf("domain.finish: offset: %s: %w", p.PropertyPath, err)
		}
	}
	r := newRounds(cfg, p, rep)
	for round := 1; round <= cfg.Domain.Rounds && ctx.Err() == nil; round++ {
		done, err := r.round(ctx, round)
		if err != nil {
			return nil, nil, fmt.Errorf("round %d: %w", round, err)
		}
		if done {
			break
		}
	}
	if r.res == nil {
		// Nothing to repair was ever found: report the original network as it is.
		r.res = &samplewise.Result{Repaired: p.Net.Clone(), Report: &samplewise.Report{Paradigm: cfg.Paradigm, Network: p.NetworkPath, Property: p.PropertyPath, Seed: cfg.Seed, Seconds: map[string]float64{}}}
		samplewise.Measure(r.res.Report, p, r.res.Repaired, cfg.Eval.DomainSamples, cfg.Seed)
	}
	if r.verdict != verify.Certified && cfg.Domain.Finish == "offset" && ctx.Err() == nil {
		if err := r.offset(ctx); err != nil {
			return nil, nil, err
		}
	}
	if r.verdict == verify.Certified && cfg.Domain.ShrinkSteps > 0 && r.res != nil && ctx.Err() == nil {
		r.shrink(ctx)
	}
	r.dr.Verdict = string(r.verdict)
	r.dr.Certified = r.verdict == verify.Certified
	return finish(cfg, r.res, r.dr, rep, start)
}

// finish flags a certified repair below the fidelity floor and stamps the times.
func finish(cfg *configs.Repair, res *samplewise.Result, dr *Report, rep *progress.Reporter, start time.Time) (*samplewise.Result, *Report, error) {
	if floor := cfg.Domain.FidelityFloor; dr.Certified && floor > 0 {
		if f := float64(res.Report.Fidelity.Domain); !math.IsNaN(f) && f < floor {
			dr.BelowFloor = fmt.Sprintf("certified, but the domain fidelity %.2f%% is below the floor of %.2f%% (domain.fidelity_floor): the repaired network's decision differs from the original's on %.2f%% of the domain samples", f, floor, 100-f)
			rep.Warn(dr.BelowFloor)
		}
	}
	res.Report.Seconds["verify"] = dr.VerifierSeconds
	res.Report.Seconds["total"] = time.Since(start).Seconds()
	return res, dr, nil
}

// patchRepair repairs p with a local patch (paradigm patch, Patch) in one step: no imitation rounds.
// Uncertified, the original network is reported as it is.
func patchRepair(ctx context.Context, cfg *configs.Repair, p *samplewise.Problem, rep *progress.Reporter, start time.Time) (*samplewise.Result, *Report, error) {
	box, _, ok := p.Net.DomainBox(p.Prop)
	if !ok {
		return nil, nil, fmt.Errorf("patch: no input domain: the network has no input bounds and the property no boxes")
	}
	ph := rep.Start("local patch", 1)
	patched, twin, pr, err := Patch(ctx, p.Net, p.Prop, box, cfg.Domain.PatchBand, time.Duration(cfg.Domain.VerifySeconds*float64(time.Second)), p.Decision(), cfg.Seed)
	if err != nil {
		return nil, nil, err
	}
	ph.Add(1, "")
	ph.Finish(fmt.Sprintf("%s, %d box(es), %d neurons added", pr.Verdict, len(pr.Boxes), pr.AddedNeurons))
	dr := &Report{Verdict: pr.Verdict, Certified: pr.Verdict == string(verify.Certified), VerifierSeconds: pr.VerifierSeconds, Patch: pr, Original: twin}
	if patched != nil {
		dr.Changed = pr.Changed
	}
	res := &samplewise.Result{Repaired: patched, Report: &samplewise.Report{Paradigm: cfg.Paradigm, Network: p.NetworkPath, Property: p.PropertyPath, Seed: cfg.Seed, Seconds: map[string]float64{"patch": pr.Seconds}}}
	if patched == nil {
		res.Repaired = p.Net.Clone()
	}
	samplewise.Measure(res.Report, p, res.Repaired, cfg.Eval.DomainSamples, cfg.Seed)
	return finish(cfg, res, dr, rep, start)
}

// rounds is one domain-wise repair under way: the repair set gathered so far and the last repair.
type rounds struct {
	cfg *configs.Repair
	p   *samplewise.Problem
	rep *progress.Reporter
	// run is cfg for each round's sample-wise repair, its hard margin grown after uncertified rounds.
	run     configs.Repair
	x       []float64 // the repair set: box samples, counterexamples, their neighbourhoods
	hard    []float64 // its rows that get the hard margin
	res     *samplewise.Result
	current *nn.Network // the network the last round verified
	verdict verify.Verdict
	budget  time.Duration
	dr      *Report
}

// newRounds starts a repair of p: the repair set is p's samples, the original network's counterexamples
// found by search, and their neighbourhoods.
func newRounds(cfg *configs.Repair, p *samplewise.Problem, rep *progress.Reporter) *rounds {
	d, dc := p.Net.Inputs(), cfg.Domain
	r := &rounds{cfg: cfg, p: p, rep: rep, run: *cfg, current: p.Net, verdict: verify.Unknown, dr: &Report{},
		budget: time.Duration(dc.VerifySeconds * float64(time.Second))}
	r.run.Mode = "sample"
	r.x = append(append([]float64(nil), p.Neg...), p.Pos...)
	ph := rep.Start("search counterexamples", 1)
	opt := falsify.Default
	opt.Want = 64
	cx := falsify.Search(p.Net, p.Prop, opt, cfg.Seed)
	cx = cx[:min(len(cx), opt.Want*d)]
	r.dr.InitialCounterexamples = len(cx) / d
	around := falsify.Around(p.Prop, cx, max(dc.Neighbours/8, 1), dc.Radius, cfg.Seed)
	r.x = append(append(r.x, cx...), around...)
	ph.Add(1, "")
	ph.Finish(fmt.Sprintf("%d found", len(cx)/d))
	if dc.HardStart {
		r.hard = append(append(r.hard, cx...), around...)
		r.growMargin()
	}
	return r
}

// growMargin grows the hard rows' margin of both paradigms (see grownMargin).
func (r *rounds) growMargin() {
	dc := r.cfg.Domain
	for _, t := range []*configs.TrainSpec{&r.run.Retrain.Train, &r.run.Finetune.Train} {
		t.HardMargin = grownMargin(t.HardMargin, t.Margin, dc.MarginGrowth, dc.MaxMargin)
	}
}

// round repairs the original network on the repair set (continuing from the last repair when
// domain.continue is set), verifies the result and, unless it is certified (done), grows the repair set
// where the network is wrong or the proof is stuck.
func (r *rounds) round(ctx context.Context, round int) (done bool, err error) {
	net, prop, dc := r.p.Net, r.p.Prop, r.cfg.Domain
	d := net.Inputs()
	log := Round{Round: round}
	sub := *r.p
	sub.Neg, sub.Pos = imitate.Split(net, prop, r.x)
	sub.Hard = r.hard
	if dc.Continue && r.res != nil {
		sub.Start = r.res.Repaired
	}
	log.Negatives, log.Positives = len(sub.Neg)/d, len(sub.Pos)/d
	if len(sub.Neg) > 0 {
		t0 := time.Now()
		res, err := samplewise.Run(ctx, &r.run, &sub, r.rep)
		if err != nil {
			return false, err
		}
		log.RepairSeconds = time.Since(t0).Seconds()
		r.res, r.current = res, res.Repaired
	}
	// Verify the current network (the original while nothing was found to repair). After the first
	// counterexample, the verifier looks for more (they all join the repair set) for a tenth of its
	// budget, not all of it.
	vph := r.rep.Start(fmt.Sprintf("verify (round %d)", round), 1)
	vopt := verify.Options{Timeout: r.budget, Grace: time.Duration(dc.Grace * float64(r.budget)), BreadthFirst: true,
		Collect: 32, CollectFor: r.budget / 10}
	if round < dc.Rounds {
		vopt.Stall = dc.Stall // the last round has no next one to hand its open boxes to
	}
	v := verify.Verify(ctx, r.current, prop, vopt)
	r.verdict = v.Verdict
	log.Verdict, log.VerifySeconds, log.Boxes, log.Proven, log.Stalled = string(v.Verdict), v.Seconds, v.Boxes, v.Proven, v.Stalled
	vph.Add(1, "")
	vph.Finish(fmt.Sprintf("%s, %d boxes, %.1f%% proven", log.Outcome(), v.Boxes, 100*v.Proven))
	r.dr.VerifierSeconds += v.Seconds
	r.dr.FinalVerifySeconds = v.Seconds
	r.dr.Rounds = round
	if v.Verdict == verify.Certified {
		r.dr.Log = append(r.dr.Log, log)
		return true, nil
	}
	before := len(r.x)
	r.grow(v, round)
	log.Added = (len(r.x) - before) / d
	r.dr.Log = append(r.dr.Log, log)
	return false, nil
}

// grow adds to the repair set after an uncertified round: the verifier's counterexamples, other
// violations nearby and their neighbourhoods, or samples of the boxes it left open; they all get the
// hard margin, which grows.
func (r *rounds) grow(v verify.Result, round int) {
	prop, dc, seed := r.p.Prop, r.cfg.Domain, r.cfg.Seed
	d := r.p.Net.Inputs()
	rng := rand.New(rand.NewPCG(seed, uint64(1000+round)))
	if v.Verdict == verify.Violated {
		c := v.Counterexample.Input
		if v.More != nil {
			c = v.More
		}
		// Other violations of the repaired network nearby in the boxes.
		more := falsify.Search(r.current, prop, falsify.Options{Samples: 20000, Starts: 32, Steps: 30, StepSize: 0.02, Want: 16}, seed+uint64(round))
		more = more[:min(len(more), 16*d)]
		// The repaired network failed here although earlier rounds may have had rows nearby: these
		// rows get the growing margin too.
		for _, s := range [][]float64{
			c, falsify.Around(prop, c, max(dc.Neighbours*d/len(c), 8), dc.Radius, seed+uint64(round)),
			more, falsify.Around(prop, more, max(dc.Neighbours/8, 1), dc.Radius, seed+uint64(round)),
		} {
			r.x = append(r.x, s...)
			r.hard = append(r.hard, s...)
		}
	} else {
		// Undecided: sample the open boxes (where the margin is thinnest or the bounds loosest); these
		// rows, and those of earlier undecided rounds, get a margin that grows every such round, while
		// the rest of the box keeps the ordinary one (so fidelity elsewhere is not paid for them).
		for _, b := range v.Open {
			s := b.Sample(rng, max(dc.Neighbours/25, 1))
			r.x = append(r.x, s...)
			r.hard = append(r.hard, s...)
		}
	}
	r.growMargin()
}

// shrink pulls the certified repair back toward the original (domain.shrink_steps): bisection on lambda
// in [0, 1] for the least lambda whose network original + lambda (repaired - original) the verifier
// certifies; that network replaces the repair when its argmin agreement with the original, on domain
// samples drawn apart from the reported ones, is no lower.
func (r *rounds) shrink(ctx context.Context) {
	t0 := time.Now()
	orig, full := r.p.Net, r.res.Repaired
	steps := r.cfg.Domain.ShrinkSteps
	budget := time.Duration(math.Min(r.cfg.Domain.VerifySeconds, math.Max(2, 2*r.dr.FinalVerifySeconds)) * float64(time.Second))
	ph := r.rep.Start("shrink toward the original", steps)
	sr := &ShrinkReport{Lambda: 1}
	lo, hi := 0.0, 1.0
	var best *nn.Network
	for step := 0; step < steps && ctx.Err() == nil; step++ {
		mid := (lo + hi) / 2
		cand, err := nn.Between(orig, full, mid)
		if err != nil {
			sr.Error = err.Error()
			break
		}
		v := verify.Verify(ctx, cand, r.p.Prop, verify.Options{Timeout: budget, BreadthFirst: true})
		sr.Tries++
		sr.VerifierSeconds += v.Seconds
		if v.Verdict == verify.Certified {
			hi, best = mid, cand
		} else {
			lo = mid
		}
		ph.Add(1, fmt.Sprintf("lambda %.3g %s", mid, v.Verdict))
	}
	box, _, _ := orig.DomainBox(r.p.Prop)
	x := box.Sample(rand.New(rand.NewPCG(r.cfg.Seed, 11)), max(r.cfg.Eval.DomainSamples, 5000))
	y0, m := orig.Forward(x), orig.Outputs()
	sr.SelectionBefore = r.p.Agreement(y0, full.Forward(x), m)
	sr.SelectionAfter = sr.SelectionBefore
	if best != nil {
		if f := r.p.Agreement(y0, best.Forward(x), m); f >= sr.SelectionBefore {
			sr.Lambda, sr.SelectionAfter = hi, f
			r.res.Repaired = best
			samplewise.Measure(r.res.Report, r.p, best, r.cfg.Eval.DomainSamples, r.cfg.Seed)
		}
	}
	sr.Seconds = time.Since(t0).Seconds()
	r.dr.VerifierSeconds += sr.VerifierSeconds
	r.dr.Shrink = sr
	ph.Finish(fmt.Sprintf("lambda %.3g, selection fidelity %.2f%% -> %.2f%%", sr.Lambda, sr.SelectionBefore, sr.SelectionAfter))
}

// offset finishes an uncertified repair with the output offset (domain.finish: offset).
func (r *rounds) offset(ctx context.Context) error {
	ph := r.rep.Start("output offset", 1)
	shifted, o, err := Offset(ctx, r.res.Repaired, r.p.Prop, r.budget, r.cfg.Seed)
	if err != nil {
		return err
	}
	ph.Add(1, "")
	ph.Finish(fmt.Sprintf("%s, %d verifier runs", o.Verdict, o.Tries))
	r.dr.Offset = o
	r.dr.VerifierSeconds += o.Seconds
	if shifted != nil {
		r.verdict = verify.Certified
		r.res.Repaired = shifted
		samplewise.Measure(r.res.Report, r.p, r.res.Repaired, r.cfg.Eval.DomainSamples, r.cfg.Seed)
	}
	return nil
}

// grownMargin is the hard rows' margin after an uncertified round: the larger of the hard and the ordinary
// margin times growth, up to limit (0: no limit); a hard margin set above limit is kept as it is.
func grownMargin(hard, margin, growth, limit float64) float64 {
	g := math.Max(hard, margin) * growth
	if limit > 0 {
		g = math.Min(g, limit)
	}
	return math.Max(hard, g)
}
