package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/bench"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/experts"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
)

// run executes birdnn with args in-process and returns its standard output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func acas(t *testing.T) string {
	t.Helper()
	d, err := datasets.ACASXu()
	if err != nil {
		t.Skipf("skipping: ACAS Xu data not available (%v)", err)
	}
	return d
}

// TestEvalCARE is the check: on CARE's sets, the counterexamples all violate the property and
// the drawndown rows none.
func TestEvalCARE(t *testing.T) {
	d := acas(t)
	for _, c := range []struct{ set, net string }{{"N19", "1_9"}, {"N29", "2_9"}, {"N33", "3_3"}} {
		for _, f := range []struct {
			file string
			rate float64
		}{{"counterexample.csv", 1}, {"drawndown.csv", 0}, {"counterexample_test.csv", 1}, {"drawndown_test.csv", 0}} {
			for _, format := range []string{"nnet", "onnx"} {
				out, err := run(t, "eval", "--json",
					"--net", filepath.Join(d, format, "ACASXU_run2a_"+c.net+"_batch_2000."+format),
					"--prop", filepath.Join(d, "care", c.set, "property.vnnlib"),
					"--data", filepath.Join(d, "care", c.set, f.file))
				if err != nil {
					t.Fatal(err)
				}
				var res struct {
					Rows          int     `json:"rows"`
					ViolationRate float64 `json:"violation_rate"`
				}
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatal(err)
				}
				if res.Rows != 10016 || res.ViolationRate != f.rate {
					t.Errorf("%s %s %s: rows %d, violation rate %v, want 10016 and %v", c.set, f.file, format, res.Rows, res.ViolationRate, f.rate)
				}
			}
		}
	}
}

func TestEvalSamplesAndOutputs(t *testing.T) {
	d := acas(t)
	net := filepath.Join(d, "nnet", "ACASXU_run2a_1_1_batch_2000.nnet")
	out, err := run(t, "eval", "--json", "--outputs", "--net", net, "--prop", filepath.Join(d, "vnnlib", "prop_3.vnnlib"), "--samples", "50", "--seed", "4")
	if err != nil {
		t.Fatal(err)
	}
	var res evalResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 50 || len(res.Outputs) != 50 || len(res.Outputs[0]) != 5 || res.Violations == nil || *res.OutsideBox != 0 {
		t.Fatalf("result %+v", res)
	}
	again, _ := run(t, "eval", "--json", "--outputs", "--net", net, "--prop", filepath.Join(d, "vnnlib", "prop_3.vnnlib"), "--samples", "50", "--seed", "4")
	if again != out {
		t.Error("the same seed gave different samples")
	}
}

