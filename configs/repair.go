package configs

import (
	"fmt"
	"math"
	"strings"
)

// Repair is a repair run, as read from YAML. Every key has a default (RepairDefaults), so a file sets only what
// it changes. Paths may start with "data:" (relative to the shared data folder, see datasets.Dir) or
// "builtin:" (the project's own embedded files, e.g. builtin:demo/demo.onnx).
type Repair struct {
	// Mode is "sample" (repair given or sampled bad inputs) or "domain" (repair until a verifier certifies
	// the property over its whole input boxes; see package domain).
	Mode string `mapstructure:"mode"`
	// Paradigm is "finetune" (change only localized neurons), "retrain" (train every weight) or
	// "minimal" (the least change of one layer by linear programming; see Minimal), "constraint"
	// (NNrepair's constraint-based repair of a few localized weights; see Constraint), or "patch"
	// (domain-wise only: a constant output offset on each box of the property, switched on by a box
	// indicator, the network unchanged elsewhere; see domain.Patch and Domain.PatchBand).
	Paradigm string `mapstructure:"paradigm"`
	// Network and Property are the network file (.nnet or .onnx) and its VNN-LIB property.
	Network  string `mapstructure:"network"`
	Property string `mapstructure:"property"`
	// Properties lists several properties to repair together (instead of property).
	Properties []string `mapstructure:"properties"`
	// Seed makes the run reproducible: the same seed gives the same result.
	Seed       uint64     `mapstructure:"seed"`
	Dataset    Dataset    `mapstructure:"dataset"`
	Imitate    Imitate    `mapstructure:"imitate"`
	Localize   Localize   `mapstructure:"localize"`
	Finetune   Finetune   `mapstructure:"finetune"`
	Retrain    Retrain    `mapstructure:"retrain"`
	Minimal    Minimal    `mapstructure:"minimal"`
	Constraint Constraint `mapstructure:"constraint"`
	Eval       Eval       `mapstructure:"eval"`
	Domain     Domain     `mapstructure:"domain"`
}

