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
	net, prop := p.Net, p.Prop
	d := net.Inputs()
	dc := cfg.Domain
	dr := &Report{}
	if dc.Finish == "offset" {
		// Say now, not after the rounds, that the property does not suit the offset.
		if _, err := exclusions(prop, net.Outputs()); err != nil {
			return nil, nil, fmt.Errorf("domain.finish: offset: %s: %w", p.PropertyPath, err)
		}
	}
	x := append(append([]float64(nil), p.Neg...), p.Pos...)

	// The original network's counterexamples, found by search, and their neighbourhoods.
	ph := rep.Start("search counterexamples", 1)
	opt := falsify.Default
	opt.Want = 64
	cx := falsify.Search(net, prop, opt, cfg.Seed)
	cx = cx[:min(len(cx), opt.Want*d)]
	dr.InitialCounterexamples = len(cx) / d
	around := falsify.Around(prop, cx, max(dc.Neighbours/8, 1), dc.Radius, cfg.Seed)
	x = append(append(x, cx...), around...)
	ph.Add(1, "")
	ph.Finish(fmt.Sprintf("%d found", len(cx)/d))

	run := *cfg
	run.Mode = "sample"
	var hard []float64 // inputs sampled where the verifier got stuck
	var res *samplewise.Result
	verdict := verify.Unknown
	current := net
	// After the first counterexample, the verifier looks for more (they all join the repair set) for a
	// tenth of its budget, not all of it.
	budget := time.Duration(dc.VerifySeconds * float64(time.Second))
	growMargin := func() {
		for _, t := range []*configs.TrainSpec{&run.Retrain.Train, &run.Finetune.Train} {
			t.HardMargin = grownMargin(t.HardMargin, t.Margin, dc.MarginGrowth, dc.MaxMargin)
		}
	}
	if dc.HardStart {
		hard = append(append(hard, cx...), around...)
		growMargin()
	}
	for round := 1; round <= dc.Rounds && ctx.Err() == nil; round++ {
		log := Round{Round: round}
		sub := *p
		sub.Neg, sub.Pos = imitate.Split(net, prop, x)
		sub.Hard = hard
		if dc.Continue && res != nil {
			sub.Start = res.Repaired
		}
		log.Negatives, log.Positives = len(sub.Neg)/d, len(sub.Pos)/d
		if len(sub.Neg) > 0 {
			t0 := time.Now()
			r, err := samplewise.Run(ctx, &run, &sub, rep)
			if err != nil {
				return nil, nil, fmt.Errorf("round %d: %w", round, err)
			}
			log.RepairSeconds = time.Since(t0).Seconds()
			res, current = r, r.Repaired
		}
		// Verify the current network (the original while nothing was found to repair).
		vph := rep.Start(fmt.Sprintf("verify (round %d)", round), 1)
		vopt := verify.Options{Timeout: budget, Grace: time.Duration(dc.Grace * float64(budget)), BreadthFirst: true,
			Collect: 32, CollectFor: budget / 10}
		if round < dc.Rounds {
			vopt.Stall = dc.Stall // the last round has no next one to hand its open boxes to
		}
		v := verify.Verify(ctx, current, prop, vopt)
		verdict = v.Verdict
		log.Verdict, log.VerifySeconds, log.Boxes, log.Proven, log.Stalled = string(v.Verdict), v.Seconds, v.Boxes, v.Proven, v.Stalled
		vph.Add(1, "")
		vph.Finish(fmt.Sprintf("%s, %d boxes, %.1f%% proven", log.Outcome(), v.Boxes, 100*v.Proven))
		dr.VerifierSeconds += v.Seconds
		dr.FinalVerifySeconds = v.Seconds
		dr.Rounds = round
		if v.Verdict == verify.Certified {
			dr.Log = append(dr.Log, log)
			break
		}
		// Grow the repair set where the network is wrong or the proof is stuck.
		before := len(x)
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(1000+round)))
		if v.Verdict == verify.Violated {
			c := v.Counterexample.Input
			if v.More != nil {
				c = v.More
			}
			// Other violations of the repaired network nearby in the boxes.
			more := falsify.Search(current, prop, falsify.Options{Samples: 20000, Starts: 32, Steps: 30, StepSize: 0.02, Want: 16}, cfg.Seed+uint64(round))
			more = more[:min(len(more), 16*d)]
			// The repaired network failed here although earlier rounds may have had rows nearby: these
			// rows get the growing margin too.
			for _, s := range [][]float64{
				c, falsify.Around(prop, c, max(dc.Neighbours*d/len(c), 8), dc.Radius, cfg.Seed+uint64(round)),
				more, falsify.Around(prop, more, max(dc.Neighbours/8, 1), dc.Radius, cfg.Seed+uint64(round)),
			} {
				x = append(x, s...)
				hard = append(hard, s...)
			}
			growMargin()
		} else {
			// Undecided: sample the open boxes (where the margin is thinnest or the bounds loosest); these
			// rows, and those of earlier undecided rounds, get a margin that grows every such round, while
			// the rest of the box keeps the ordinary one (so fidelity elsewhere is not paid for them).
			for _, b := range v.Open {
				s := b.Sample(rng, max(dc.Neighbours/25, 1))
				x = append(x, s...)
				hard = append(hard, s...)
			}
			growMargin()
		}
		log.Added = (len(x) - before) / d
		dr.Log = append(dr.Log, log)
	}
	if res == nil {
		// Nothing to repair was ever found: report the original network as it is.
		res = &samplewise.Result{Repaired: net.Clone(), Report: &samplewise.Report{Paradigm: cfg.Paradigm, Network: p.NetworkPath, Property: p.PropertyPath, Seed: cfg.Seed, Seconds: map[string]float64{}}}
		samplewise.Measure(res.Report, p, res.Repaired, cfg.Eval.DomainSamples, cfg.Seed)
	}
	if verdict != verify.Certified && dc.Finish == "offset" && ctx.Err() == nil {
		ph := rep.Start("output offset", 1)
		shifted, o, err := Offset(ctx, res.Repaired, prop, budget, cfg.Seed)
		if err != nil {
			return nil, nil, err
		}
		ph.Add(1, "")
		ph.Finish(fmt.Sprintf("%s, %d verifier runs", o.Verdict, o.Tries))
		dr.Offset = o
		dr.VerifierSeconds += o.Seconds
		if shifted != nil {
			verdict = verify.Certified
			res.Repaired = shifted
			samplewise.Measure(res.Report, p, res.Repaired, cfg.Eval.DomainSamples, cfg.Seed)
		}
	}
	dr.Verdict = string(verdict)
	dr.Certified = verdict == verify.Certified
	res.Report.Seconds["verify"] = dr.VerifierSeconds
	res.Report.Seconds["total"] = time.Since(start).Seconds()
	return res, dr, nil
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
