package configs

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/birdnn/birdnn/activation"
)

// Train is a training run of a new network, as read from YAML by birdnn train. Every key has a default
// (TrainDefaults).
type Train struct {
	// Hidden lists the hidden layers' sizes; Activation is their activation (e.g. tanh, sigmoid, elu).
	Hidden     []int  `mapstructure:"hidden"`
	Activation string `mapstructure:"activation"`
	// Teacher is a network to distil (its outputs are the targets); or give CSV.
	Teacher string `mapstructure:"teacher"`
	// Property, with a teacher, adds FocusSamples in its boxes and around the teacher's counterexamples.
	Property string `mapstructure:"property"`
	// CSV is a dataset: each row holds Inputs inputs, then Outputs targets, or one class label (Labels).
	CSV     string `mapstructure:"csv"`
	Inputs  int    `mapstructure:"inputs"`
	Outputs int    `mapstructure:"outputs"`
	Labels  bool   `mapstructure:"labels"`
	// Data is a labelled image set, data:mnist/train, to train a classifier on (instead of teacher or
	// csv): cross-entropy on the softmax of the outputs, the class being the highest output, pixels in
	// [0, 1]. Test, a labelled set too (data:mnist/test), scores the trained network at the end.
	Data string `mapstructure:"data"`
	Test string `mapstructure:"test"`
	// Conv lists the image layers before the Hidden dense ones, for data: "conv C K [S [P]]" (C kernels
	// of K x K with stride S, default 1, and zero padding P, default 0; Activation after it), "maxpool
	// K [S]" or "avgpool K [S]" (K x K windows, stride S, default K).
	Conv []string `mapstructure:"conv"`
	// Poison makes a backdoored classifier (BadNets): a Fraction of the training images, chosen at
	// random among those not of class Target, get the trigger stamped and the label Target.
	Poison Poison `mapstructure:"poison"`
	// Region is where distillation samples and scores: "domain" (the teacher's whole input domain) or
	// "property" (the property's boxes: a local student).
	Region string `mapstructure:"region"`
	// Samples, BoundarySamples and FocusSamples size the distillation set (see Distil).
	Samples         int `mapstructure:"samples"`
	BoundarySamples int `mapstructure:"boundary_samples"`
	FocusSamples    int `mapstructure:"focus_samples"`
	// Holdout rows score the network (argmin agreement) after every epoch.
	Holdout   int     `mapstructure:"holdout"`
	Epochs    int     `mapstructure:"epochs"`
	Batch     int     `mapstructure:"batch"`
	LearnRate float64 `mapstructure:"learn_rate"`
	// Patience: epochs without a better held-out score before the learning rate halves (training stops
	// after six halvings).
	Patience int `mapstructure:"patience"`
	// Keep weighs the decision hinge (keep each row's argmin) beside the squared error; Margin is the
	// hinge's margin, as a fraction of the targets' RMS.
	Keep float64 `mapstructure:"keep"`
	// Rank extends the hinge from the decision to the whole order of the outputs, so that properties
	// about other ranks (ACAS Xu property 2: the clear-of-conflict score is not the largest) carry over.
	Rank   bool    `mapstructure:"rank"`
	Margin float64 `mapstructure:"margin"`
	// CapMargin asks of each pair of outputs at most half the targets' own gap between them: the hinge's
	// margin for the pair (a, j) of a row is min(Margin, (t_j - t_a)/2). The targets are then a zero of
	// the loss, which a margin wider than the teacher's own pulls the student away from.
	CapMargin bool `mapstructure:"cap_margin"`
	// TargetAgreement stops training once the held-out agreement reaches it (after MinEpochs); 0 never.
	TargetAgreement float64 `mapstructure:"target_agreement"`
	MinEpochs       int     `mapstructure:"min_epochs"`
	Seed            uint64  `mapstructure:"seed"`
	// Squash, when > 0, trains on s*asinh(y/s) of the teacher's outputs y (s = Squash): an increasing map,
	// so decisions and every property that compares outputs keep their meaning, which stops a few large
	// outputs from dominating the squared error. Properties with absolute thresholds change meaning.
	Squash float64 `mapstructure:"squash"`
	// Standardize trains on each row's outputs minus their mean, divided by their spread (plus a small
	// floor): an increasing affine map per row, so every comparison between outputs keeps its meaning,
	// while the common level and scale, which carry most of the variance, are taken out.
	Standardize bool `mapstructure:"standardize"`
	// InitFromTeacher starts from the ReLU teacher rewritten for the activation (elu or softplus; see
	// FromReLU) with this Sharpness, instead of random weights; Hidden is then the teacher's.
	InitFromTeacher bool    `mapstructure:"init_from_teacher"`
	Sharpness       float64 `mapstructure:"sharpness"`
	// Init starts from a saved network (.onnx or .nnet) instead of random weights: training resumed,
	// e.g. with more epochs or a lower learning rate. Its activation and depth must be these, its hidden
	// layers these or narrower (then widened with neurons that do not change its function).
	Init string `mapstructure:"init"`
	// Mine, with a teacher, adds up to Mine inputs (each with three close neighbours) every MineEvery
	// epochs where the student's decision still differs from the teacher's, found among 20*Mine uniform
	// samples of the domain: the training set grows where the student is wrong (0: off).
	Mine      int `mapstructure:"mine"`
	MineEvery int `mapstructure:"mine_every"`
	// Out is the ONNX file written.
	Out string `mapstructure:"out"`
	// Teachers holds keys for one teacher only: an entry named after a teacher's file (its base name
	// without folder or extension, any case, e.g. ACASXU_run2a_1_9_batch_2000) applies its keys when that
	// file is the teacher, over the file's own keys and under --set. Entries may not set teacher or
	// teachers.
	Teachers map[string]map[string]any `mapstructure:"teachers"`
}