// Domain controls domain-wise repair: rounds of repair, verification, and growth of the repair set
// from counterexamples and undecided regions.
type Domain struct {
	// Rounds is the most repair-verify rounds.
	Rounds int `mapstructure:"rounds"`
	// VerifySeconds is the verifier's budget per round.
	VerifySeconds float64 `mapstructure:"verify_seconds"`
	// Grace, times VerifySeconds, is how much longer a round's verifier may run while it is on course to
	// finish in that time (verify.Options.Grace); 0: VerifySeconds is
	// final. A network that is safe but a little slow to prove is then certified in its round, instead
	// of being repaired again with a wider margin.
	Grace float64 `mapstructure:"grace"`
	// Stall ends a round's verification early, in every round but the last, when its proof falls behind:
	// when the unproven share of the box, shrinking at the pace of the last quarter of the time so far,
	// would still be above Stall at VerifySeconds, or when the open boxes have stopped falling with a
	// third of VerifySeconds left (verify.Options.Stall). 0: every round takes its whole budget.
	Stall float64 `mapstructure:"stall"`
	// Neighbours is how many inputs are sampled around each counterexample (and in each undecided box)
	// to join the repair set.
	Neighbours int `mapstructure:"neighbours"`
	// Radius is the half-width of a counterexample's neighbourhood, as a fraction of the box width.
	Radius float64 `mapstructure:"radius"`
	// MarginGrowth multiplies the margin of the rows the verifier pointed at (hard_margin) after every
	// round that ends uncertified, so the next repair leaves the bounds more room. The default, 16, took
	// the 6 x 64 tanh and sigmoid students of N3,5 from 3 rounds (65.7-88.2 s) to 2 (21.9-50.8 s) against
	// property 2, both paradigms, at 30 s per round, with domain fidelity within noise (94.9-98.5%).
	MarginGrowth float64 `mapstructure:"margin_growth"`
	// MaxMargin caps the grown margin (a fraction of the output RMS, like hard_margin); 0: no cap. A cap
	// trades proofs for fidelity: at 1, N2,9's tanh student, fine-tuned, certified in 3 rounds either way,
	// kept 98.94% domain fidelity instead of 93.84%, but N2,9 itself, retrained, ended unknown after 6
	// rounds where without it it was certified in 3 (its last repair needed 12.8).
	MaxMargin float64 `mapstructure:"max_margin"`
	// Finish says what to do when the rounds end without a certificate: "none", or "offset": raise the
	// output layer's biases of the outputs the property forbids as the decision by the least amount the
	// verifier certifies (domain.Offset; for properties whose unsafe conjunctions all read "output i is no
	// greater than outputs j"). The decision changes only where the network chose a raised output.
	Finish string `mapstructure:"finish"`
	// HardStart gives the original network's counterexamples and their neighbourhoods the grown margin
	// (hard_margin after one growth) from the first round on, instead of after the first uncertified
	// round. Against property 2 at 30 s a round, it certified N2,1's and N3,5's ReLU teachers and their
	// 6 x 64 tanh and sigmoid students in one round each, both paradigms (12 repairs: 248.9 s in all
	// instead of 392.8 s; domain fidelity 97.41% on average instead of 97.76%, at least 96.06% instead
	// of 94.94%). Retraining gains most (N3,5's tanh student: 9.4 s instead of 46.5 s); a fine-tuning
	// round takes longer, as few neurons must meet the wider margin (N3,5's sigmoid student: 60.4 s
	// instead of 46.5 s). On N2,9 and its students it took 1-2 rounds (320.0 s instead of 449.8 s, mean
	// domain fidelity 93.66% instead of 94.13%, the teacher's fine-tuning 90.02% instead of 99.78%).
	HardStart bool `mapstructure:"hard_start"`
	// Continue starts each round's training from the previous round's network (imitation targets and
	// fidelity still refer to the original); otherwise every round starts from the original.
	Continue bool `mapstructure:"continue"`
	// ShrinkSteps pulls a certified repair back toward the original: the weights original + lambda
	// (repaired - original) for lambda found by this many steps of bisection on [0, 1], each verified
	// (a budget of twice the last round's verifier time, at least 2 s and at most VerifySeconds); the
	// least certified lambda is kept when its argmin agreement with the original, on samples of the
	// domain drawn apart from the reported ones, is no lower than the full repair's. 0: off.
	ShrinkSteps int `mapstructure:"shrink_steps"`
	// FidelityFloor is the least domain fidelity (argmin or argmax agreement, percent) a certified repair
	// may have without a warning: below it the report says so in its first lines. 0: no floor.
	FidelityFloor float64 `mapstructure:"fidelity_floor"`
	// PatchBand is paradigm patch's band: each box indicator falls from 1 on its box to 0 this far outside
	// it (a fraction of the domain's width per input, summed over the inputs).
	PatchBand float64 `mapstructure:"patch_band"`
}

