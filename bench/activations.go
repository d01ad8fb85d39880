package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/domain"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/repair"
	"github.com/birdnn/birdnn/train"
	"github.com/birdnn/birdnn/verify"
)

// SuiteTeacher is an ACAS Xu network of the activation suite and the property it fails.
type SuiteTeacher struct {
	I, J, Prop int
}

// Name is e.g. "N2,1".
func (t SuiteTeacher) Name() string { return fmt.Sprintf("N%d,%d", t.I, t.J) }

// File is the base name of a student's ONNX file, e.g. "tanh_n21.onnx".
func (t SuiteTeacher) File(act string) string { return fmt.Sprintf("%s_n%d%d.onnx", act, t.I, t.J) }

// Path is the teacher's .nnet file as configs name it (resolved by datasets.Resolve).
func (t SuiteTeacher) Path() string {
	return fmt.Sprintf("data:acasxu/nnet/ACASXU_run2a_%d_%d_batch_2000.nnet", t.I, t.J)
}

// SuiteTeachers are the teachers of the activation suite: N2,1, N2,9, N3,5 against property 2 (N2,9 also
// fails property 8), and N1,9 against property 7.
var SuiteTeachers = []SuiteTeacher{{2, 1, 2}, {2, 9, 2}, {3, 5, 2}, {1, 9, 7}}

// SuiteActivations are the students' activations.
var SuiteActivations = []string{"tanh", "sigmoid", "elu"}

// Teacher loads the teacher network and its failing property.
func (t SuiteTeacher) Teacher() (*nn.Network, *property.Property, error) {
	np, err := datasets.ACASXuNet(t.I, t.J, "nnet")
	if err != nil {
		return nil, nil, err
	}
	net, err := nnet.ReadFile(np)
	if err != nil {
		return nil, nil, err
	}
	pp, err := datasets.ACASXuProperty(t.Prop)
	if err != nil {
		return nil, nil, err
	}
	prop, err := property.ReadFile(pp)
	if err != nil {
		return nil, nil, err
	}
	return net, prop, nil
}

// Student is one distilled network of the suite.
type Student struct {
	Teacher, Activation, File string
	// Agreement is the argmin agreement with the teacher on 10000 uniform samples of the input domain.
	Agreement float64
	// Violates says whether a counterexample search (sampling, then the verifier) found the teacher's
	// failing property violated.
	Violates bool
	Epochs   int
	Seconds  float64
	Net      *nn.Network `json:"-"`
}

// MakeStudent distils one student of t with the given activation from base (a training config whose
// teacher, property and activation it sets), and checks it.
func MakeStudent(ctx context.Context, t SuiteTeacher, act string, base configs.Train, rep *progress.Reporter) (*Student, error) {
	teacher, prop, err := t.Teacher()
	if err != nil {
		return nil, err
	}
	cfg := base
	cfg.Activation = act
	set, err := train.Distil(ctx, teacher, prop, &cfg, rep)
	if err != nil {
		return nil, err
	}
	res, err := train.Fit(ctx, set, &cfg, rep)
	if err != nil {
		return nil, err
	}
	s := &Student{Teacher: t.Name(), Activation: act, File: t.File(act), Epochs: res.Epochs, Seconds: res.Seconds, Net: res.Net}
	s.Agreement = Agreement(teacher, res.Net, 10000, cfg.Seed+99)
	s.Violates = Violates(ctx, res.Net, prop, cfg.Seed)
	return s, nil
}

// Violates reports whether net has a counterexample of prop: found by sampling, or else by the verifier
// within a minute (violations on the box's faces escape sampling). Unknown counts as no.
func Violates(ctx context.Context, net *nn.Network, prop *property.Property, seed uint64) bool {
	return verify.Counterexamples(ctx, net, prop, 1, time.Minute, seed) != nil
}

// Agreement is the percentage of n uniform samples of a's input domain on which a and b take the same
// decision (argmin).
func Agreement(a, b *nn.Network, n int, seed uint64) float64 {
	box, _, ok := a.DomainBox(nil)
	if !ok {
		return 0
	}
	x := box.Sample(rand.New(rand.NewPCG(seed, 21)), n)
	return nn.Agreement(a.Forward(x), b.Forward(x), a.Outputs())
}

// ActivationRow is one network x activation x paradigm of the activation bench: sample-wise repair's
// figures, and whether domain-wise repair ended certified.
type ActivationRow struct {
	Teacher, Activation, Paradigm                     string
	Success, Generalization, Drawdown, DomainFidelity float64
	SampleSeconds                                     float64
	Certified                                         bool
	DomainVerdict                                     string
	DomainRounds                                      int
	// Offset, when the output offset finished the domain-wise repair (domain.finish: offset), holds the
	// raise of each raised output's bias.
	Offset                                               []float64 `json:",omitempty"`
	OffsetRMS                                            float64   `json:",omitempty"` // the outputs' RMS on the box
	DomainSeconds, DomainFidelityAfter, InBoxFidelityDom float64
	// DomainLog is the domain-wise repair's rounds: each one's repair and verification seconds and verdict.
	DomainLog []domain.Round `json:",omitempty"`
	Err       string
}

