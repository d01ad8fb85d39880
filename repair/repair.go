// Package repair is birdnn's one entry point for a repair run: it loads what a config names and repairs
// it sample-wise (package samplewise) or domain-wise (package domain), and writes the result.
package repair

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/diff"
	"github.com/birdnn/birdnn/domain"
	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/samplewise"
)

// Result is a finished repair: the repaired network and what was measured.
type Result struct {
	Repaired *nn.Network
	Report   *Report
}

// Report is a repair's report: the sample-wise measures and, for domain-wise repair, its rounds and
// verdict. Its JSON is the sample-wise report's with a "domain" object added.
type Report struct {
	*samplewise.Report
	// Domain reports domain-wise repair (mode: domain); nil for sample-wise repair.
	Domain *domain.Report `json:"domain,omitempty"`
	// Drift is the certified drift of the repaired network from the original over the input domain
	// (eval.drift_seconds); DriftSkipped says why there is none when there is none.
	Drift        *diff.Drift `json:"drift,omitempty"`
	DriftSkipped string      `json:"drift_skipped,omitempty"`
}

// Run loads the network, property and data cfg names and repairs them as cfg.Mode says, reporting
// progress to rep (which may be nil). It returns ctx's error when ctx ends first.
func Run(ctx context.Context, cfg *configs.Repair, rep *progress.Reporter) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	p, err := samplewise.Load(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return RunProblem(ctx, cfg, p, rep)
}

// RunProblem repairs a loaded problem as cfg.Mode says: sample-wise, or domain-wise in rounds checked by
// the verifier. It returns ctx's error when ctx ends first, and then no result.
func RunProblem(ctx context.Context, cfg *configs.Repair, p *samplewise.Problem, rep *progress.Reporter) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var res *Result
	switch cfg.Mode {
	case "domain":
		r, d, err := domain.Repair(ctx, cfg, p, rep)
		if err != nil {
			return nil, err
		}
		res = &Result{Repaired: r.Repaired, Report: &Report{Report: r.Report, Domain: d}}
	case "sample":
		r, err := samplewise.Run(ctx, cfg, p, rep)
		if err != nil {
			return nil, err
		}
		res = &Result{Repaired: r.Repaired, Report: &Report{Report: r.Report}}
	default:
		return nil, fmt.Errorf("mode %q: want sample or domain", cfg.Mode)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ref, changed := p.Net, []property.Box(nil)
	if d := res.Report.Domain; d != nil && d.Original != nil {
		ref, changed = d.Original, d.Changed // the original in the repaired network's shape (a patch's)
	}
	res.Report.Drift, res.Report.DriftSkipped = drift(ctx, cfg, p, ref, res.Repaired, changed, rep)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// drift certifies how far the repair moved the network from orig, which computes what p's network does
// (package diff), within eval.drift_seconds, or says why it did not. The drift's inside is changed when
// given (the boxes a patch may change), else the property's boxes.
func drift(ctx context.Context, cfg *configs.Repair, p *samplewise.Problem, orig, repaired *nn.Network, changed []property.Box, rep *progress.Reporter) (*diff.Drift, string) {
	if cfg.Eval.DriftSeconds == 0 {
		return nil, "eval.drift_seconds is 0"
	}
	if p.Classifier {
		return nil, "a classifier: its whole pixel box is not a domain it is used on (fidelity is measured on held-out images)"
	}
	box, name, ok := p.Net.DomainBox(p.Prop)
	if !ok {
		return nil, "no input domain: the network has no input bounds and the property no boxes"
	}
	boxes := changed
	if boxes == nil {
		for _, c := range p.Prop.Cases {
			boxes = append(boxes, c.Box)
		}
	}
	ph := rep.Start(fmt.Sprintf("drift (certified, %gs)", cfg.Eval.DriftSeconds), 1)
	d, err := diff.DriftOf(ctx, orig, repaired, box, boxes, diff.DriftOptions{Timeout: time.Duration(cfg.Eval.DriftSeconds * float64(time.Second)), Argmax: p.Classifier, Carve: changed != nil})
	if err != nil {
		ph.Finish("not computed")
		return nil, err.Error()
	}
	d.Domain = name
	ph.Finish(fmt.Sprintf("max |f' - f| <= %.3g outside the boxes; decision proved unchanged on %.1f%% of the domain", d.Outside, d.DecisionProved))
	return d, ""
}

// Certified says whether a verifier proved the repaired network safe on every box of the property
// (domain-wise repair only).
func (r *Report) Certified() bool { return r.Domain != nil && r.Domain.Certified }

// JSON renders the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Markdown renders the report for people.
func (r *Report) Markdown() []byte {
	var extra [][]byte
	if r.Domain != nil {
		extra = append(extra, r.Domain.Markdown())
	}
	if r.Drift != nil {
		extra = append(extra, r.Drift.Markdown())
	} else if r.DriftSkipped != "" {
		extra = append(extra, []byte("## Drift\n\nNot certified: "+r.DriftSkipped+".\n\n"))
	}
	return r.Report.Markdown(extra...)
}

// Write writes the result into the folder dir, which must exist: repaired.onnx (in doubles),
// repaired.nnet (ReLU networks only), report.json and report.md, each file replaced whole or not at all.
func (r *Result) Write(dir string) error {
	// Doubles: the file holds exactly the network that was measured and verified (float32 weights would
	// be another network, which a certificate need not cover).
	if err := netio.Save(filepath.Join(dir, "repaired.onnx"), r.Repaired, netio.Options{Float64: true}); err != nil {
		return err
	}
	if r.Repaired.AllReLU() {
		if err := netio.Save(filepath.Join(dir, "repaired.nnet"), r.Repaired, netio.Options{}); err != nil {
			return err
		}
	}
	js, err := r.Report.JSON()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "report.json"), js); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, "report.md"), r.Report.Markdown())
}