// Dataset says where the repair and test inputs come from: CSV files, or samples of the property's
// box when no CSV is given.
type Dataset struct {
	// Negatives and Positives are CSVs of inputs used for repair; rows are re-classified with the network,
	// so a file may mix both.
	Negatives string `mapstructure:"negatives"`
	Positives string `mapstructure:"positives"`
	// TestNegatives and TestPositives are held-out CSVs for generalization and drawdown.
	TestNegatives string `mapstructure:"test_negatives"`
	TestPositives string `mapstructure:"test_positives"`
	// Samples and TestSamples are how many inputs to draw from the property's box for repair and for test
	// when the CSVs are not given. When the repair samples hold no negative (the violations are rare, or
	// on a face of the box), half of each set is drawn instead around counterexamples that a search and
	// then the verifier find (up to FocusSeconds; 0: 60).
	Samples      int     `mapstructure:"samples"`
	TestSamples  int     `mapstructure:"test_samples"`
	FocusSeconds float64 `mapstructure:"focus_seconds"`
	// Anchors is how many uniform samples of the network's whole input domain hold their original outputs
	// during repair (0: none).
	Anchors int `mapstructure:"anchors"`
	// ShellAnchors is how many more anchors are drawn from the band around the property's boxes: outside
	// every box, within ShellWidth times the domain's width (per input) of one (property.Shell), where a
	// repair moves the decisions it should not most. 0: none.
	ShellAnchors int     `mapstructure:"shell_anchors"`
	ShellWidth   float64 `mapstructure:"shell_width"`
	// Labelled makes the repair a classifier's: every file's rows carry their class label (a CSV's
	// last column; data:mnist/test and data:mnist/train have theirs, pixels in [0, 1]), and without a
	// property the property is that every repair and test input is classified as its label (the
	// highest output) ahead of the others by more than Margin. Limit keeps the first Limit rows of each
	// file (0: all).
	Labelled bool    `mapstructure:"labelled"`
	Margin   float64 `mapstructure:"margin"`
	Limit    int     `mapstructure:"limit"`
}

// Imitate controls positive search and imitation targets.
type Imitate struct {
	// Target is nearest_input, nearest_output or mean_k.
	Target string `mapstructure:"target"`
	// K is the number of positives averaged by mean_k.
	K int `mapstructure:"k"`
	// Search finds positives near each negative by sampling (always done when the data has none).
	Search bool `mapstructure:"search"`
	// Radius is the starting neighbourhood half-width as a fraction of the box width.
	Radius float64 `mapstructure:"radius"`
	// PerNegative is how many positives to find near each negative.
	PerNegative int `mapstructure:"per_negative"`
}

// Localize controls fault localization (fine-tuning only).
type Localize struct {
	// Method is gradient, normalized or paper.
	Method string `mapstructure:"method"`
	// TopK is how many neurons to change.
	TopK int `mapstructure:"top_k"`
	// Layers restricts the choice to these layers (0-based; the output layer included); empty means all.
	Layers []int `mapstructure:"layers"`
}

// Finetune controls fine-tuning of the localized neurons.
type Finetune struct {
	// Optimizer is gradient (masked training through the Gorgonia engine) or pso (the paper's particle
	// swarm over per-neuron output factors).
	Optimizer string    `mapstructure:"optimizer"`
	Train     TrainSpec `mapstructure:"train"`
	PSO       PSO       `mapstructure:"pso"`
}

// Retrain controls retraining of every weight.
type Retrain struct {
	Train TrainSpec `mapstructure:"train"`
}

// TrainSpec is a gradient-training schedule and its loss weights. The loss is
//
//	alpha * imitation(negatives) + beta * MSE(positives, original outputs)
//	  + anchor * MSE(anchors, original outputs) + gamma * violation(margin)
//	  + keep * decision hinge(positives, anchors)
//
// with each term a mean over its rows, in units of the original outputs' RMS; violation covers negatives
// and positives, so positives are kept on the safe side too. Anchors are uniform samples of the network's
// whole input domain (dataset.anchors) that keep the rest of the network's behaviour in place.
type TrainSpec struct {
	Optimizer string  `mapstructure:"optimizer"` // adam or sgd
	LearnRate float64 `mapstructure:"learn_rate"`
	Momentum  float64 `mapstructure:"momentum"` // sgd only
	Epochs    int     `mapstructure:"epochs"`
	Batch     int     `mapstructure:"batch"`
	Alpha     float64 `mapstructure:"alpha"`
	Beta      float64 `mapstructure:"beta"`
	Gamma     float64 `mapstructure:"gamma"`
	// Anchor weighs the anchors' output term: MSE(anchors, original) on samples of the whole domain.
	Anchor float64 `mapstructure:"anchor"`
	// Keep weighs the decision-preserving hinge on positives and anchors: sum over j != a of
	// max(0, y_a - y_j), a the original decision (argmin), zero while the decision holds.
	Keep float64 `mapstructure:"keep"`
	// Margin is how far past the unsafe region's boundary the loss pushes outputs, as a fraction of the
	// RMS of the original outputs on the repair rows.
	Margin float64 `mapstructure:"margin"`
	// Patience stops training after this many epochs without improvement once every repair negative is
	// fixed (0: stop as soon as they are).
	Patience int `mapstructure:"patience"`
	// EpochRows caps the negatives, positives and anchors an epoch trains on (each, drawn afresh every
	// epoch, weighted to stand for their whole class); 0 trains on every row every epoch.
	EpochRows int `mapstructure:"epoch_rows"`
	// HardMargin is the margin (a fraction of the output RMS, like Margin) for the problem's hard inputs
	// (Problem.Hard: where domain-wise repair's verifier got stuck); it is used when larger than Margin.
	HardMargin float64 `mapstructure:"hard_margin"`
}