// TestBadInputs checks that each kind of broken input gives one clear error naming the file and place.
func TestBadInputs(t *testing.T) {
	d := acas(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodNet := filepath.Join(d, "nnet", "ACASXU_run2a_2_9_batch_2000.nnet")
	raw, err := os.ReadFile(goodNet)
	if err != nil {
		t.Fatal(err)
	}
	truncated := write("truncated.nnet", string(raw[:len(raw)/2]))
	cut := strings.LastIndex(string(raw[:len(raw)/2]), "\n")
	atLine := write("atline.nnet", string(raw[:cut+1]))
	prop := filepath.Join(d, "vnnlib", "prop_2.vnnlib")
	x9 := write("x9.vnnlib", strings.Replace(mustRead(t, prop), "(declare-const X_4 Real)",
		"(declare-const X_4 Real)(declare-const X_5 Real)(declare-const X_6 Real)(declare-const X_7 Real)(declare-const X_8 Real)(declare-const X_9 Real)", 1)+
		"(assert (>= X_5 0))(assert (<= X_5 0))(assert (>= X_6 0))(assert (<= X_6 0))(assert (>= X_7 0))(assert (<= X_7 0))(assert (>= X_8 0))(assert (<= X_8 0))(assert (>= X_9 0))(assert (<= X_9 0))")
	cols := write("cols.csv", "x0,x1,x2,x3,x4\n0,0,0,0,0\n0,0,0,0\n")
	nan := write("nan.csv", "x0,x1,x2,x3,x4\n0,0,0,0,0\n0,0,NaN,0,0\n")
	conv := write("conv.onnx", "")
	entry := write("entry.yaml", "teacher: t.onnx\nteachers: {t: {no_such_key: 1}}\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"truncated nnet", []string{"inspect", "--net", truncated}, []string{truncated, "line 335 (layer 4 weights, row 25): 45 values, want 50"}},
		{"nnet cut at a line", []string{"inspect", "--net", atLine}, []string{atLine, "line 335: file ends where layer 4 weights, row 25"}},
		{"x9 for 5 inputs", []string{"eval", "--net", goodNet, "--prop", x9, "--samples", "10"}, []string{x9, "declares 10 inputs", "takes 5"}},
		{"csv columns", []string{"eval", "--net", goodNet, "--data", cols}, []string{cols, "line 3", "4 values, want 5"}},
		{"csv nan", []string{"eval", "--net", goodNet, "--data", nan}, []string{nan, "line 3, column 3", "NaN"}},
		{"empty onnx", []string{"inspect", "--net", conv}, []string{conv, "no graph"}},
		{"unknown format", []string{"inspect", "--net", cols}, []string{cols, "unknown network format"}},
		{"missing file", []string{"inspect", "--net", filepath.Join(dir, "nope.nnet")}, []string{"nope.nnet", "no such file"}},
		{"no data", []string{"eval", "--net", goodNet}, []string{"--data CSV or --samples N"}},
		{"unknown key in a teacher's entry", []string{"train", "--config", entry}, []string{"teachers: t", "no_such_key"}},
		{"stall share", []string{"verify", "--net", goodNet, "--prop", prop, "--stall", "1.5"}, []string{"--stall 1.5", "[0, 1)"}},
	}
	for _, tt := range tests {
		_, err := run(t, tt.args...)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tt.name, err, w)
			}
		}
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConvert(t *testing.T) {
	d := acas(t)
	dir := t.TempDir()
	src := filepath.Join(d, "nnet", "ACASXU_run2a_3_3_batch_2000.nnet")
	onnxPath, back := filepath.Join(dir, "n.onnx"), filepath.Join(dir, "n.nnet")
	if _, err := run(t, "convert", "--in", src, "--out", onnxPath, "--float64"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "convert", "--in", onnxPath, "--out", back); err != nil {
		t.Fatal(err)
	}
	// The .nnet written from the float64 ONNX matches one written straight from the source.
	direct := filepath.Join(dir, "direct.nnet")
	if _, err := run(t, "convert", "--in", src, "--out", direct); err != nil {
		t.Fatal(err)
	}
	if mustRead(t, back) != mustRead(t, direct) {
		t.Error("nnet -> onnx(float64) -> nnet changed the file")
	}
	if _, err := run(t, "convert", "--in", src, "--out", back); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("overwrote an existing file without --force: %v", err)
	}
	out, err := run(t, "inspect", "--net", back)
	if err != nil || !strings.Contains(out, "13305") {
		t.Errorf("inspect: %v\n%s", err, out)
	}
}

