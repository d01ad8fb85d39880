package domain

import (
	"context"
	"testing"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/repair"
)

// TestDemoCertified repairs the demo network over its whole property box with both paradigms; the
// verifier must certify the result, and a dense grid of the box (an independent check) must find no
// violation.
func TestDemoCertified(t *testing.T) {
	y, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, paradigm := range []string{"retrain", "finetune"} {
		t.Run(paradigm, func(t *testing.T) {
			cfg, err := repair.LoadConfig("", y, []string{"mode=domain", "paradigm=" + paradigm, "domain.verify_seconds=20"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := repair.Load(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Repair(context.Background(), cfg, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := res.Report.Domain
			if d == nil || !d.Certified {
				t.Fatalf("not certified: %+v", d)
			}
			box := p.Prop.Cases[0].Box
			const n = 300
			x := make([]float64, 0, 2*n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					x = append(x, box.Lo[0]+(box.Hi[0]-box.Lo[0])*float64(i)/(n-1), box.Lo[1]+(box.Hi[1]-box.Lo[1])*float64(j)/(n-1))
				}
			}
			yr := res.Repaired.Forward(x)
			m := res.Repaired.Outputs()
			for r := 0; r < n*n; r++ {
				if p.Prop.Unsafe(x[2*r:2*r+2], yr[r*m:(r+1)*m]) {
					t.Fatalf("certified, but grid point %v is unsafe", x[2*r:2*r+2])
				}
			}
			t.Logf("%s: %d round(s), verifier %.2fs, fidelity %.2f%% (domain) %.2f%% (safe in-box)", paradigm, d.Rounds, d.VerifierSeconds, res.Report.Fidelity.Domain, res.Report.Fidelity.HeldOutPositives)
		})
	}
}
