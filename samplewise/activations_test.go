package samplewise

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/train"
)

// distil trains a student of the given activation to reproduce teacher's outputs on samples of [-1, 1]^2,
// with birdnn's own engine.
func distil(t *testing.T, teacher *nn.Network, act activation.Activation, seed uint64) *nn.Network {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	student := nn.Random(rng, []int{2, 16, 16, 3}, act, activation.Identity)
	student.Norm = teacher.Norm
	const n, batch = 4096, 512
	// Uniform samples of the domain, a quarter of them around the property's box where the bug is.
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		x[2*i], x[2*i+1] = 2*rng.Float64()-1, 2*rng.Float64()-1
		if i%4 == 0 {
			x[2*i], x[2*i+1] = 0.35+0.6*rng.Float64(), 0.15+0.6*rng.Float64()
		}
	}
	y := teacher.Forward(x)
	gr, err := train.NewGraph(student, batch, train.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	tn, wn := gr.NewInput("t", batch, 3), gr.NewInput("w", batch, 1)
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	if err != nil {
		t.Fatal(err)
	}
	if err := gr.Compile(loss); err != nil {
		t.Fatal(err)
	}
	w := make([]float64, batch)
	for i := range w {
		w[i] = 1.0 / batch
	}
	gr.Feed(wn, w)
	opt := train.NewAdam(0.03)
	for e := 0; e < 150; e++ {
		for s := 0; s < n; s += batch {
			gr.Feed(gr.X, x[2*s:2*(s+batch)])
			gr.Feed(tn, y[3*s:3*(s+batch)])
			if _, err := gr.Run(); err != nil {
				t.Fatal(err)
			}
			if err := opt.Step(gr); err != nil {
				t.Fatal(err)
			}
		}
	}
	return gr.Network()
}

// TestRepairSmoothNetworks distils tanh and sigmoid students of the demo network, checks that they inherit
// the demo's bug, and repairs them with both paradigms: nothing in the repair is specific to an activation.
func TestRepairSmoothNetworks(t *testing.T) {
	for _, act := range []activation.Activation{activation.Tanh, activation.Sigmoid} {
		t.Run(act.Name, func(t *testing.T) { repairStudent(t, act) })
	}
}

func repairStudent(t *testing.T, act activation.Activation) {
	cfg := demoConfig(t)
	p, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	student := distil(t, p.Net, act, 5)
	x := p.Prop.Sample(rand.New(rand.NewPCG(9, 9)), 2000)
	agree := Figure(nn.Agreement(p.Net.Forward(x), student.Forward(x), 3))
	t.Logf("%s student: argmin agreement %.1f%% with the teacher on the property's box", act, agree)
	if agree < 70 {
		t.Fatalf("the %s student learned too little of its teacher (%.1f%%)", act, agree)
	}
	neg, pos := imitate.Split(student, p.Prop, append(append([]float64(nil), p.Neg...), p.Pos...))
	if len(neg) == 0 {
		t.Fatalf("the %s student (argmin agreement %.1f%% with the teacher on the box) does not violate the property", act, agree)
	}
	tneg, tpos := imitate.Split(student, p.Prop, append(append([]float64(nil), p.TestNeg...), p.TestPos...))
	sp := &Problem{Net: student, Prop: p.Prop, Neg: neg, Pos: pos, TestNeg: tneg, TestPos: tpos, NetworkPath: act.Name + " student", PropertyPath: p.PropertyPath}
	for _, paradigm := range []string{"finetune", "retrain"} {
		c := demoConfig(t, "paradigm="+paradigm)
		res, err := Run(context.Background(), c, sp, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := res.Report
		t.Logf("%s %s: %d negatives, success %.2f, generalization %.2f, drawdown %.2f, domain fidelity %.2f, %.2fs",
			act, paradigm, r.Counts.RepairNegatives, r.RepairSuccessRate, r.Generalization, r.Drawdown, r.Fidelity.Domain, r.Seconds["total"])
		if r.RepairSuccessRate != 100 || r.Drawdown > 1 {
			t.Errorf("%s %s: success %v, drawdown %v", act, paradigm, r.RepairSuccessRate, r.Drawdown)
		}
		if res.Repaired.Layers[0].Act != act {
			t.Errorf("the repaired network's activation changed to %v", res.Repaired.Layers[0].Act)
		}
	}
}
