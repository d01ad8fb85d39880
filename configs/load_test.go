package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	base := "network: builtin:demo/demo.onnx\nproperty: builtin:demo/demo.vnnlib\n"
	tests := []struct {
		name, yaml string
		sets       []string
		want       string
	}{
		{"unknown key", base + "finetune:\n  epochz: 3\n", nil, "epochz"},
		{"unknown --set", base, []string{"finetune.epochz=3"}, "unknown key"},
		{"bad --set", base, []string{"finetune"}, "want key=value"},
		{"bad paradigm", base + "paradigm: magic\n", nil, "paradigm \"magic\""},
		{"bad type", base + "seed: abc\n", nil, "seed"},
		{"range", base, []string{"finetune.pso.alpha=2"}, "finetune.pso.alpha 2"},
		{"negative", base, []string{"retrain.train.learn_rate=-1"}, "retrain.train.learn_rate -1"},
		{"no network", "property: x.vnnlib\n", nil, "network: missing"},
		{"max margin", base, []string{"domain.max_margin=-1"}, "max_margin >= 0"},
		{"stall", base, []string{"domain.stall=1"}, "stall in [0, 1)"},
		{"finish", base, []string{"domain.finish=shift"}, `domain.finish: "shift", want none or offset`},
		{"bad yaml", base + "  : [\n", nil, "config"},
	}
	for _, tt := range tests {
		_, err := LoadRepair(write(tt.yaml), nil, tt.sets)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := LoadRepair(filepath.Join(dir, "missing.yaml"), nil, nil); err == nil {
		t.Error("no error for a missing config file")
	}
}