// TestRepairCommand repairs the demo into a fresh folder, then checks that the folder is not written into
// again without --force.
func TestRepairCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, err := run(t, "repair", "--quiet", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "repair success 100.00%") {
		t.Errorf("output: %s", out)
	}
	for _, f := range []string{"repaired.onnx", "repaired.nnet", "report.json", "report.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// Both files hold the same network to the last bit (the .nnet text round-trips float64 exactly, the
	// ONNX file holds doubles): what was verified is what was written.
	a, errA := netio.Load(filepath.Join(dir, "repaired.onnx"))
	b, errB := netio.Load(filepath.Join(dir, "repaired.nnet"))
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	for k := range a.Layers {
		if !slices.Equal(a.Layers[k].W, b.Layers[k].W) || !slices.Equal(a.Layers[k].B, b.Layers[k].B) {
			t.Fatalf("layer %d: the ONNX and .nnet files differ", k)
		}
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "report.json"))), &rep); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"paradigm", "network", "property", "repair_success_rate", "generalization", "drawdown",
		"fidelity", "output_deviation", "neurons_changed", "parameters_changed", "seconds", "seed"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report.json lacks %q", k)
		}
	}
	before := mustRead(t, filepath.Join(dir, "report.json"))
	if _, err := run(t, "repair", "--quiet", "--out", dir); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("wrote into an existing folder without --force: %v", err)
	}
	if mustRead(t, filepath.Join(dir, "report.json")) != before {
		t.Error("the existing report changed")
	}
	if _, err := run(t, "repair", "--quiet", "--config", "nope.yaml"); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing config: %v", err)
	}
	if _, err := run(t, "repair", "--quiet", "--set", "finetune.epochz=1", "--out", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestVerifyCommand(t *testing.T) {
	d := acas(t)
	out, err := run(t, "verify", "--json", "--net", filepath.Join(d, "nnet", "ACASXU_run2a_2_1_batch_2000.nnet"),
		"--prop", filepath.Join(d, "vnnlib", "prop_2.vnnlib"))
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitViolated {
		t.Fatalf("exit %v, want the violated code", err)
	}
	var res struct {
		Verdict        string `json:"verdict"`
		Counterexample struct {
			Input, Output []float64
		} `json:"counterexample"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Verdict != "violated" || len(res.Counterexample.Input) != 5 {
		t.Fatalf("output %s, %v", out, err)
	}
	// Paths as configs name them: the demo network (repair's default) violates its property.
	if out, err := run(t, "verify", "--net", "builtin:demo/demo.onnx", "--prop", "builtin:demo/demo.vnnlib"); !errors.As(err, &ee) || ee.code != exitViolated || !strings.HasPrefix(out, "violated") {
		t.Errorf("builtin paths: %q, exit %v, want violated", out, err)
	}
	if _, err := run(t, "verify", "--net", "data:acasxu/nnet/ACASXU_run2a_2_1_batch_2000.nnet", "--prop", "data:acasxu/vnnlib/prop_2.vnnlib"); !errors.As(err, &ee) || ee.code != exitViolated {
		t.Errorf("data paths: exit %v, want the violated code", err)
	}
}

// TestBenchVeritexTasks: the Veritex bench writes each task's repaired network and report beside its CSV,
// and the report's rounds are the CSV's.
func TestBenchVeritexTasks(t *testing.T) {
	acas(t)
	dir := filepath.Join(t.TempDir(), "v")
	if _, err := run(t, "bench", "veritex-35", "--tasks", "N4,4 p1,2,3,4", "--set", "domain.rounds=1",
		"--set", "domain.verify_seconds=2", "--out", dir); err != nil {
		t.Fatal(err)
	}
	rows, err := bench.ReadRepairCSV([]byte(mustRead(t, filepath.Join(dir, "veritex35.csv"))))
	if err != nil || len(rows) != 1 {
		t.Fatalf("csv: %v rows, %v", len(rows), err)
	}
	task := filepath.Join(dir, "tasks", "N4_4-p1_2_3_4")
	var rep struct {
		Domain struct {
			Rounds int               `json:"rounds"`
			Log    []json.RawMessage `json:"log"`
		} `json:"domain"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(task, "report.json"))), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Domain.Rounds != rows[0].Rounds || len(rep.Domain.Log) != rows[0].Rounds {
		t.Errorf("report: %d rounds, %d logged; csv: %d", rep.Domain.Rounds, len(rep.Domain.Log), rows[0].Rounds)
	}
	if _, err := netio.Load(filepath.Join(task, "repaired.onnx")); err != nil {
		t.Error(err)
	}
}

// TestJSONAndExits: repair, convert and train print JSON summaries with --json; repair in domain mode
// exits on its verdict (here, with no verifier time to speak of, unknown: 20); an interrupted repair
// writes nothing.
func TestJSONAndExits(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "rep")
	out, err := run(t, "repair", "--quiet", "--json", "--out", dir, "--set", "retrain.train.epochs=5", "--set", "paradigm=retrain")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Out               string   `json:"out"`
		RepairSuccessRate *float64 `json:"repair_success_rate"`
		Domain            any      `json:"domain"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("repair --json: %v\n%s", err, out)
	}
	if rep.Out != dir || rep.RepairSuccessRate == nil || rep.Domain != nil {
		t.Errorf("repair --json: %+v", rep)
	}

	onnx := filepath.Join(tmp, "net.onnx")
	out, err = run(t, "convert", "--json", "--in", filepath.Join(dir, "repaired.nnet"), "--out", onnx)
	if err != nil {
		t.Fatal(err)
	}
	var conv struct {
		Out        string `json:"out"`
		Layers     int    `json:"layers"`
		Parameters int    `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(out), &conv); err != nil || conv.Out != onnx || conv.Layers < 2 || conv.Parameters < 1 {
		t.Errorf("convert --json: %v %+v", err, conv)
	}

	// A CSV of the XOR of two signs: a task to train on in a few epochs.
	csv := "a,b,y\n"
	for i := 0; i < 64; i++ {
		a, b := float64(i%8)/4-0.9, float64(i/8)/4-0.9
		csv += fmt.Sprintf("%g,%g,%d\n", a, b, map[bool]int{true: 1, false: 0}[(a > 0) != (b > 0)])
	}
	cfg := filepath.Join(tmp, "train.yaml")
	os.WriteFile(filepath.Join(tmp, "xor.csv"), []byte(csv), 0o644)
	os.WriteFile(cfg, []byte("csv: "+filepath.Join(tmp, "xor.csv")+"\ninputs: 2\noutputs: 2\nlabels: true\nhidden: [8]\nepochs: 3\nholdout: 16\nbatch: 16\n"), 0o644)
	student := filepath.Join(tmp, "student.onnx")
	out, err = run(t, "train", "--quiet", "--json", "--config", cfg, "--out", student)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Out    string `json:"out"`
		Epochs int    `json:"epochs"`
	}
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.Out != student || tr.Epochs < 1 {
		t.Errorf("train --json: %v %s", err, out)
	}
	if _, err := run(t, "train", "--quiet", "--config", cfg, "--out", tmp); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("train --out FOLDER: %v", err)
	}

	_, err = run(t, "repair", "--quiet", "--out", filepath.Join(tmp, "dom"), "--set", "mode=domain", "--set", "domain.rounds=1",
		"--set", "domain.verify_seconds=0.000001", "--set", "domain.grace=0", "--set", "retrain.train.epochs=1", "--set", "paradigm=retrain")
	var ee *exitError
	if !errors.As(err, &ee) || (ee.code != exitUnknown && ee.code != exitViolated) {
		t.Errorf("domain repair without verifier time: %v, want exit %d or %d", err, exitUnknown, exitViolated)
	}
	if _, err := os.Stat(filepath.Join(tmp, "dom", "report.json")); err != nil {
		t.Errorf("domain repair wrote no report: %v", err)
	}

	root := newRoot()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root.SetArgs([]string{"repair", "--quiet", "--out", filepath.Join(tmp, "cancelled")})
	root.SetOut(io.Discard)
	if err := root.ExecuteContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled repair: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "cancelled")); !os.IsNotExist(err) {
		t.Errorf("cancelled repair left %s: %v", filepath.Join(tmp, "cancelled"), err)
	}
}

