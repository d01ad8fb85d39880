package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/domain"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/verify"
)

func TestACASXu36Tasks(t *testing.T) {
	tasks := ACASXu36()
	if len(tasks) != 36 {
		t.Fatalf("%d tasks, want 36", len(tasks))
	}
	seen := map[string]bool{}
	p2 := 0
	for _, task := range tasks {
		if seen[task.Name] {
			t.Errorf("task %s twice", task.Name)
		}
		seen[task.Name] = true
		if task.Property == "vnnlib/prop_2.vnnlib" {
			p2++
			if task.I < 2 || task.Name == "N3,3" || task.Name == "N4,2" {
				t.Errorf("task %s should not be in the property 2 list", task.Name)
			}
		}
	}
	if p2 != 34 {
		t.Errorf("%d property 2 tasks, want 34", p2)
	}
}

func TestAverageAndTables(t *testing.T) {
	rows := []Row{
		{Task: "a", Success: 100, Generalization: 90, Drawdown: 1, DomainFidelity: 99, Seconds: 2, Negatives: 5},
		{Task: "b", Success: 98, Generalization: math.NaN(), Drawdown: 3, DomainFidelity: 97, Seconds: 4, Negatives: 7},
		{Task: "c", Err: "boom"},
	}
	avg := Average(rows)
	if avg.Success != 99 || avg.Generalization != 90 || avg.Drawdown != 2 || avg.Seconds != 3 || avg.Negatives != 12 {
		t.Errorf("average %+v", avg)
	}
	md := string(Markdown("t", rows, ACASXu36Published))
	for _, want := range []string{"| a | 5 |", "error: boom", "**birdnn average**", "| VeRe (published) | | | | 99.88 | 99.87 | 15.26 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	csv := string(CSV(rows))
	if !strings.Contains(csv, `"b",7,0,0,98.00,n/a,3.00`) {
		t.Errorf("csv:\n%s", csv)
	}
}

func TestVNNCOMPInstances(t *testing.T) {
	in := VNNCOMPACASXu()
	if len(in) != 186 {
		t.Fatalf("%d instances, want 186", len(in))
	}
	seen := map[string]bool{}
	for _, x := range in {
		if seen[x.Name()] {
			t.Errorf("%s twice", x.Name())
		}
		seen[x.Name()] = true
	}
	for _, want := range []string{"N1,1 p5", "N1,1 p6", "N1,9 p7", "N2,9 p8", "N3,3 p9", "N4,5 p10", "N5,9 p4"} {
		if !seen[want] {
			t.Errorf("missing %s", want)
		}
	}
}

// TestVeritex35 checks the task list against the data README: 35 tasks, 33 of them properties 1-4, none
// on a network that violates no property.
func TestVeritex35(t *testing.T) {
	tasks := Veritex35()
	if len(tasks) != 35 {
		t.Fatalf("%d tasks, want 35", len(tasks))
	}
	n14 := 0
	for _, task := range tasks {
		if (task.I == 1 && task.J <= 8) || (task.I == 3 && task.J == 3) || (task.I == 4 && task.J == 2) {
			t.Errorf("%s: this network violates no property", task.Name())
		}
		if len(task.Props) == 4 {
			n14++
		}
	}
	if n14 != 33 || tasks[33].Name() != "N1,9 p7" || tasks[34].Name() != "N2,9 p1,2,3,4,8" {
		t.Errorf("got %d tasks on properties 1-4, last two %s and %s", n14, tasks[33].Name(), tasks[34].Name())
	}
}

// TestRepairCSVRoundTrip: rows written as CSV (with commas and quotes in task names and errors) read back
// the same, to the printed precision.
func TestRepairCSVRoundTrip(t *testing.T) {
	rows := []RepairRow{
		{Task: "N2,1 p1,2,3,4", Certified: true, Verdict: "certified", Rounds: 8, DomainFidelity: 97.9212, InBoxFidelity: 96.28, VerifierSeconds: 120.5, Seconds: 217.25, Drift: 0.0123, DecisionProved: 41.5, Fidelity100k: 99.9876},
		{Task: "N1,9 p7", Verdict: "unknown", Rounds: 12, Err: `load "x": failed, badly`, Drift: 2.5},
	}
	back, err := ReadRepairCSV(RepairCSV(rows))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Fatalf("read back %+v, want %+v", back, rows)
	}
	old, err := ReadRepairCSV([]byte("task,verdict,rounds,domain_fidelity,inbox_fidelity,verifier_seconds,seconds,error\nN1,certified,2,99,98,1,2,\n"))
	if err != nil || len(old) != 1 || !math.IsNaN(old[0].Drift) || !math.IsNaN(old[0].Fidelity100k) || old[0].Rounds != 2 {
		t.Errorf("a CSV from before the drift columns: %+v, %v", old, err)
	}
	ten, err := ReadRepairCSV([]byte("task,verdict,rounds,domain_fidelity,inbox_fidelity,verifier_seconds,seconds,error,drift,decision_proved\nN1,certified,2,99,98,1,2,,0.5,40\n"))
	if err != nil || len(ten) != 1 || ten[0].Drift != 0.5 || !math.IsNaN(ten[0].Fidelity100k) {
		t.Errorf("a CSV from before the 100,000-sample column: %+v, %v", ten, err)
	}
	if _, err := ReadRepairCSV([]byte("a,b\n1,2\n")); err == nil {
		t.Fatal("a CSV with another header was accepted")
	}
}

