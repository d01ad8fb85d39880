package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/experts"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/spf13/cobra"
)

type evalFlags struct {
	net, prop, data, labels string
	samples                 int
	seed                    uint64
	pixelScale              float64
	asJSON, outputs, raw    bool
}

// evalResult is what eval prints with --json.
type evalResult struct {
	Network       string   `json:"network"`
	Property      string   `json:"property,omitempty"`
	Data          string   `json:"data,omitempty"`
	Samples       int      `json:"samples,omitempty"`
	Seed          *uint64  `json:"seed,omitempty"`
	Rows          int      `json:"rows"`
	Violations    *int     `json:"violations,omitempty"`
	ViolationRate *float64 `json:"violation_rate,omitempty"`
	OutsideBox    *int     `json:"outside_box,omitempty"`
	MinMargin     *float64 `json:"min_margin,omitempty"`
	Advisories    []int    `json:"advisories"`
	// Accuracy (percent), per-class accuracy and the confusion matrix (rows: labels, columns: the
	// predicted class, the output of highest score), when the rows have labels.
	Accuracy      *float64    `json:"accuracy,omitempty"`
	ClassAccuracy []float64   `json:"class_accuracy,omitempty"`
	Confusion     [][]int     `json:"confusion,omitempty"`
	PixelScale    float64     `json:"pixel_scale,omitempty"`
	Outputs       [][]float64 `json:"outputs,omitempty"`
	RawUnits      bool        `json:"raw_units,omitempty"`
	// Strategy is a bundle of experts' combination (package experts); its classes are scored.
	Strategy string `json:"strategy,omitempty"`
}

func newEval() *cobra.Command {
	f := &evalFlags{}
	cmd := &cobra.Command{
		Use:   "eval --net FILE [--prop FILE] [--data CSV | --samples N --seed S] [--json] [--outputs] [--raw]",
		Short: "Run a network on a CSV of inputs or on samples of a property's box, and count violations",
		Long: `Run a network on the rows of a CSV file (a header line, one input a row) or on N uniform samples of
a property's input box. With --prop, count the rows whose output lies in the property's unsafe region.

Inputs and outputs are in the network's own units (normalized inputs, raw outputs), as the VNN-LIB
properties and the CARE sets are. With --raw, CSV inputs are read in physical units and normalized with
the network's constants, and printed outputs are de-normalized; properties are still checked in the
network's units.`,
		Args: cobra.NoArgs,
		RunE: f.run,
	}
	fl := cmd.Flags()
	fl.StringVar(&f.net, "net", "", "network file (.nnet or .onnx), or data:REL or builtin:REL as configs name them; or a bundle of experts (.json, see bench nnrepair --models)")
	fl.StringVar(&f.prop, "prop", "", "VNN-LIB property to check (a file, data:REL or builtin:REL)")
	fl.StringVar(&f.data, "data", "", "CSV file of inputs (header line, one input a row)")
	fl.IntVar(&f.samples, "samples", 0, "evaluate N uniform samples of the property's box instead of a CSV")
	fl.Uint64Var(&f.seed, "seed", 1, "random seed for --samples")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fl.StringVar(&f.labels, "labels", "", "CSV of class labels for the --data rows (the last column of each row); data:mnist/* has its own")
	fl.Float64Var(&f.pixelScale, "pixel-scale", 0, "multiply data:mnist/* pixels (read in [0, 1]) by this; 0: to the network's normalization's input range when it states one (raw 0-255 pixels), else 1")
	fl.BoolVar(&f.outputs, "outputs", false, "include the outputs, one array per row")
	fl.BoolVar(&f.raw, "raw", false, "CSV inputs and printed outputs in physical units (uses the network's normalization)")
	cmd.MarkFlagRequired("net")
	return cmd
}

