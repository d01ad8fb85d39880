package repair

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/samplewise"
)

func demo(t *testing.T, sets ...string) *configs.Repair {
	t.Helper()
	y, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", y, sets)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSampleModeIsSamplewise: in sample mode the entry point gives what package samplewise gives on
// its own, byte for byte in JSON (seconds aside), and no domain section.
func TestSampleModeIsSamplewise(t *testing.T) {
	cfg := demo(t, "paradigm=retrain", "retrain.train.epochs=20", "eval.drift_seconds=1")
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := samplewise.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := samplewise.Run(context.Background(), cfg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Drift == nil {
		t.Errorf("no drift section (%s)", res.Report.DriftSkipped)
	}
	res.Report.Drift = nil
	res.Report.Seconds, direct.Report.Seconds = nil, nil
	got, err := res.Report.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := direct.Report.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("entry point's JSON differs from samplewise's:\n%s\n%s", got, want)
	}
	if res.Report.Domain != nil || res.Report.Certified() || bytes.Contains(res.Report.Markdown(), []byte("Domain-wise")) {
		t.Error("a sample-wise report has a domain section")
	}
}

// TestDomainModeWrites: in domain mode the report carries the verdict in JSON and Markdown, and Write
// leaves a network that reads back to the same outputs.
func TestDomainModeWrites(t *testing.T) {
	cfg := demo(t, "mode=domain", "paradigm=retrain", "domain.verify_seconds=20", "eval.drift_seconds=1")
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Report.Certified() {
		t.Fatalf("demo not certified: %+v", res.Report.Domain)
	}
	dir := t.TempDir()
	if err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	var js struct {
		RepairSuccessRate float64 `json:"repair_success_rate"`
		Domain            struct {
			Certified bool   `json:"certified"`
			Verdict   string `json:"verdict"`
		} `json:"domain"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if !js.Domain.Certified || js.Domain.Verdict != "certified" || js.RepairSuccessRate != float64(res.Report.RepairSuccessRate) {
		t.Errorf("report.json: %+v", js)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("Domain-wise repair: **certified**")) || !bytes.HasPrefix(bytes.TrimSpace(md[bytes.LastIndex(md, []byte("\n\n")):]), []byte("Seconds:")) {
		t.Errorf("report.md lacks the verdict or does not end on the seconds:\n%s", md)
	}
	back, err := netio.Load(filepath.Join(dir, "repaired.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.1, -0.2, 0.3, 0.05}[:res.Repaired.Inputs()]
	a, b2 := res.Repaired.Forward(x), back.Forward(x)
	for i := range a {
		if a[i] != b2[i] {
			t.Fatalf("written network differs at output %d: %v vs %v", i, a[i], b2[i])
		}
	}
}

// TestCancelled: an ended context gives its error and no result.
func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := Run(ctx, demo(t), nil); err != context.Canceled || res != nil {
		t.Errorf("Run on a cancelled context: %v, %v; want context.Canceled and no result", res, err)
	}
}

// TestDriftSection: the demo repair's certified drift holds against 20,000 independent samples of the
// domain (every sampled |f' - f| outside the property's boxes is at most the certified bound, inside at
// most the inside bound), and the volume proved to keep its argmin is no more than the sampled agreement
// (plus four standard errors).
func TestDriftSection(t *testing.T) {
	cfg := demo(t, "paradigm=retrain", "retrain.train.epochs=20", "eval.drift_seconds=2")
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Report.Drift
	if d == nil || d.Inside == nil {
		t.Fatalf("drift %+v (%s)", d, res.Report.DriftSkipped)
	}
	p, err := samplewise.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	box, _, _ := p.Net.DomainBox(p.Prop)
	const n = 20000
	x := box.Sample(rand.New(rand.NewPCG(77, 78)), n)
	ya, yb := p.Net.Forward(x), res.Repaired.Forward(x)
	in, m := p.Net.Inputs(), p.Net.Outputs()
	agree := 0
	for r := 0; r < n; r++ {
		xr, a, b := x[r*in:(r+1)*in], ya[r*m:(r+1)*m], yb[r*m:(r+1)*m]
		g := 0.0
		for j := range a {
			g = math.Max(g, math.Abs(b[j]-a[j]))
		}
		inside := false
		for _, c := range p.Prop.Cases {
			inside = inside || c.Box.Contains(xr)
		}
		if bound := d.Outside; inside {
			bound = *d.Inside
			if g > bound {
				t.Fatalf("sample %v inside: |f' - f| = %v above the certified %v", xr, g, bound)
			}
		} else if g > bound {
			t.Fatalf("sample %v outside: |f' - f| = %v above the certified %v", xr, g, bound)
		}
		if nn.Argmin(a) == nn.Argmin(b) {
			agree++
		}
	}
	share := 100 * float64(agree) / n
	se := 100 * math.Sqrt(share/100*(1-share/100)/n)
	if d.DecisionProved > share+4*se || d.DecisionProved+d.DecisionChanged < 50 {
		t.Errorf("argmin proved unchanged on %.2f%% (changed %.2f%%), sampled agreement %.2f%%", d.DecisionProved, d.DecisionChanged, share)
	}
	if md := res.Report.Markdown(); !bytes.Contains(md, []byte("## Drift (certified")) {
		t.Errorf("no drift section in the Markdown:\n%s", md)
	}
	t.Logf("drift %+v, sampled agreement %.2f%%", d, share)
}

// TestMinimalParadigm: paradigm minimal fixes every repair negative of the demo with the least change
// of the output layer, its optimum certified, and the change is what the report says: the largest
// |difference| between the two networks' output weights is the optimum.
func TestMinimalParadigm(t *testing.T) {
	for _, norm := range []string{"linf", "l1"} {
		cfg := demo(t, "paradigm=minimal", "minimal.norm="+norm, "eval.drift_seconds=0")
		res, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := res.Report
		if r.RepairSuccessRate != 100 || r.Minimal == nil {
			t.Fatalf("%s: success %v, minimal %v", norm, r.RepairSuccessRate, r.Minimal)
		}
		if r.Minimal.Gap > 1e-6 || r.Minimal.Violated != 0 {
			t.Errorf("%s: gap %v, %d rows violated", norm, r.Minimal.Gap, r.Minimal.Violated)
		}
		p, err := samplewise.Load(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		k := len(p.Net.Layers) - 1
		lmax, l1 := 0.0, 0.0
		for i, w := range p.Net.Layers[k].W {
			d := math.Abs(res.Repaired.Layers[k].W[i] - w)
			lmax, l1 = max(lmax, d), l1+d
		}
		got := lmax
		if norm == "l1" {
			got = l1
		}
		if math.Abs(got-r.Minimal.Objective) > 1e-7*(1+got) {
			t.Errorf("%s: the weights moved by %v, the optimum says %v", norm, got, r.Minimal.Objective)
		}
		if !bytes.Contains(r.Markdown(), []byte("certified lower bound")) {
			t.Errorf("%s: the report has no minimal section", norm)
		}
	}
}

// TestConstraintParadigm: paradigm constraint moves at most constraint.weights entries of the output
// layer, each by at most constraint.limit, keeps every hard (passing) positive's decision under a plain
// forward pass, and fixes some of the demo's negatives.
func TestConstraintParadigm(t *testing.T) {
	cfg := demo(t, "paradigm=constraint", "constraint.weights=8", "constraint.limit=0.05", "eval.drift_seconds=0")
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	if r.Minimal == nil || r.Minimal.Violated != 0 || !(r.RepairSuccessRate > 0) {
		t.Fatalf("success %v, minimal %+v", r.RepairSuccessRate, r.Minimal)
	}
	p, err := samplewise.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for k := range p.Net.Layers {
		for i, w := range p.Net.Layers[k].W {
			d := math.Abs(res.Repaired.Layers[k].W[i] - w)
			if d > 0 {
				moved++
			}
			if k != len(p.Net.Layers)-1 && d != 0 || d > 0.05+1e-9 {
				t.Errorf("layer %d weight %d moved by %v", k, i, d)
			}
		}
	}
	if moved == 0 || moved > 8 {
		t.Errorf("%d weights moved, want 1 to 8", moved)
	}
	if !bytes.Contains(r.Markdown(), []byte("Constraint-based repair")) {
		t.Error("the report has no constraint section")
	}
	t.Logf("success %.2f%%, %d weights moved", float64(r.RepairSuccessRate), moved)
}

// TestConstraintExact: with constraint.solver exact the demo's repair satisfies at least as many
// negatives as the LP relaxation's answer and no more than the bound it proves, each satisfied negative
// is safe under the repaired network (so the success rate is at least their share), and the report
// says what the search proved.
func TestConstraintExact(t *testing.T) {
	cfg := demo(t, "paradigm=constraint", "constraint.weights=8", "constraint.limit=0.05", "eval.drift_seconds=0",
		"constraint.solver=exact", "constraint.nodes=60", "constraint.seconds=30")
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	ms := r.MaxSat
	if ms == nil || r.Minimal == nil || r.Minimal.Violated != 0 {
		t.Fatalf("max-sat %+v, minimal %+v", ms, r.Minimal)
	}
	if ms.Satisfied < ms.Relaxation || ms.Satisfied > ms.UpperBound || ms.Soft == 0 {
		t.Errorf("satisfied %d, relaxation %d, bound %d of %d", ms.Satisfied, ms.Relaxation, ms.UpperBound, ms.Soft)
	}
	if share := 100 * float64(ms.Satisfied) / float64(r.Counts.RepairNegatives); float64(r.RepairSuccessRate) < share-1e-9 {
		t.Errorf("success %.2f%% below the satisfied share %.2f%%", float64(r.RepairSuccessRate), share)
	}
	if !bytes.Contains(r.Markdown(), []byte("MaxSMT solved by branch and bound")) {
		t.Error("the report has no exact section")
	}
	t.Logf("%d of %d negatives satisfied (LP relaxation %d, bound %d, exact %v), %d nodes, %.1f s",
		ms.Satisfied, ms.Soft, ms.Relaxation, ms.UpperBound, ms.Exact, ms.Nodes, ms.Seconds)
}

// TestConstraintPattern: NNrepair's intermediate-layer repair on the demo (a hidden layer, its oracle the
// activation pattern inferred from the passing inputs) moves only localized entries of that layer, and
// every hard row (each passing input's decision and the signs of the units the entries reach) holds under
// a plain forward pass.
func TestConstraintPattern(t *testing.T) {
	cfg := demo(t, "paradigm=constraint", "constraint.weights=6", "constraint.limit=0.2", "eval.drift_seconds=0")
	p, err := samplewise.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	hidden := len(p.Net.Layers) - 2
	cfg = demo(t, "paradigm=constraint", "constraint.weights=6", "constraint.limit=0.2", "eval.drift_seconds=0", fmt.Sprintf("constraint.layer=%d", hidden))
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Report.Minimal; r == nil || r.Violated != 0 || r.Layer != hidden {
		t.Fatalf("minimal %+v", r)
	}
	moved := 0
	for k := range p.Net.Layers {
		for i, w := range p.Net.Layers[k].W {
			if d := res.Repaired.Layers[k].W[i] - w; d != 0 {
				moved++
				if k != hidden || math.Abs(d) > 0.2+1e-9 {
					t.Errorf("layer %d weight %d moved by %v", k, i, d)
				}
			}
		}
	}
	if moved == 0 || moved > 6 {
		t.Errorf("%d weights moved, want 1 to 6", moved)
	}
	cfg = demo(t, "paradigm=constraint", "constraint.oracle=pattern", "eval.drift_seconds=0")
	if _, err := Run(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "hidden dense ReLU layer") {
		t.Errorf("pattern oracle on the output layer: %v", err)
	}
}

// TestPatchDrift: a patch leaves the network as it was outside its box and band, so the certified drift
// there must be 0 and the decision proved there (the domain is carved along the widened box), while
// inside the drift is at least the offset that samples of the box see.
func TestPatchDrift(t *testing.T) {
	cfg := demo(t, "mode=domain", "paradigm=patch", "eval.drift_seconds=2")
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Report.Drift
	if d == nil || d.Inside == nil || !res.Report.Certified() {
		t.Fatalf("drift %+v (%s), certified %v", d, res.Report.DriftSkipped, res.Report.Certified())
	}
	off := 0.0
	for _, v := range res.Report.Domain.Patch.Boxes[0].Offset {
		off = math.Max(off, math.Abs(v))
	}
	// Outside the widened box the indicator is provably off, and the weights leaving it are the only
	// difference: the networks compute the same there, so the decision is proved on all of it.
	if d.Outside != 0 || *d.Inside < off || d.DecisionProved < res.Report.Domain.Patch.Untouched {
		t.Fatalf("certified drift outside %g (want 0), inside %g (want >= the offset %g), decision proved on %.4f%% (want >= the untouched %.4f%%)",
			d.Outside, *d.Inside, off, d.DecisionProved, res.Report.Domain.Patch.Untouched)
	}
}