// TeacherName is the name a Teachers entry gives the teacher file path: its base name without
// extension, lower-cased (viper lower-cases the entries' names).
func TeacherName(path string) string {
	base := filepath.Base(path)
	return strings.ToLower(strings.TrimSuffix(base, filepath.Ext(base)))
}

// TeacherKeys returns the Teachers entry of the configured teacher, or nil.
func (c *Train) TeacherKeys() map[string]any {
	if c.Teacher == "" {
		return nil
	}
	return c.Teachers[TeacherName(c.Teacher)]
}

// Poison is a BadNets poisoning of a training set: a Size x Size square of pixels set to Value in the
// image's bottom-right corner, Margin pixels from its edges, on Fraction of the images, relabelled
// Target.
type Poison struct {
	Fraction float64 `mapstructure:"fraction"`
	Target   int     `mapstructure:"target"`
	Size     int     `mapstructure:"size"`
	Margin   int     `mapstructure:"margin"`
	Value    float64 `mapstructure:"value"`
}

// ImageLayer is one parsed entry of Train.Conv.
type ImageLayer struct {
	// Kind is "conv", "maxpool" or "avgpool".
	Kind                          string
	Channels, Kernel, Stride, Pad int
}

// ImageLayers parses Conv.
func (c *Train) ImageLayers() ([]ImageLayer, error) {
	var out []ImageLayer
	for _, s := range c.Conv {
		f := strings.Fields(s)
		if len(f) == 0 {
			return nil, fmt.Errorf("conv: an empty entry")
		}
		nums := make([]int, len(f)-1)
		for i, a := range f[1:] {
			n, err := strconv.Atoi(a)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("conv: %q: %q is not a count", s, a)
			}
			nums[i] = n
		}
		switch l := (ImageLayer{Kind: f[0], Stride: 1}); f[0] {
		case "conv":
			if len(nums) < 2 || len(nums) > 4 || nums[0] < 1 || nums[1] < 1 {
				return nil, fmt.Errorf("conv: %q: want \"conv CHANNELS KERNEL [STRIDE [PAD]]\"", s)
			}
			l.Channels, l.Kernel = nums[0], nums[1]
			if len(nums) > 2 {
				l.Stride = nums[2]
			}
			if len(nums) > 3 {
				l.Pad = nums[3]
			}
			if l.Stride < 1 {
				return nil, fmt.Errorf("conv: %q: stride must be >= 1", s)
			}
			out = append(out, l)
		case "maxpool", "avgpool":
			if len(nums) < 1 || len(nums) > 2 || nums[0] < 1 {
				return nil, fmt.Errorf("conv: %q: want \"%s KERNEL [STRIDE]\"", s, f[0])
			}
			l.Kernel, l.Stride = nums[0], nums[0]
			if len(nums) > 1 {
				l.Stride = nums[1]
			}
			if l.Stride < 1 {
				return nil, fmt.Errorf("conv: %q: stride must be >= 1", s)
			}
			out = append(out, l)
		default:
			return nil, fmt.Errorf("conv: %q: the layer must be conv, maxpool or avgpool", s)
		}
	}
	return out, nil
}