// PSO is BIRDNN's particle swarm: one factor (1 + r), r in [-Range, Range], per localized neuron.
type PSO struct {
	Particles  int     `mapstructure:"particles"`
	Iterations int     `mapstructure:"iterations"`
	C1         float64 `mapstructure:"c1"`
	C2         float64 `mapstructure:"c2"`
	W          float64 `mapstructure:"w"`
	Alpha      float64 `mapstructure:"alpha"`
	Range      float64 `mapstructure:"range"`
}

// Minimal controls paradigm minimal (sample-wise): the least change of one dense layer that makes every
// repair negative satisfy the property with Margin (package minimal, Goldberger et al.), proved minimal
// by the program's duals.
type Minimal struct {
	// Layer is the dense layer to change (0-based); -1 is the output layer. For a hidden layer the
	// activation pattern on each input is held fixed, and the report says where it moved.
	Layer int `mapstructure:"layer"`
	// Norm is linf (the largest |change|) or l1 (the sum of |change|).
	Norm string `mapstructure:"norm"`
	// Bias lets the layer's biases change too.
	Bias bool `mapstructure:"bias"`
	// Margin (output units) is how far past each violated constraint a negative's output must go: of
	// every unsafe conjunction the constraint the original comes closest to breaking is made to break
	// by Margin. For a classifier, the label must win by the dataset's margin plus Margin.
	Margin float64 `mapstructure:"margin"`
	// Keep is how many repair positives must keep their decision (argmin, or argmax for a classifier)
	// by KeepMargin; 0: none. KeepWeight 0 makes those rows hard; > 0 soft, each unit of violation
	// costing KeepWeight.
	Keep       int     `mapstructure:"keep"`
	KeepMargin float64 `mapstructure:"keep_margin"`
	KeepWeight float64 `mapstructure:"keep_weight"`
}

// Constraint controls paradigm constraint (sample-wise, NNrepair, Usman et al.): only the Weights entries of
// one dense layer that contribute most to the negatives' violations may change (minimal.Localize), each by
// at most Limit; every negative's rows are soft (FailWeight a unit of violation), the first Passing
// positives of each decision class hard (they keep their decision); the program minimizes the total
// violation plus the L1 change: the LP relaxation of NNrepair's MaxSMT problem.
type Constraint struct {
	// Layer is the dense layer to change (0-based); -1 is the output layer.
	Layer int `mapstructure:"layer"`
	// Weights is how many entries may change (NNrepair: 5); Limit bounds each change (0.5).
	Weights int     `mapstructure:"weights"`
	Limit   float64 `mapstructure:"limit"`
	// Passing is how many repair positives of each decision class must keep their decision (50).
	Passing int `mapstructure:"passing"`
	// Margin (output units) is how far past each violated constraint a negative's output should go.
	Margin float64 `mapstructure:"margin"`
	// FailWeight prices a unit of a negative's violation against a unit of L1 change.
	FailWeight float64 `mapstructure:"fail_weight"`
	// Solver is "lp" (the LP relaxation above) or "exact": the MaxSMT problem itself, the most negatives
	// satisfied (every row), solved by branch and bound (minimal.MaxSatisfied) within Nodes programs and
	// Seconds; the report says whether it closed the gap.
	Solver string `mapstructure:"solver"`
	// Oracle is what a negative must reach: "outputs" (the property's rows on the outputs), "pattern"
	// (NNrepair's intermediate-layer specification: the activation pattern at the changed hidden layer
	// that the passing inputs of its expected class share, the class of its nearest passing input), or
	// "auto" (pattern for a hidden layer, outputs for the output layer).
	Oracle  string  `mapstructure:"oracle"`
	Nodes   int     `mapstructure:"nodes"`
	Seconds float64 `mapstructure:"seconds"`
}