// TestEvalMNIST: the third-party MNIST networks give the accuracies their data READMEs state, with the
// pixel scale read from each network's normalization (Goldberger's .nnet: raw 0-255; NeuroDiff's: 0-1),
// and Goldberger's model predicts its 100 watermark images as their labels.
func TestEvalMNIST(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	for _, tt := range []struct {
		args []string
		want float64
	}{
		{[]string{"--net", filepath.Join(d, "goldberger", "mnist_w_wm.nnet"), "--data", "data:mnist/test"}, 96.84},
		{[]string{"--net", filepath.Join(d, "goldberger", "mnist_w_wm.onnx"), "--data", "data:mnist/test", "--pixel-scale", "255"}, 96.84},
		{[]string{"--net", filepath.Join(d, "goldberger", "mnist_w_wm.onnx"), "--data", "data:mnist/test"}, 96.76},
		{[]string{"--net", filepath.Join(d, "neurodiff", "mnist_nnet", "mnist_relu_3_100.nnet"), "--data", "data:mnist/test"}, 96.54},
		{[]string{"--net", filepath.Join(d, "goldberger", "mnist_w_wm.nnet"), "--data", "data:goldberger/wm_images.csv", "--labels", "data:goldberger/wm_labels.csv"}, 100},
	} {
		out, err := run(t, append([]string{"eval", "--json"}, tt.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Accuracy  float64 `json:"accuracy"`
			Confusion [][]int `json:"confusion"`
			Rows      int     `json:"rows"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		diag, all := 0, 0
		for i, row := range res.Confusion {
			for j, v := range row {
				all += v
				if i == j {
					diag += v
				}
			}
		}
		if math.Abs(res.Accuracy-tt.want) > 1e-9 || all != res.Rows || 100*float64(diag)/float64(all) != res.Accuracy {
			t.Errorf("%v: accuracy %v (confusion %d of %d), want %v", tt.args, res.Accuracy, diag, all, tt.want)
		}
	}
}

// TestEvalCNN: NNrepair's three MNIST CNNs (conv-relu-conv-relu-maxpool-dense-relu-dense) give the test
// accuracies their README states; what does not take convolutions yet says so.
func TestEvalCNN(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	for _, tt := range []struct {
		model string
		scale string
		want  float64
	}{{"mnist0_poisoned", "255", 98.63}, {"mnist0_normal_low_accuracy", "255", 96.34}, {"mnist0_adv", "1", 97.87}} {
		out, err := run(t, "eval", "--json", "--net", filepath.Join(d, "nnrepair", tt.model+".onnx"), "--data", "data:mnist/test", "--pixel-scale", tt.scale)
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Accuracy float64 `json:"accuracy"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || math.Abs(res.Accuracy-tt.want) > 1e-9 {
			t.Errorf("%s: accuracy %v (%v), want %v", tt.model, res.Accuracy, err, tt.want)
		}
	}
	// Converted to ONNX in doubles and read back, the CNN scores the same; .nnet cannot hold it.
	tmp := t.TempDir()
	cnn := filepath.Join(d, "nnrepair", "mnist0_adv.onnx")
	if _, err := run(t, "convert", "--float64", "--in", cnn, "--out", filepath.Join(tmp, "x.onnx")); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "eval", "--json", "--net", filepath.Join(tmp, "x.onnx"), "--data", "data:mnist/test")
	if err != nil || !strings.Contains(out, `"accuracy": 97.87`) {
		t.Errorf("the converted CNN: %v %.200s", err, out)
	}
	if _, err := run(t, "convert", "--in", cnn, "--out", filepath.Join(tmp, "x.nnet")); err == nil {
		t.Error("convert of a CNN to .nnet: no error")
	}
}

// TestVerifyCNN verifies L-infinity robustness of NNrepair's adversarially trained CNN around MNIST test
// image 0 (a 7): certified within 0.01, violated within 0.08 (PGD finds an attack there too).
func TestVerifyCNN(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	cnn := filepath.Join(d, "nnrepair", "mnist0_adv.onnx")
	tmp := t.TempDir()
	for _, tt := range []struct{ eps, verdict string }{{"0.01", "certified"}, {"0.08", "violated"}} {
		prop := filepath.Join(tmp, tt.eps+".vnnlib")
		if _, err := run(t, "property", "--net", cnn, "--data", "data:mnist/test", "--row", "0", "--eps", tt.eps, "--out", prop); err != nil {
			t.Fatal(err)
		}
		out, _ := run(t, "verify", "--json", "--net", cnn, "--prop", prop, "--timeout", "60s")
		if !strings.Contains(out, `"verdict": "`+tt.verdict+`"`) {
			t.Errorf("eps %s: %.300s, want %s", tt.eps, out, tt.verdict)
		}
	}
}

func TestAttackCNN(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	// NNrepair's README: mnist0_adv keeps 28.30% accuracy under FGSM with eps 0.05 (pixels in [0, 1]).
	tmp := t.TempDir()
	csv := filepath.Join(tmp, "adv.csv")
	cnn := filepath.Join(d, "nnrepair", "mnist0_adv.onnx")
	out, err := run(t, "attack", "--json", "--net", cnn, "--data", "data:mnist/test", "--eps", "0.05", "--out", csv)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Clean    float64 `json:"clean_accuracy"`
		Robust   float64 `json:"robust_accuracy"`
		Attacked int     `json:"attacked"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || math.Abs(res.Robust-28.30) > 1e-9 || math.Abs(res.Clean-97.87) > 1e-9 {
		t.Errorf("attack: %+v (%v), want clean 97.87%%, robust 28.30%%", res, err)
	}
	if _, err := run(t, "attack", "--net", cnn, "--data", "data:mnist/test", "--eps", "0.05", "--out", csv); err == nil {
		t.Error("attack over an existing --out without --force: no error")
	}
	// The adversarial images were written.
	if fi, err := os.Stat(csv); err != nil || fi.Size() == 0 {
		t.Errorf("adversarial CSV: %v", err)
	}
	// NNrepair's poisoned CNN has a backdoor to 7 behind a white 3x3 square at rows and columns 24-26
	// (its data README found 99.8% on 500 images): the trigger method with the default square finds it.
	out, err = run(t, "attack", "--json", "--net", filepath.Join(d, "nnrepair", "mnist0_poisoned.onnx"), "--data", "data:mnist/test",
		"--pixel-scale", "255", "--method", "trigger", "--target", "7", "--trigger-value", "255")
	var bd struct {
		Success float64 `json:"success_rate"`
	}
	if err != nil || json.Unmarshal([]byte(out), &bd) != nil || bd.Success < 99 {
		t.Errorf("the poisoned CNN's backdoor: %v %.200s", err, out)
	}
}

// TestPropertyRobustness writes the L-infinity robustness property of Goldberger's 784-150-10 network
// around MNIST test image 0 (a 7; the network takes raw pixels, 0-255) and verifies it: within 1 grey
// level it is certified, within 2 the verifier finds a misclassified image; PGD on the margin agrees.
func TestPropertyRobustness(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	net := filepath.Join(d, "goldberger", "mnist_w_wm.nnet")
	tmp := t.TempDir()
	for _, tt := range []struct {
		eps, verdict string
	}{{"1", "certified"}, {"2", "violated"}} {
		prop := filepath.Join(tmp, "p"+tt.eps+".vnnlib")
		if _, err := run(t, "property", "--net", net, "--data", "data:mnist/test", "--row", "0", "--eps", tt.eps, "--out", prop); err != nil {
			t.Fatal(err)
		}
		p, err := property.ReadFile(prop)
		if err != nil || p.Inputs != 784 || p.Cases[0].Box.Hi[0] != 0+mustFloat(t, tt.eps) || len(p.Cases[0].Unsafe) != 9 {
			t.Fatalf("eps %s: read back %v", tt.eps, err)
		}
		out, _ := run(t, "verify", "--json", "--net", net, "--prop", prop, "--timeout", "60s")
		if !strings.Contains(out, `"verdict": "`+tt.verdict+`"`) {
			t.Errorf("eps %s: %.300s, want %s", tt.eps, out, tt.verdict)
		}
	}
	if _, err := run(t, "property", "--net", net, "--data", "data:mnist/test", "--row", "0", "--eps", "1", "--out", filepath.Join(tmp, "p1.vnnlib")); err == nil {
		t.Error("property over an existing --out without --force: no error")
	}
	if _, err := run(t, "property", "--net", net, "--data", "data:mnist/test", "--row", "10000", "--eps", "1", "--out", filepath.Join(tmp, "q.vnnlib")); err == nil {
		t.Error("--row 10000 of 10000 rows: no error")
	}
	out, err := run(t, "attack", "--json", "--net", net, "--data", "data:mnist/test", "--limit", "1", "--method", "pgd", "--loss", "margin", "--eps", "2", "--steps", "100")
	if err != nil || !strings.Contains(out, `"success_rate": 100`) {
		t.Errorf("PGD at eps 2: %v %.300s", err, out)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTrainClassifier runs the shipped BadNets run for one epoch on the 10000 test images (a quick
// stand-in for the training set): the JSON reports the poisoned count (5% of the 9000 training rows) and
// scores, and eval of the written network gives the same test accuracy.
func TestTrainClassifier(t *testing.T) {
	if _, err := datasets.MNIST("test"); err != nil {
		t.Skipf("skipping: MNIST not available (%v)", err)
	}
	out := filepath.Join(t.TempDir(), "bd.onnx")
	js, err := run(t, "train", "--config", "mnist_fc_badnets", "--quiet", "--json", "--out", out,
		"--set", "data=data:mnist/test", "--set", "epochs=1", "--set", "holdout=1000")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Test     float64 `json:"test_accuracy"`
		Backdoor float64 `json:"backdoor_success"`
		Poisoned int     `json:"poisoned"`
	}
	if err := json.Unmarshal([]byte(js), &res); err != nil || res.Poisoned != 450 || !(res.Test > 80) {
		t.Fatalf("%+v (%v) from %s", res, err, js)
	}
	ev, err := run(t, "eval", "--json", "--net", out, "--data", "data:mnist/test")
	var e struct {
		Accuracy float64 `json:"accuracy"`
	}
	if err != nil || json.Unmarshal([]byte(ev), &e) != nil || math.Abs(e.Accuracy-res.Test) > 1e-9 {
		t.Errorf("eval of the trained network: %v %v, train said %v", err, e.Accuracy, res.Test)
	}
}

// backdoorRepair trains a BadNets classifier with the shipped run named config and the extra sets (one
// epoch count, on the MNIST test images), stamps its trigger on the first images of the training and
// test sets with their true labels, and runs birdnn repair on them with the given paradigm and epochs:
// the triggered training images as negatives, the clean ones as positives, the same for the test images
// held out, limit rows of each. It returns the repair's JSON.
func backdoorRepair(t *testing.T, config string, sets []string, limit int, paradigm string, epochs int) string {
	t.Helper()
	if _, err := datasets.MNIST("train"); err != nil {
		t.Skipf("skipping: MNIST not available (%v)", err)
	}
	tmp := t.TempDir()
	net := filepath.Join(tmp, "bd.onnx")
	args := []string{"train", "--config", config, "--quiet", "--out", net, "--set", "data=data:mnist/test", "--set", "holdout=1000"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	if _, err := run(t, args...); err != nil {
		t.Fatal(err)
	}
	for _, split := range []string{"train", "test"} {
		if _, err := run(t, "attack", "--net", net, "--data", "data:mnist/"+split, "--limit", fmt.Sprint(2*limit), "--method", "trigger",
			"--target", "0", "--with-labels", "--out", filepath.Join(tmp, split+".csv")); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(tmp, "repair.yaml")
	train := "retrain"
	if paradigm == "finetune" {
		train = "finetune"
	}
	yaml := fmt.Sprintf("network: %s\nparadigm: %s\ndataset:\n  labelled: true\n  limit: %d\n  negatives: %s\n  positives: data:mnist/train\n"+
		"  test_negatives: %s\n  test_positives: data:mnist/test\n  anchors: 0\n%s:\n  train: {epochs: %d}\n",
		net, paradigm, limit, filepath.Join(tmp, "train.csv"), filepath.Join(tmp, "test.csv"), train, epochs)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "repair", "--quiet", "--json", "--config", cfg, "--out", filepath.Join(tmp, "rep"))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRepairClassifier removes a BadNets backdoor: a small FC classifier trained for two epochs on the
// MNIST test images with 5% poisoned, the trigger stamped on 300 training images (their true labels
// kept) as the repair negatives, their clean twins as positives, and the same for test images held
// out. Retraining on the labelled property fixes the repair set and most of the held-out triggered
// images, and keeps the clean ones.
func TestRepairClassifier(t *testing.T) {
	out := backdoorRepair(t, "mnist_fc_badnets", []string{"epochs=2", "hidden=[64]"}, 300, "retrain", 60)
	var rep struct {
		Success        float64 `json:"repair_success_rate"`
		Generalization float64 `json:"generalization"`
		Drawdown       float64 `json:"drawdown"`
		Fidelity       struct {
			Decision string `json:"decision"`
		} `json:"fidelity"`
		Counts struct {
			Negatives int `json:"repair_negatives"`
		} `json:"counts"`
		Accuracy struct {
			Before float64 `json:"held_out_before"`
			After  float64 `json:"held_out_after"`
		} `json:"accuracy"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if rep.Counts.Negatives < 150 || rep.Success < 95 || rep.Generalization < 70 || rep.Drawdown > 5 || rep.Fidelity.Decision != "argmax" || !(rep.Accuracy.After > rep.Accuracy.Before+20) {
		t.Errorf("repair: %+v", rep)
	}
}

// TestRepairCNN fine-tunes a small BadNets CNN (conv 4 3x3 - maxpool - dense 32 - dense 10, two epochs on
// the test images) on 200 triggered training images: localization picks convolution channels and dense
// neurons, only those move, and most of the repair set is fixed with few clean images lost.
func TestRepairCNN(t *testing.T) {
	out := backdoorRepair(t, "mnist_cnn_badnets", []string{"epochs=2", "conv=[conv 4 3, maxpool 2]", "hidden=[32]"}, 200, "finetune", 100)
	var rep struct {
		Success   float64 `json:"repair_success_rate"`
		Drawdown  float64 `json:"drawdown"`
		Localized []struct {
			Layer, Index int
		} `json:"localized"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	conv := 0
	for _, n := range rep.Localized {
		if n.Layer == 0 {
			conv++
			if n.Index >= 4 {
				t.Errorf("localized conv unit %d: want a channel (0-3)", n.Index)
			}
		}
	}
	if rep.Success < 80 || rep.Drawdown > 10 || conv == 0 {
		t.Errorf("repair: %+v", rep)
	}
}

// TestDiffNeuroDiff proves NeuroDiff's first ACAS Xu instance (N1,1 against its 16-bit copy, property 1's
// box, output 0) at eps 0.05, and refutes it at 1e-6 (the copies differ by about 1.5e-5 there) with an
// input the two networks confirm.
func TestDiffNeuroDiff(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	a := filepath.Join(d, "acasxu", "nnet", "ACASXU_run2a_1_1_batch_2000.nnet")
	b := filepath.Join(d, "neurodiff", "acasxu_16bit", "ACASXU_run2a_1_1_batch_2000_16bit.nnet")
	p := filepath.Join(d, "neurodiff", "acas_properties", "neurodiff_prop_1.vnnlib")
	for _, tt := range []struct{ eps, verdict string }{{"0.05", "certified"}, {"1e-6", "violated"}} {
		out, _ := run(t, "diff", "--json", "--net", a, "--net2", b, "--prop", p, "--output", "0", "--eps", tt.eps, "--timeout", "60s")
		var res struct {
			Verdict    string    `json:"verdict"`
			Input      []float64 `json:"input"`
			A, B       []float64
			Difference float64 `json:"difference"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Verdict != tt.verdict {
			t.Errorf("eps %s: %v %.300s, want %s", tt.eps, err, out, tt.verdict)
			continue
		}
		if res.Verdict == "violated" && (len(res.Input) != 5 || math.Abs(res.B[0]-res.A[0]) < 1e-6 || res.Difference < 1e-6) {
			t.Errorf("counterexample %+v", res)
		}
	}
	out, err := run(t, "diff", "--json", "--bound", "--net", a, "--net2", b, "--prop", p, "--output", "0", "--max-boxes", "1500", "--timeout", "60s")
	var bd struct{ Certified, Sampled float64 }
	if err != nil || json.Unmarshal([]byte(out), &bd) != nil || !(bd.Sampled > 0 && bd.Sampled <= bd.Certified && bd.Certified < 0.01) {
		t.Errorf("--bound: %v %s (want a certified end below 0.01 after 1,500 boxes, where one CROWN pass gives 1636)", err, out)
	}
	if _, err := run(t, "diff", "--net", a, "--net2", b, "--eps", "0.05"); err == nil {
		t.Error("neither --prop nor --box: no error")
	}
}

// TestDiffVNNLIB2: the shipped VNN-LIB 2.0 two-network instance, with N1,1 as f and its 16-bit copy as g,
// holds (sampled differences on its box are about 1e-5, its eps 0.05); the same file with eps 1e-7 on
// output 0 is violated with an input whose difference exceeds it; a file not in the equivalence form is
// refused.
func TestDiffVNNLIB2(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	a := filepath.Join(d, "acasxu", "nnet", "ACASXU_run2a_1_1_batch_2000.nnet")
	b := filepath.Join(d, "neurodiff", "acasxu_16bit", "ACASXU_run2a_1_1_batch_2000_16bit.nnet")
	inst := filepath.Join(d, "vnnlib2", "isomorphic_acasxu_instance_0.vnnlib")
	src, err := os.ReadFile(inst)
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	cut := strings.Index(text, "; Output Constraints")
	dir := t.TempDir()
	tight := filepath.Join(dir, "tight.vnnlib")
	mixed := filepath.Join(dir, "mixed.vnnlib")
	os.WriteFile(tight, []byte(text[:cut]+"(assert (and (<= Y_g[0] (+ Y_f[0] 1e-7)) (>= Y_g[0] (- Y_f[0] 1e-7))))\n"), 0o644)
	os.WriteFile(mixed, []byte(text[:cut]+"(assert (<= Y_g[0] Y_f[1]))\n"), 0o644)
	for _, tt := range []struct{ prop, verdict string }{{inst, "certified"}, {tight, "violated"}} {
		out, _ := run(t, "diff", "--json", "--net", a, "--net2", b, "--prop", tt.prop, "--timeout", "60s")
		var res struct {
			Verdict string `json:"verdict"`
			Checks  []struct {
				Output     int       `json:"output"`
				Eps        float64   `json:"eps"`
				Input      []float64 `json:"input"`
				Difference float64   `json:"difference"`
			} `json:"checks"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Verdict != tt.verdict || len(res.Checks) != 1 {
			t.Errorf("%s: %v %.400s, want %s", filepath.Base(tt.prop), err, out, tt.verdict)
			continue
		}
		if c := res.Checks[0]; tt.verdict == "violated" && (c.Output != 0 || c.Eps != 1e-7 || len(c.Input) != 5 || !(c.Difference > 1e-7)) {
			t.Errorf("violation %+v", c)
		}
	}
	if _, err := run(t, "diff", "--net", a, "--net2", b, "--prop", mixed); err == nil || !strings.Contains(err.Error(), "equivalence form") {
		t.Errorf("a mixed output constraint: %v", err)
	}
}

// TestEvalBundle: eval runs a bundle of experts on labelled rows and scores the bundle's own classes
// (checked against experts.Bundle.Classify here), and refuses what a bundle cannot give (outputs, a
// property).
func TestEvalBundle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	net := nn.Random(rng, []int{2, 5, 3}, activation.ReLU, activation.Identity)
	var exps []*nn.Network
	for l := 0; l < 3; l++ {
		e := net.Clone()
		e.Layers[1].B[l] += 0.5
		exps = append(exps, e)
	}
	dir := t.TempDir()
	b := &experts.Bundle{Strategy: experts.Conf, Original: net, Experts: exps}
	if err := experts.WriteBundle(dir, "bundle.json", b); err != nil {
		t.Fatal(err)
	}
	var data, labs bytes.Buffer
	data.WriteString("x0,x1\n")
	labs.WriteString("row,label\n")
	x := make([]float64, 0, 40)
	labels := make([]int, 20)
	for i := 0; i < 20; i++ {
		a, c := rng.Float64()*2-1, rng.Float64()*2-1
		x = append(x, a, c)
		labels[i] = rng.IntN(3)
		fmt.Fprintf(&data, "%v,%v\n", a, c)
		fmt.Fprintf(&labs, "%d,%d\n", i, labels[i])
	}
	dp, lp := filepath.Join(dir, "x.csv"), filepath.Join(dir, "labels.csv")
	if err := os.WriteFile(dp, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lp, labs.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	classes, err := b.Classify(x)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, c := range classes {
		if c == labels[i] {
			right++
		}
	}
	out, err := run(t, "eval", "--json", "--net", filepath.Join(dir, "bundle.json"), "--data", dp, "--labels", lp)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res struct {
		Accuracy float64 `json:"accuracy"`
		Strategy string  `json:"strategy"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := 100 * float64(right) / 20; math.Abs(res.Accuracy-want) > 1e-9 || res.Strategy != "conf" {
		t.Errorf("accuracy %v (want %v), strategy %q", res.Accuracy, want, res.Strategy)
	}
	if _, err := run(t, "eval", "--net", filepath.Join(dir, "bundle.json"), "--data", dp, "--labels", lp, "--outputs"); err == nil {
		t.Error("a bundle's outputs: no error")
	}
}