// TestActivationsMarkdownRounds: a row's domain-wise rounds are written as repair + verification seconds,
// verdict (with "stalled" when the stall rule ended it) and proven share (written out by hand here), and a row that failed gets no rounds line.
func TestActivationsMarkdownRounds(t *testing.T) {
	rows := []ActivationRow{
		{Teacher: "N3,5", Activation: "tanh", Paradigm: "retrain", DomainVerdict: "certified", DomainRounds: 3, Certified: true,
			DomainLog: []domain.Round{
				{Round: 1, RepairSeconds: 4.14, VerifySeconds: 30.02, Verdict: "unknown", Proven: 0.9987},
				{Round: 2, RepairSeconds: 4.3, VerifySeconds: 10.01, Verdict: "unknown", Proven: 0.979, Stalled: true},
				{Round: 3, RepairSeconds: 4.3, VerifySeconds: 13.26, Verdict: "certified", Proven: 1},
			}},
		{Teacher: "N3,5", Activation: "sigmoid", Paradigm: "retrain", Err: "boom"},
	}
	md := string(ActivationsMarkdown(rows))
	want := "| N3,5 | tanh | retrain | 4.1 + 30.0 s unknown (99.9%); 4.3 + 10.0 s unknown, stalled (97.9%); 4.3 + 13.3 s certified (100.0%) |\n"
	if !strings.Contains(md, want) {
		t.Errorf("markdown lacks the rounds line %q:\n%s", want, md)
	}
	if n := strings.Count(md, "| N3,5 | sigmoid |"); n != 1 {
		t.Errorf("the failed row is written %d times, want once (its error, no rounds):\n%s", n, md)
	}
}

// TestMNISTModels: NNrepair's adversarial CNN gives its published clean and FGSM accuracies exactly, and
// the table names them.
func TestMNISTModels(t *testing.T) {
	if _, err := datasets.MNIST("test"); err != nil {
		t.Skipf("skipping: MNIST not available (%v)", err)
	}
	models := NNrepairModels()[2:]
	rows, err := RunMNIST(context.Background(), models, nil)
	if err != nil || len(rows) != 1 || rows[0].Err != "" {
		t.Fatalf("%v %+v", err, rows)
	}
	r := rows[0]
	if math.Abs(r.Accuracy-97.87) > 1e-9 {
		t.Errorf("accuracy %v, published 97.87", r.Accuracy)
	}
	for i, e := range MNISTEps {
		if want := models[0].FGSM[e]; math.Abs(r.FGSM[i]-want) > 1e-9 {
			t.Errorf("FGSM eps %g: %v, published %v", e, r.FGSM[i], want)
		}
	}
	if md := string(MNISTMarkdown(rows)); !strings.Contains(md, "28.30 (28.30)") {
		t.Errorf("table:\n%s", md)
	}
}