// Eval controls the measurements of the report.
type Eval struct {
	// DomainSamples is how many uniform samples of the network's whole input domain measure fidelity.
	DomainSamples int `mapstructure:"domain_samples"`
	// DriftSeconds is the budget of the certified drift (package diff: a bound on max |f' - f| outside
	// and inside the property's boxes, and the volume share whose decision is proved unchanged); 0 skips it.
	DriftSeconds float64 `mapstructure:"drift_seconds"`
}

// RepairDefaults returns the configuration every repair run starts from.
func RepairDefaults() Repair {
	return Repair{
		Mode:       "sample",
		Paradigm:   "finetune",
		Seed:       1,
		Properties: []string{},
		Dataset:    Dataset{Samples: 10000, TestSamples: 10000, Anchors: 5000, ShellWidth: 0.05},
		Imitate:    Imitate{Target: "nearest_input", K: 5, Radius: 0.01, PerNegative: 1},
		Localize:   Localize{Method: "gradient", TopK: 20, Layers: []int{}},
		Finetune: Finetune{
			Optimizer: "gradient",
			Train:     TrainSpec{Optimizer: "adam", LearnRate: 0.001, Momentum: 0.9, Epochs: 300, Batch: 4096, Alpha: 0.1, Beta: 1, Gamma: 1, Anchor: 1, Keep: 1, Margin: 0.05, Patience: 3},
			PSO:       PSO{Particles: 20, Iterations: 100, C1: 0.41, C2: 0.41, W: 0.8, Alpha: 0.5, Range: 1},
		},
		Retrain: Retrain{
			Train: TrainSpec{Optimizer: "adam", LearnRate: 0.001, Momentum: 0.9, Epochs: 300, Batch: 4096, Alpha: 1, Beta: 1, Gamma: 1, Anchor: 1, Keep: 1, Margin: 0.05, Patience: 3, EpochRows: 2048},
		},
		Minimal:    Minimal{Layer: -1, Norm: "linf", Margin: 0.001},
		Constraint: Constraint{Layer: -1, Weights: 5, Limit: 0.5, Passing: 50, Margin: 0.001, FailWeight: 100, Solver: "lp", Oracle: "auto", Nodes: 500, Seconds: 60},
		Eval:       Eval{DomainSamples: 5000, DriftSeconds: 10},
		Domain:     Domain{Rounds: 8, VerifySeconds: 60, Grace: 1, Stall: 0.005, Neighbours: 200, Radius: 0.02, MarginGrowth: 16, Finish: "none", Continue: true, FidelityFloor: 98, PatchBand: 0.001},
	}
}

// LoadRepair reads a repair run: the defaults, then the YAML file (when path is not empty) or yaml, then
// BIRDNN_* environment variables (BIRDNN_FINETUNE_TRAIN_EPOCHS), then the key=value overrides. Unknown
// keys and malformed values are errors.
func LoadRepair(path string, yaml []byte, overrides []string) (*Repair, error) {
	l, err := newLoader(RepairDefaults(), path, yaml, "BIRDNN")
	if err != nil {
		return nil, err
	}
	if err := l.override(overrides); err != nil {
		return nil, err
	}
	cfg := RepairDefaults()
	if err := l.decode(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", l.where, err)
	}
	return &cfg, nil
}