func TestConfigOverrides(t *testing.T) {
	t.Setenv("BIRDNN_FINETUNE_TRAIN_EPOCHS", "7")
	y, err := Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadRepair("", y, []string{"localize.top_k=3", "localize.layers=0,1", "paradigm=retrain"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Finetune.Train.Epochs != 7 || cfg.Localize.TopK != 3 || cfg.Paradigm != "retrain" ||
		!reflect.DeepEqual(cfg.Localize.Layers, []int{0, 1}) {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
	if cfg.Retrain.Train.Epochs != RepairDefaults().Retrain.Train.Epochs {
		t.Error("an unrelated key changed")
	}
}

func TestTrainConfigErrors(t *testing.T) {
	for _, y := range []string{
		"hidden: [4]\n",                       // neither teacher nor csv
		"teacher: t.onnx\ncsv: d.csv\n",       // both
		"teacher: t.onnx\nactivation: nope\n", // unknown activation
		"teacher: t.onnx\nhidden: []\n",       // no hidden layer
		"teacher: t.onnx\nregion: property\n", // region property without a property
		"teacher: t.onnx\nepochs: 0\n",        // no epochs
		"teacher: t.onnx\nunknown_key: 1\n",   // unknown key
	} {
		if _, err := LoadTrain("", []byte(y), nil); err == nil {
			t.Errorf("accepted %q", y)
		}
	}
	if _, err := LoadTrain("", []byte("teacher: t.onnx\n"), nil); err != nil {
		t.Errorf("a minimal config refused: %v", err)
	}
}

// TestTeacherEntries: a teachers entry applies to its teacher only, over the file's keys and under
// --set; its name matches in any case; an entry may set only known keys, never teacher or teachers.
func TestTeacherEntries(t *testing.T) {
	const file = `
teacher: data:acasxu/nnet/ACASXU_run2a_1_9_batch_2000.nnet
hidden: [64, 64]
seed: 1
epochs: 7
teachers:
  ACASXU_run2a_1_9_batch_2000: {hidden: [50, 50, 50], seed: 3}
  other_net: {epochs: 9}
`
	for _, tt := range []struct {
		name      string
		sets      []string
		hidden    []int
		seed      uint64
		epochs    int
		applies   bool
		wantError bool
	}{
		{name: "entry applies", hidden: []int{50, 50, 50}, seed: 3, epochs: 7, applies: true},
		{name: "--set wins", sets: []string{"seed=5"}, hidden: []int{50, 50, 50}, seed: 5, epochs: 7, applies: true},
		{name: "another teacher, no entry", sets: []string{"teacher=dir/ACASXU_run2a_2_1_batch_2000.nnet"}, hidden: []int{64, 64}, seed: 1, epochs: 7},
		{name: "another teacher's entry", sets: []string{"teacher=nets/OTHER_NET.onnx"}, hidden: []int{64, 64}, seed: 1, epochs: 9, applies: true},
		{name: "--set teachers refused", sets: []string{"teachers=x"}, wantError: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadTrain("", []byte(file), tt.sets)
			if tt.wantError {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Hidden, tt.hidden) || cfg.Seed != tt.seed || cfg.Epochs != tt.epochs {
				t.Errorf("hidden %v, seed %d, epochs %d; want %v, %d, %d", cfg.Hidden, cfg.Seed, cfg.Epochs, tt.hidden, tt.seed, tt.epochs)
			}
			if got := cfg.TeacherKeys() != nil; got != tt.applies {
				t.Errorf("TeacherKeys() != nil is %v, want %v", got, tt.applies)
			}
		})
	}
	for _, bad := range []string{
		"teacher: t.onnx\nteachers: {t: {no_such_key: 1}}\n",
		"teacher: t.onnx\nteachers: {u: {teacher: v.onnx}}\n",
		"teacher: t.onnx\nteachers: {t: {epochs: 0}}\n", // the entry's value fails validation
	} {
		if _, err := LoadTrain("", []byte(bad), nil); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestSuiteConfig: the shipped suite config gives N1,9's students the teacher's 6 x 50 shape and seed 3,
// and the other teachers' the file's 6 x 64 and seed 1, as datasets/suite/README.md says they were made.
func TestSuiteConfig(t *testing.T) {
	for _, tt := range []struct {
		teacher string
		hidden  int
		seed    uint64
	}{
		{"ACASXU_run2a_1_9_batch_2000", 50, 3},
		{"ACASXU_run2a_2_1_batch_2000", 64, 1},
		{"ACASXU_run2a_3_5_batch_2000", 64, 1},
	} {
		cfg, err := LoadTrain("../datasets/suite/suite.yaml", nil, []string{"teacher=data:acasxu/nnet/" + tt.teacher + ".nnet"})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Repeat([]int{tt.hidden}, 6)
		if !slices.Equal(cfg.Hidden, want) || cfg.Seed != tt.seed {
			t.Errorf("%s: hidden %v, seed %d; want %v, %d", tt.teacher, cfg.Hidden, cfg.Seed, want, tt.seed)
		}
	}
}

// TestTrainEnv: a training run reads BIRDNN_TRAIN_* like a repair run reads BIRDNN_*, under --set.
func TestTrainEnv(t *testing.T) {
	t.Setenv("BIRDNN_TRAIN_EPOCHS", "7")
	t.Setenv("BIRDNN_TRAIN_SEED", "4")
	cfg, err := LoadTrain("", []byte("teacher: t.onnx\n"), []string{"seed=5"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Epochs != 7 || cfg.Seed != 5 {
		t.Errorf("epochs %d, seed %d; want 7 (environment), 5 (--set)", cfg.Epochs, cfg.Seed)
	}
	if _, err := LoadTrain("", []byte("teacher: t.onnx\n"), []string{"epochz=3"}); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("--set epochz: error %v, want unknown key", err)
	}
}

func TestImageLayers(t *testing.T) {
	for _, tt := range []struct {
		entry string
		want  ImageLayer
		bad   bool
	}{
		{entry: "conv 16 3", want: ImageLayer{Kind: "conv", Channels: 16, Kernel: 3, Stride: 1}},
		{entry: "conv 16 5 2 1", want: ImageLayer{Kind: "conv", Channels: 16, Kernel: 5, Stride: 2, Pad: 1}},
		{entry: "maxpool 2", want: ImageLayer{Kind: "maxpool", Kernel: 2, Stride: 2}},
		{entry: "avgpool 3 1", want: ImageLayer{Kind: "avgpool", Kernel: 3, Stride: 1}},
		{entry: "conv 16", bad: true},
		{entry: "conv 0 3", bad: true},
		{entry: "conv 16 3 0", bad: true},
		{entry: "maxpool", bad: true},
		{entry: "pool 2", bad: true},
		{entry: "conv 16 three", bad: true},
	} {
		c := TrainDefaults()
		c.Conv = []string{tt.entry}
		got, err := c.ImageLayers()
		if tt.bad {
			if err == nil {
				t.Errorf("%q: no error", tt.entry)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0] != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.entry, got, err, tt.want)
		}
	}
	if _, err := LoadTrain("", []byte("data: data:mnist/train\nconv: [\"conv 8 3\", \"maxpool 2\"]\npoison: {fraction: 0.1, target: 7}\n"), []string{"poison.size=4"}); err != nil {
		t.Errorf("a CNN config with poison: %v", err)
	}
	if _, err := LoadTrain("", []byte("csv: x.csv\ninputs: 2\noutputs: 1\nconv: [\"conv 8 3\"]\n"), nil); err == nil {
		t.Error("conv without data: no error")
	}
}

func TestShippedTrainRuns(t *testing.T) {
	names := TrainNames()
	if len(names) < 4 {
		t.Fatalf("shipped training runs %v", names)
	}
	for _, name := range names {
		if _, err := OpenTrain(name, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := OpenTrain("no_such_run", nil); err == nil || !strings.Contains(err.Error(), "mnist_fc") {
		t.Errorf("unknown run: %v", err)
	}
}
