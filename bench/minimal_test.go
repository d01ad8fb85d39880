package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/minimal"
)

func goldbergerData(t *testing.T) {
	t.Helper()
	dir, err := datasets.Dir()
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "goldberger", "acas_n29", "counterexamples.csv"))
	}
	if err != nil {
		t.Skipf("skipping: Goldberger et al.'s data not available (%v)", err)
	}
}

// The paper's LP on N2,9 is the program package minimal writes: the optima must agree with the
// published values to within what the Keras weights' difference from the .nnet's (4.2e-7) explains.
func TestMinimalACASAgainstPaper(t *testing.T) {
	goldbergerData(t)
	res, err := RunMinimalACAS(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range res.Rows {
		if r.Result.Violated != 0 {
			t.Errorf("inputs %s, %s: %d rows violated after the change", r.Inputs, r.Setup, r.Result.Violated)
		}
		if r.Result.LowerBound > r.Result.Objective*(1+1e-9) || r.Result.Gap > 1e-6 {
			t.Errorf("inputs %s, %s: optimum %v, certified %v", r.Inputs, r.Setup, r.Result.Objective, r.Result.LowerBound)
		}
		if r.PublishedNote == "LP (Gurobi)" {
			checked++
			if d := math.Abs(r.Result.Objective-r.Published) / r.Published; d > 1e-6 {
				t.Errorf("inputs %s: optimum %.10g, published %.10g (relative difference %.2g)", r.Inputs, r.Result.Objective, r.Published, d)
			}
		}
	}
	if checked != 4 {
		t.Errorf("%d rows compared with the paper, want 4", checked)
	}
	for i, a := range res.Fidelity.Advisories[:7] {
		if a != 0 && a != 1 {
			t.Errorf("counterexample %d: advisory %d after the change, want COC or weak left", i, a)
		}
	}
}

// Removing one watermark: the optimum of each is unique (all weights of the label's and the
// runner-up's rows on the active hidden units move by ±t, t = margin gap / ||coefficients||_1), and
// their mean is the paper's 0.3421.
func TestWatermarkOne(t *testing.T) {
	goldbergerData(t)
	if testing.Short() {
		t.Skip("skipping in -short")
	}
	rows, err := RunWatermark(context.Background(), WatermarkOptions{Ks: []int{1}, Norms: []minimal.Norm{minimal.LInf}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Runs != 100 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if math.Abs(r.ChangeAvg-0.3421) > 5e-4 || math.Abs(r.ChangeMin-0.3006) > 5e-4 || math.Abs(r.ChangeMax-0.3781) > 5e-4 {
		t.Errorf("change %.4f [%.4f, %.4f], published 0.3421 [0.3006, 0.3781]", r.ChangeAvg, r.ChangeMin, r.ChangeMax)
	}
	if r.Removed != 100 {
		t.Errorf("removed %.1f%%", r.Removed)
	}
}