func runEval(f evalFlags) (*evalResult, error) {
	if (f.data == "") == (f.samples == 0) {
		return nil, errors.New("give either --data CSV or --samples N")
	}
	if f.samples < 0 {
		return nil, fmt.Errorf("--samples %d must be positive", f.samples)
	}
	if f.samples > 0 && f.prop == "" {
		return nil, errors.New("--samples draws from a property's box: give --prop")
	}
	var bundle *experts.Bundle
	var net *nn.Network
	var err error
	if experts.IsBundle(f.net) {
		if f.prop != "" || f.outputs || f.raw || f.data == "" {
			return nil, fmt.Errorf("%s is a bundle of experts, which gives classes only: evaluate it on --data with labels (no --prop, --outputs or --raw)", f.net)
		}
		p, err := datasets.Resolve(f.net)
		if err != nil {
			return nil, err
		}
		if bundle, err = experts.ReadBundle(p); err != nil {
			return nil, err
		}
		net = bundle.Original
	} else if net, err = loadNet(f.net); err != nil {
		return nil, err
	}
	if f.raw && net.Norm == nil {
		return nil, fmt.Errorf("--raw: %s has no normalization constants", f.net)
	}
	res := &evalResult{Network: f.net, RawUnits: f.raw}
	var prop *property.Property
	if f.prop != "" {
		if prop, err = readProperty(f.prop); err != nil {
			return nil, err
		}
		if err := prop.Check(net.Inputs(), net.Outputs()); err != nil {
			return nil, fmt.Errorf("%s and %s: %w", f.prop, f.net, err)
		}
		res.Property = f.prop
	}
	var x []float64
	var labels []int
	if f.data != "" {
		tab, lab, scale, err := readData(f.data, f.labels, f.pixelScale, net)
		if err != nil {
			return nil, err
		}
		x, labels = tab.Data, lab
		if scale != 1 {
			res.PixelScale = scale
		}
		if f.raw {
			for r := 0; r < tab.Rows(); r++ {
				row := tab.Row(r)
				net.Norm.NormalizeInput(row, row)
			}
		}
		res.Data = f.data
	} else {
		seed := f.seed
		res.Seed, res.Samples = &seed, f.samples
		x = prop.Sample(rand.New(rand.NewPCG(f.seed, 0)), f.samples)
	}
	rows := len(x) / net.Inputs()
	res.Rows = rows
	nin, nout := net.Inputs(), net.Outputs()
	var y []float64
	if bundle != nil {
		if labels == nil {
			return nil, fmt.Errorf("%s is a bundle of experts: --data needs labels", f.net)
		}
		classes, err := bundle.Classify(x)
		if err != nil {
			return nil, err
		}
		// The bundle's classes as one-hot outputs, for the scoring below.
		y = make([]float64, rows*nout)
		for r, c := range classes {
			y[r*nout+c] = 1
		}
		res.Strategy = string(bundle.Strategy)
	} else {
		y = net.Forward(x)
		res.Advisories = make([]int, nout)
		for r := 0; r < rows; r++ {
			res.Advisories[nn.Argmin(y[r*nout:(r+1)*nout])]++
		}
	}
	if labels != nil {
		res.Accuracy, res.ClassAccuracy, res.Confusion = classify(y, labels, nout)
	}
	if prop != nil {
		viol, outside := 0, 0
		minMargin := 0.0
		first := true
		for r := 0; r < rows; r++ {
			xr, yr := x[r*nin:(r+1)*nin], y[r*nout:(r+1)*nout]
			if prop.CaseOf(xr) < 0 {
				outside++
				continue
			}
			m := prop.Margin(xr, yr)
			if first || m < minMargin {
				minMargin, first = m, false
			}
			if prop.Unsafe(xr, yr) {
				viol++
			}
		}
		rate := 0.0
		if rows > 0 {
			rate = float64(viol) / float64(rows)
		}
		res.Violations, res.ViolationRate, res.OutsideBox, res.MinMargin = &viol, &rate, &outside, &minMargin
	}
	if f.outputs {
		res.Outputs = make([][]float64, rows)
		for r := range res.Outputs {
			out := append([]float64(nil), y[r*nout:(r+1)*nout]...)
			if f.raw {
				net.Norm.DenormalizeOutput(out)
			}
			res.Outputs[r] = out
		}
	}
	return res, nil
}

func (f *evalFlags) run(cmd *cobra.Command, _ []string) error {
	res, err := runEval(*f)
	if err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "network     %s\n", res.Network)
	if res.Data != "" {
		fmt.Fprintf(w, "data        %s\n", res.Data)
	} else {
		fmt.Fprintf(w, "samples     %d of %s's box (seed %d)\n", res.Samples, res.Property, *res.Seed)
	}
	fmt.Fprintf(w, "rows        %d\n", res.Rows)
	if res.Strategy != "" {
		fmt.Fprintf(w, "experts     a bundle combined by %s\n", strings.ToUpper(res.Strategy))
	} else {
		fmt.Fprintf(w, "argmin      %v (rows per output index)\n", res.Advisories)
	}
	if res.Accuracy != nil {
		fmt.Fprintf(w, "accuracy    %.2f%% (the output of highest score against the labels)\n", *res.Accuracy)
		fmt.Fprintf(w, "per class  ")
		for _, a := range res.ClassAccuracy {
			fmt.Fprintf(w, " %.2f", a)
		}
		fmt.Fprintf(w, "\nconfusion   (rows: labels, columns: predictions)\n")
		for _, row := range res.Confusion {
			fmt.Fprintf(w, "           ")
			for _, v := range row {
				fmt.Fprintf(w, " %5d", v)
			}
			fmt.Fprintln(w)
		}
	}
	if res.Violations != nil {
		fmt.Fprintf(w, "property    %s\n", res.Property)
		fmt.Fprintf(w, "violations  %d (rate %.6f)\n", *res.Violations, *res.ViolationRate)
		if *res.OutsideBox > 0 {
			fmt.Fprintf(w, "outside     %d rows lie outside every input box of the property\n", *res.OutsideBox)
		}
		fmt.Fprintf(w, "min margin  %.6g (> 0 is safe)\n", *res.MinMargin)
	}
	if f.outputs {
		for _, y := range res.Outputs {
			fmt.Fprintln(w, floats(y))
		}
	}
	return nil
}

// classify scores the outputs y (m a row) against labels: accuracy in percent, per-class accuracy
// (NaN-free: a class without rows gets 0) and the confusion matrix, the prediction being the output of
// highest score.
func classify(y []float64, labels []int, m int) (*float64, []float64, [][]int) {
	conf := make([][]int, m)
	for i := range conf {
		conf[i] = make([]int, m)
	}
	right := 0
	for r, l := range labels {
		p := nn.Argmax(y[r*m : (r+1)*m])
		conf[l][p]++
		if p == l {
			right++
		}
	}
	acc := 100 * float64(right) / float64(max(len(labels), 1))
	per := make([]float64, m)
	for c := range conf {
		n := 0
		for _, v := range conf[c] {
			n += v
		}
		if n > 0 {
			per[c] = 100 * float64(conf[c][c]) / float64(n)
		}
	}
	return &acc, per, conf
}