// Verdict is the domain-wise verdict, with the raises and the outputs' RMS when the output offset gave it.
func (r ActivationRow) Verdict() string {
	if r.Offset == nil {
		return r.DomainVerdict
	}
	return fmt.Sprintf("%s (offset %.3g, output RMS %.3g)", r.DomainVerdict, r.Offset, r.OffsetRMS)
}

// RunActivations repairs each network (path, with its teacher's failing property) with both paradigms,
// sample-wise and domain-wise, starting from base.
func RunActivations(ctx context.Context, nets []SuiteNet, base *configs.Repair, progress func(ActivationRow)) []ActivationRow {
	var rows []ActivationRow
	for _, n := range nets {
		for _, paradigm := range []string{"retrain", "finetune"} {
			row := ActivationRow{Teacher: n.Teacher.Name(), Activation: n.Activation, Paradigm: paradigm}
			cfg := *base
			cfg.Paradigm, cfg.Network, cfg.Property, cfg.Properties = paradigm, n.Path, fmt.Sprintf("data:acasxu/vnnlib/prop_%d.vnnlib", n.Teacher.Prop), nil
			cfg.Mode = "sample"
			res, err := repair.Run(ctx, &cfg, nil)
			if err == nil {
				r := res.Report
				row.Success, row.Generalization, row.Drawdown = float64(r.RepairSuccessRate), float64(r.Generalization), float64(r.Drawdown)
				row.DomainFidelity, row.SampleSeconds = float64(r.Fidelity.Domain), r.Seconds["total"]
				cfg.Mode = "domain"
				var dres *repair.Result
				if dres, err = repair.Run(ctx, &cfg, nil); err == nil {
					d := dres.Report.Domain
					row.Certified, row.DomainVerdict, row.DomainRounds = d.Certified, d.Verdict, d.Rounds
					if o := d.Offset; o != nil && o.Verdict == "certified" {
						row.Offset, row.OffsetRMS = o.Shift, o.OutputRMS
					}
					row.DomainSeconds, row.DomainLog = dres.Report.Seconds["total"], d.Log
					row.DomainFidelityAfter, row.InBoxFidelityDom = float64(dres.Report.Fidelity.Domain), float64(dres.Report.Fidelity.HeldOutPositives)
				}
			}
			if err != nil {
				row.Err = err.Error()
			}
			rows = append(rows, row)
			if progress != nil {
				progress(row)
			}
		}
	}
	return rows
}

// SuiteNet is a network of the activation bench: a suite student or the ReLU teacher itself.
type SuiteNet struct {
	Teacher    SuiteTeacher
	Activation string
	Path       string
}

// ActivationsMarkdown renders the activation bench.
func ActivationsMarkdown(rows []ActivationRow) []byte {
	var b bytes.Buffer
	b.WriteString("# Repair across activations: the ACAS Xu activation suite\n\n")
	b.WriteString("Sample-wise repair (10000 repair and 10000 test samples of the failing property's box) and domain-wise repair (until certified) of each network, with both paradigms.\n\n")
	b.WriteString("| teacher | activation | paradigm | success | generalization | drawdown | fidelity (domain) | seconds | domain-wise | rounds | fidelity (domain) | fidelity (safe in-box) | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | error: %s |||||||||\n", r.Teacher, r.Activation, r.Paradigm, cell(r.Err))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %d | %s | %s | %.1f |\n", r.Teacher, r.Activation, r.Paradigm,
			pct(r.Success), pct(r.Generalization), pct(r.Drawdown), pct(r.DomainFidelity), r.SampleSeconds,
			r.Verdict(), r.DomainRounds, pct(r.DomainFidelityAfter), pct(r.InBoxFidelityDom), r.DomainSeconds)
	}
	b.WriteString("\nWhere the domain-wise seconds went, round by round (repair seconds + verification seconds, the verifier's verdict and the share of the box it proved):\n\n| teacher | activation | paradigm | rounds |\n|---|---|---|---|\n")
	for _, r := range rows {
		if r.Err != "" || len(r.DomainLog) == 0 {
			continue
		}
		var rounds []string
		for _, l := range r.DomainLog {
			verdict := l.Verdict
			if l.Stalled {
				verdict += ", stalled"
			}
			rounds = append(rounds, fmt.Sprintf("%.1f + %.1f s %s (%.1f%%)", l.RepairSeconds, l.VerifySeconds, verdict, 100*l.Proven))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Teacher, r.Activation, r.Paradigm, strings.Join(rounds, "; "))
	}
	return b.Bytes()
}