// TestNeuroDiffSettings: the settings carry networks.csv's networks and outputs (property 1: all 45 at
// output 0; 8: N2,9 at output 1; 14: N4,1 and N5,1 at output 4); property 4 at eps 0.01 is proved on two
// networks, and at eps 1e-7 refuted with differences the forward passes confirm.
func TestNeuroDiffSettings(t *testing.T) {
	settings, err := NeuroDiffACASXu()
	if err != nil {
		t.Skipf("skipping: NeuroDiff data not available (%v)", err)
	}
	byName := map[string]DiffSetting{}
	for _, s := range settings {
		byName[s.Name()] = s
	}
	for _, tt := range []struct {
		name   string
		nets   int
		output int
	}{{"p1 eps 0.05", 45, 0}, {"p8 eps 0.01", 1, 1}, {"p14 eps 0.01", 2, 4}, {"p3 eps 0.01", 42, 0}} {
		s, ok := byName[tt.name]
		if !ok || len(s.Nets) != tt.nets || s.Output != tt.output {
			t.Errorf("%s: %+v", tt.name, s)
		}
	}
	if !byName["p7 eps 0.01"].Undetermined {
		t.Error("property 7 at eps 0.01 is the row NeuroDiff left undetermined")
	}
	s := byName["p4 eps 0.01"]
	s.Nets = [][2]int{{1, 3}, {5, 9}}
	tight := s
	tight.Eps = 1e-7
	rows := RunNeuroDiff(context.Background(), []DiffSetting{s, tight}, verifyOptions(30), nil)
	sum := SummarizeNeuroDiff([]DiffSetting{s, tight}, rows)
	if sum[0].Proved != 2 || sum[1].Violated != 2 {
		t.Fatalf("summaries %+v, rows %+v", sum, rows)
	}
	for _, r := range rows[2:] {
		if !(r.Result.Difference >= 1e-7) || len(r.Result.Input) != 5 {
			t.Errorf("counterexample %+v", r.Result)
		}
	}
	if md := string(NeuroDiffMarkdown([]DiffSetting{s}, rows[:2], 0)); !strings.Contains(md, "| p4 eps 0.01 | 2 | 2 | 0 |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func verifyOptions(seconds int) verify.Options {
	return verify.Options{Timeout: time.Duration(seconds) * time.Second}
}

// TestIsomorphicPairs: 50 pairs, the same for the same seed; a perturbed copy's weights stay within the
// scale of the original's (and move), a pruned copy zeroes exactly floor(s n) weights a layer, the
// smallest in magnitude, and leaves the others.
func TestIsomorphicPairs(t *testing.T) {
	pairs := IsomorphicACASXu(1)
	if len(pairs) != 50 || !reflect.DeepEqual(pairs, IsomorphicACASXu(1)) || reflect.DeepEqual(pairs, IsomorphicACASXu(2)) {
		t.Fatalf("%d pairs, or not determined by the seed", len(pairs))
	}
	if pairs[0].I != 1 || pairs[0].J != 1 || pairs[44].I != 5 || pairs[44].J != 9 || pairs[45].I != 1 || pairs[1].Kind != "pruned" {
		t.Errorf("pairs %v %v %v", pairs[0], pairs[44], pairs[45])
	}
	rng := rand.New(rand.NewPCG(1, 1))
	a := nn.Random(rng, []int{5, 50, 50, 5}, activation.ReLU, activation.Identity)
	for _, p := range []IsoPair{{Kind: "perturbed", Scale: 0.01, Seed: 3}, {Kind: "pruned", Scale: 0.02, Seed: 4}} {
		b := p.Copy(a)
		for k := range a.Layers {
			wa, wb := a.Layers[k].W, b.Layers[k].W
			zeros, moved, cut := 0, 0, int(p.Scale*float64(len(wa)))
			small := 0.0
			for i := range wa {
				if wb[i] != wa[i] {
					moved++
				}
				switch p.Kind {
				case "perturbed":
					if math.Abs(wb[i]-wa[i]) > p.Scale*math.Abs(wa[i]) {
						t.Fatalf("layer %d weight %d: %v -> %v", k, i, wa[i], wb[i])
					}
				case "pruned":
					if wb[i] == 0 {
						zeros++
						small = math.Max(small, math.Abs(wa[i]))
					}
				}
			}
			if p.Kind == "perturbed" && moved < len(wa)/2 {
				t.Errorf("layer %d: %d of %d weights moved", k, moved, len(wa))
			}
			if p.Kind == "pruned" {
				if zeros != cut || moved != cut {
					t.Errorf("layer %d: %d zeros, %d moved, want %d", k, zeros, moved, cut)
				}
				for i := range wa {
					if wb[i] != 0 && math.Abs(wa[i]) < small {
						t.Errorf("layer %d: weight %v kept while %v was pruned", k, wa[i], small)
					}
				}
			}
		}
	}
}

// TestNeuroDiffMNISTBoxes: image 0's boxes follow the data README's formulas for delta_network_test.c
// (pixels 19 and 295 are the first random pixels of image 0), and image 0 is proved at 15 pixels
// and at 3 grey levels.
func TestNeuroDiffMNISTBoxes(t *testing.T) {
	m, err := loadMNISTDiff()
	if err != nil {
		t.Skipf("skipping: NeuroDiff data not available (%v)", err)
	}
	img := m.images.Row(0)
	b, err := m.box(MNISTDiffSetting{"pixels", 15}, 0)
	if err != nil {
		t.Fatal(err)
	}
	free := 0
	for k := range b.Lo {
		if b.Lo[k] == 0 && b.Hi[k] == 1 {
			free++
		} else if b.Lo[k] != img[k]/255 || b.Hi[k] != img[k]/255 {
			t.Fatalf("pixel %d: [%v, %v], image %v", k, b.Lo[k], b.Hi[k], img[k])
		}
	}
	if free != 15 || b.Hi[19] != 1 || b.Hi[295] != 1 {
		t.Errorf("%d free pixels (want 15, among them 19 and 295)", free)
	}
	g, _ := m.box(MNISTDiffSetting{"global", 3}, 0)
	for k := range g.Lo {
		if want := math.Max((img[k]-3)/255, 0); g.Lo[k] != want {
			t.Fatalf("pixel %d: lower %v, want %v", k, g.Lo[k], want)
		}
		if want := math.Min((img[k]+3)/255, 1); g.Hi[k] != want {
			t.Fatalf("pixel %d: upper %v, want %v", k, g.Hi[k], want)
		}
	}
	rows, err := RunNeuroDiffMNIST(context.Background(), []MNISTDiffSetting{{"pixels", 15}, {"global", 3}}, 1, verifyOptions(30), nil)
	if err != nil || len(rows) != 2 || rows[0].Result.Verdict != verify.Certified || rows[1].Result.Verdict != verify.Certified {
		t.Errorf("rows %+v, %v", rows, err)
	}
}

// An error with '|' (minimal's "|Δ| <= 10000") stays in its cell.
func TestCellEscapes(t *testing.T) {
	if got, want := cell("a |Δ| <= 1\nb"), `a \|Δ\| <= 1 b`; got != want {
		t.Errorf("cell = %q, want %q", got, want)
	}
}