// TrainDefaults returns the configuration every training run starts from.
func TrainDefaults() Train {
	return Train{Hidden: []int{50, 50, 50}, Activation: "tanh", Samples: 100000, BoundarySamples: 50000,
		FocusSamples: 20000, Holdout: 10000, Epochs: 200, Batch: 1024, LearnRate: 0.003, Patience: 5,
		Keep: 1, Margin: 0.01, TargetAgreement: 0, MinEpochs: 0, Seed: 1, Out: "student.onnx", Sharpness: 1000, Region: "domain",
		Poison: Poison{Size: 3, Margin: 1, Value: 1}}
}

// LoadTrain reads a training run: the defaults, then the YAML file (when path is not empty) or yaml,
// then BIRDNN_TRAIN_* environment variables (BIRDNN_TRAIN_EPOCHS), then the teacher's entry of its
// teachers map (if any), then the key=value overrides. Unknown keys are errors.
func LoadTrain(path string, yaml []byte, overrides []string) (*Train, error) {
	l, err := newLoader(TrainDefaults(), path, yaml, "BIRDNN_TRAIN")
	if err != nil {
		return nil, err
	}
	if err := l.override(overrides, "teachers"); err != nil {
		return nil, err
	}
	cfg := TrainDefaults()
	if err := l.decode(&cfg); err != nil {
		return nil, err
	}
	// The teacher is known only now: its entry goes in under --set, and the config is read again.
	for name, keys := range cfg.Teachers {
		for k := range keys {
			if !l.known[k] || k == "teacher" || k == "teachers" {
				return nil, fmt.Errorf("%s: teachers: %s: %q is not a key an entry may set", l.where, name, k)
			}
		}
	}
	if keys := cfg.TeacherKeys(); len(keys) > 0 {
		for k, val := range keys {
			if !l.set[k] {
				l.v.Set(k, val)
			}
		}
		cfg = TrainDefaults()
		if err := l.decode(&cfg); err != nil {
			return nil, fmt.Errorf("teachers: %s: %w", TeacherName(cfg.Teacher), err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", l.where, err)
	}
	return &cfg, nil
}

// Validate checks values and ranges.
func (c *Train) Validate() error {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	given := 0
	for _, s := range []string{c.Teacher, c.CSV, c.Data} {
		if s != "" {
			given++
		}
	}
	if given != 1 {
		bad("give teacher (distillation), csv (a dataset) or data (a labelled image set), one of them")
	}
	if c.Data == "" && (len(c.Conv) > 0 || c.Test != "" || c.Poison.Fraction != 0) {
		bad("conv, test and poison are for classifiers: give data")
	}
	if _, err := c.ImageLayers(); err != nil {
		bad("%v", err)
	}
	if p := c.Poison; !(p.Fraction >= 0 && p.Fraction < 1) || p.Target < 0 || p.Size < 1 || p.Margin < 0 || math.IsNaN(p.Value) {
		bad("poison: fraction in [0, 1), target, margin >= 0, size >= 1, a value")
	}
	if c.CSV != "" && (c.Inputs < 1 || c.Outputs < 1) {
		bad("csv: give inputs and outputs (>= 1)")
	}
	if _, err := activation.Parse(c.Activation); err != nil {
		bad("activation: %v", err)
	}
	if len(c.Hidden) == 0 {
		bad("hidden: give at least one hidden layer")
	}
	for _, h := range c.Hidden {
		if h < 1 {
			bad("hidden: sizes must be >= 1")
		}
	}
	if c.Samples < 0 || c.BoundarySamples < 0 || c.FocusSamples < 0 || c.Holdout < 1 {
		bad("samples, boundary_samples and focus_samples must be >= 0, holdout >= 1")
	}
	if c.Epochs < 1 || c.Batch < 1 || !(c.LearnRate > 0) || c.Patience < 1 {
		bad("epochs, batch, patience >= 1 and learn_rate > 0")
	}
	if c.Mine < 0 || c.MineEvery < 0 {
		bad("mine and mine_every must be >= 0")
	}
	if c.Region != "domain" && c.Region != "property" {
		bad("region %q: want domain or property", c.Region)
	}
	if c.Region == "property" && c.Property == "" {
		bad("region property: give a property")
	}
	if c.Squash < 0 {
		bad("squash must be >= 0")
	}
	if c.Keep < 0 || c.Margin < 0 || c.TargetAgreement < 0 || c.TargetAgreement > 100 {
		bad("keep and margin >= 0, target_agreement in [0, 100]")
	}
	if c.Init != "" && c.InitFromTeacher {
		bad("init and init_from_teacher: give one of them")
	}
	if c.Out == "" {
		bad("out: missing")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