// Validate checks values and ranges (files are checked when the run loads them).
func (c *Repair) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if c.Mode != "sample" && c.Mode != "domain" {
		bad("mode %q: want sample or domain", c.Mode)
	}
	if c.Paradigm != "finetune" && c.Paradigm != "retrain" && c.Paradigm != "minimal" && c.Paradigm != "constraint" && c.Paradigm != "patch" {
		bad("paradigm %q: want finetune, retrain, minimal, constraint or patch", c.Paradigm)
	}
	if c.Paradigm == "patch" && c.Mode != "domain" {
		bad("paradigm patch repairs domain-wise: set mode: domain")
	}
	if b := c.Domain.PatchBand; !(b > 0 && b <= 1) {
		bad("domain.patch_band %v: want a fraction of the domain's width in (0, 1]", b)
	}
	if (c.Paradigm == "minimal" || c.Paradigm == "constraint") && c.Mode != "sample" {
		bad("paradigm %s repairs sample-wise: set mode: sample", c.Paradigm)
	}
	if k := c.Constraint; k.Layer < -1 || k.Weights < 1 || !(k.Limit > 0) || math.IsInf(k.Limit, 0) || k.Passing < 0 || !(k.Margin >= 0) || !(k.FailWeight > 0) || math.IsInf(k.FailWeight, 0) {
		bad("constraint: want layer >= -1, weights >= 1, a finite limit > 0, passing >= 0, margin >= 0, a finite fail_weight > 0")
	}
	if k := c.Constraint; k.Solver != "lp" && k.Solver != "exact" || k.Nodes < 1 || !(k.Seconds >= 0) || k.Oracle != "auto" && k.Oracle != "outputs" && k.Oracle != "pattern" {
		bad("constraint: solver %q, oracle %q, nodes %d, seconds %v: want solver lp or exact, oracle auto, outputs or pattern, nodes >= 1, seconds >= 0", k.Solver, k.Oracle, k.Nodes, k.Seconds)
	}
	if m := c.Minimal; m.Layer < -1 || (m.Norm != "linf" && m.Norm != "l1") || !(m.Margin >= 0) || m.Keep < 0 || !(m.KeepMargin >= 0) || !(m.KeepWeight >= 0) {
		bad("minimal: want layer >= -1, norm linf or l1, margin, keep_margin and keep_weight >= 0, keep >= 0")
	}
	if c.Network == "" {
		bad("network: missing")
	}
	if c.Property == "" && len(c.Properties) == 0 && !c.Dataset.Labelled {
		bad("property: missing (give property or properties, or a labelled dataset)")
	}
	if d := c.Dataset; d.Labelled && (d.Negatives == "" || d.Margin < 0 || d.Limit < 0) {
		bad("dataset: a labelled repair needs negatives (the inputs to classify right), margin and limit >= 0")
	}
	if c.Property != "" && len(c.Properties) > 0 {
		bad("give property or properties, not both")
	}
	if dm := c.Domain; dm.Rounds < 1 || !(dm.VerifySeconds > 0) || !(dm.Grace >= 0) || !(dm.Stall >= 0 && dm.Stall < 1) || dm.Neighbours < 0 || !(dm.Radius > 0 && dm.Radius <= 1) || !(dm.MarginGrowth >= 1) || !(dm.MaxMargin >= 0) || dm.ShrinkSteps < 0 || !(dm.FidelityFloor >= 0 && dm.FidelityFloor <= 100) {
		bad("domain: want rounds >= 1, verify_seconds > 0, grace >= 0, stall in [0, 1), neighbours >= 0, radius in (0, 1], margin_growth >= 1, max_margin >= 0 (0: no cap), shrink_steps >= 0, fidelity_floor in [0, 100]")
	}
	if f := c.Domain.Finish; f != "" && f != "none" && f != "offset" {
		bad("domain.finish: %q, want none or offset", f)
	}
	d := c.Dataset
	if d.Negatives == "" && d.Samples <= 0 {
		bad("dataset: give negatives (a CSV) or samples > 0")
	}
	if d.TestNegatives == "" && d.TestPositives == "" && d.TestSamples <= 0 {
		bad("dataset: give test_negatives/test_positives or test_samples > 0")
	}
	if d.Samples < 0 || d.TestSamples < 0 || d.Anchors < 0 || d.ShellAnchors < 0 {
		bad("dataset: sample counts must not be negative")
	}
	if d := c.Dataset; d.ShellAnchors > 0 && !(d.ShellWidth > 0 && d.ShellWidth <= 1) {
		bad("dataset.shell_width %v: want (0, 1]", d.ShellWidth)
	}
	switch c.Imitate.Target {
	case "nearest_input", "nearest_output", "mean_k":
	default:
		bad("imitate.target %q: want nearest_input, nearest_output or mean_k", c.Imitate.Target)
	}
	if c.Imitate.K < 1 {
		bad("imitate.k %d: want >= 1", c.Imitate.K)
	}
	if !(c.Imitate.Radius > 0 && c.Imitate.Radius <= 1) {
		bad("imitate.radius %v: want in (0, 1]", c.Imitate.Radius)
	}
	if c.Imitate.PerNegative < 1 {
		bad("imitate.per_negative %d: want >= 1", c.Imitate.PerNegative)
	}
	switch c.Localize.Method {
	case "gradient", "normalized", "paper":
	default:
		bad("localize.method %q: want gradient, normalized or paper", c.Localize.Method)
	}
	if c.Localize.TopK < 1 {
		bad("localize.top_k %d: want >= 1", c.Localize.TopK)
	}
	if c.Finetune.Optimizer != "gradient" && c.Finetune.Optimizer != "pso" {
		bad("finetune.optimizer %q: want gradient or pso", c.Finetune.Optimizer)
	}
	for name, t := range map[string]TrainSpec{"finetune.train": c.Finetune.Train, "retrain.train": c.Retrain.Train} {
		if t.Optimizer != "adam" && t.Optimizer != "sgd" {
			bad("%s.optimizer %q: want adam or sgd", name, t.Optimizer)
		}
		if !(t.LearnRate > 0) {
			bad("%s.learn_rate %v: want > 0", name, t.LearnRate)
		}
		if t.Momentum < 0 || t.Momentum >= 1 {
			bad("%s.momentum %v: want in [0, 1)", name, t.Momentum)
		}
		if t.Epochs < 1 || t.Batch < 1 {
			bad("%s: epochs %d and batch %d must be >= 1", name, t.Epochs, t.Batch)
		}
		if t.Alpha < 0 || t.Beta < 0 || t.Gamma < 0 || t.Anchor < 0 || t.Keep < 0 || t.Margin < 0 || t.Patience < 0 || t.EpochRows < 0 {
			bad("%s: alpha, beta, gamma, anchor, keep, margin, patience and epoch_rows must not be negative", name)
		}
	}
	p := c.Finetune.PSO
	if p.Particles < 1 || p.Iterations < 1 {
		bad("finetune.pso: particles %d and iterations %d must be >= 1", p.Particles, p.Iterations)
	}
	if p.Alpha < 0 || p.Alpha > 1 {
		bad("finetune.pso.alpha %v: want in [0, 1]", p.Alpha)
	}
	if !(p.Range > 0) {
		bad("finetune.pso.range %v: want > 0", p.Range)
	}
	if !(c.Eval.DriftSeconds >= 0) || math.IsInf(c.Eval.DriftSeconds, 0) {
		bad("eval.drift_seconds %v: must be a non-negative number of seconds", c.Eval.DriftSeconds)
	}
	if c.Eval.DomainSamples < 0 {
		bad("eval.domain_samples %d: must not be negative", c.Eval.DomainSamples)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
