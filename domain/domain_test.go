package domain

import (
	"context"
	"math"
	"testing"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/samplewise"
	"github.com/birdnn/birdnn/train"
)

// TestDemoCertified repairs the demo network over its whole property box with both paradigms, with and
// without domain.hard_start; the verifier must certify the result, and a dense grid of the box (an
// independent check) must find no violation.
func TestDemoCertified(t *testing.T) {
	for _, tc := range []struct{ paradigm, hardStart string }{
		{"retrain", "false"}, {"finetune", "false"}, {"retrain", "true"}, {"finetune", "true"},
	} {
		t.Run(tc.paradigm+"/hard_start="+tc.hardStart, func(t *testing.T) {
			res, d, p := repairDemo(t, "paradigm="+tc.paradigm, "domain.verify_seconds=20", "domain.hard_start="+tc.hardStart)
			if d == nil || !d.Certified {
				t.Fatalf("not certified: %+v", d)
			}
			assertGridSafe(t, res.Repaired, p.Prop)
			t.Logf("%s: %d round(s), verifier %.2fs, fidelity %.2f%% (domain) %.2f%% (safe in-box)", tc.paradigm, d.Rounds, d.VerifierSeconds, res.Report.Fidelity.Domain, res.Report.Fidelity.HeldOutPositives)
		})
	}
}

// TestDemoShrink repairs the demo network and pulls the repair back toward the original: the network
// kept must still be safe on a dense grid (the verifier certified it; the grid checks independently),
// and a fidelity floor of 100% must be reported as missed exactly when the domain fidelity is below it.
func TestDemoShrink(t *testing.T) {
	res, d, p := repairDemo(t, "paradigm=retrain", "domain.verify_seconds=20", "domain.shrink_steps=4", "domain.fidelity_floor=100", "retrain.train.margin=0.5")
	if d == nil || !d.Certified || d.Shrink == nil {
		t.Fatalf("not certified, or no shrink: %+v", d)
	}
	s := d.Shrink
	// With the wide margin the repair overshoots, so a lambda below 1 is certified (0.9375 at seed 1).
	if s.Tries != 4 || !(s.Lambda > 0 && s.Lambda < 1) || s.SelectionAfter < s.SelectionBefore {
		t.Fatalf("shrink report %+v: want 4 tries, lambda in (0, 1), fidelity no lower", s)
	}
	assertGridSafe(t, res.Repaired, p.Prop)
	if below := float64(res.Report.Fidelity.Domain) < 100; below != (d.BelowFloor != "") {
		t.Errorf("fidelity %.2f%%, floor 100%%: warning %q", res.Report.Fidelity.Domain, d.BelowFloor)
	}
	t.Logf("lambda %.4g, selection fidelity %.2f%% -> %.2f%%, domain fidelity %.2f%%", s.Lambda, s.SelectionBefore, s.SelectionAfter, res.Report.Fidelity.Domain)
}

// TestTanhStudentCertified distils a small tanh student of the demo network (with package train, so it
// inherits the bug), then repairs it domain-wise: the verifier must certify it, and a grid must agree.
func TestTanhStudentCertified(t *testing.T) {
	y, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", y, []string{"mode=domain", "paradigm=retrain", "domain.verify_seconds=20"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := samplewise.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	lc := configs.TrainDefaults()
	lc.Hidden, lc.Activation, lc.Samples, lc.BoundarySamples, lc.FocusSamples = []int{16, 16}, "tanh", 6000, 2000, 2000
	lc.Holdout, lc.Epochs, lc.Batch, lc.LearnRate, lc.Patience = 2000, 80, 256, 0.01, 8
	set, err := train.Distil(context.Background(), p.Net, p.Prop, &lc, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := train.Fit(context.Background(), set, &lc, nil)
	if err != nil {
		t.Fatal(err)
	}
	neg, pos := imitate.Split(st.Net, p.Prop, append(append([]float64(nil), p.Neg...), p.Pos...))
	if len(neg) == 0 {
		t.Fatalf("the tanh student (agreement %.1f%%) does not inherit the bug", st.Agreement)
	}
	sp := *p
	sp.Net, sp.Neg, sp.Pos = st.Net, neg, pos
	sp.TestNeg, sp.TestPos = imitate.Split(st.Net, p.Prop, append(append([]float64(nil), p.TestNeg...), p.TestPos...))
	res, d, err := Repair(context.Background(), cfg, &sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || !d.Certified {
		t.Fatalf("tanh student not certified: %+v", d)
	}
	if res.Repaired.Layers[0].Act.Name != "tanh" {
		t.Fatalf("repaired network is %s, want tanh", res.Repaired.Layers[0].Act)
	}
	assertGridSafe(t, res.Repaired, p.Prop)
	t.Logf("tanh student: agreement %.1f%%, %d negatives; certified after %d round(s), %.2f%% success", st.Agreement, len(neg)/2, d.Rounds, res.Report.RepairSuccessRate)
}

// repairDemo repairs the demo network domain-wise with the settings sets on top of its config.
func repairDemo(t *testing.T, sets ...string) (*samplewise.Result, *Report, *samplewise.Problem) {
	t.Helper()
	y, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", y, append([]string{"mode=domain"}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	p, err := samplewise.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, d, err := Repair(context.Background(), cfg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res, d, p
}

// assertGridSafe checks a 300x300 grid of the property's (2-D) box for violations.
func assertGridSafe(t *testing.T, net *nn.Network, prop *property.Property) {
	t.Helper()
	box := prop.Cases[0].Box
	const n = 300
	x := make([]float64, 0, 2*n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x = append(x, box.Lo[0]+(box.Hi[0]-box.Lo[0])*float64(i)/(n-1), box.Lo[1]+(box.Hi[1]-box.Lo[1])*float64(j)/(n-1))
		}
	}
	yr := net.Forward(x)
	m := net.Outputs()
	for r := 0; r < n*n; r++ {
		if prop.Unsafe(x[2*r:2*r+2], yr[r*m:(r+1)*m]) {
			t.Fatalf("certified, but grid point %v is unsafe", x[2*r:2*r+2])
		}
	}
}

func TestGrownMargin(t *testing.T) {
	tests := []struct {
		hard, margin, growth, limit, want float64
	}{
		{0, 0.05, 16, 1, 0.8},     // first growth: from the ordinary margin
		{0.8, 0.05, 16, 1, 1},     // 12.8, capped
		{1, 0.05, 16, 1, 1},       // stays at the cap
		{0.2, 0.05, 4, 1, 0.8},    // under the cap
		{3, 0.05, 16, 1, 3},       // set above the cap by the user: kept
		{0, 0.05, 1, 1, 0.05},     // no growth
		{0.1, 0.5, 2, 0.75, 0.75}, // the ordinary margin is the larger
		{0.8, 0.05, 16, 0, 12.8},  // no cap
	}
	for _, tt := range tests {
		if got := grownMargin(tt.hard, tt.margin, tt.growth, tt.limit); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("grownMargin(%v, %v, %v, %v) = %v, want %v", tt.hard, tt.margin, tt.growth, tt.limit, got, tt.want)
		}
	}
}
