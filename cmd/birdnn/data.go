package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/nn"
)

// readData reads the inputs a --data flag names for net (a CSV or data:mnist/*), their labels (MNIST's
// own, or the --labels CSV), and scales MNIST's pixels for the network (pixelScale). It returns the
// table in the network's input units and the scale applied.
func readData(data, labelsRef string, scaleFlag float64, net *nn.Network) (*datasets.Table, []int, float64, error) {
	tab, err := datasets.ReadInputs(data, net.Inputs())
	if err != nil {
		return nil, nil, 0, err
	}
	labels := tab.Labels
	if labelsRef != "" {
		if labels, err = datasets.ReadLabels(labelsRef, net.Outputs()); err != nil {
			return nil, nil, 0, err
		}
		if len(labels) != tab.Rows() {
			return nil, nil, 0, fmt.Errorf("--labels %s: %d labels for %d rows", labelsRef, len(labels), tab.Rows())
		}
	}
	scale, raw := pixelScale(data, scaleFlag, net)
	if scale != 1 {
		for i := range tab.Data {
			tab.Data[i] *= scale
		}
		if raw {
			for r := 0; r < tab.Rows(); r++ {
				row := tab.Row(r)
				net.Norm.NormalizeInput(row, row)
			}
		}
	}
	return tab, labels, scale, nil
}

// pixelScale is the factor MNIST pixels (read in [0, 1]) are multiplied by for net: --pixel-scale, or
// the top of the network's input range when its normalization states a finite one above 1 (raw pixels,
// 0-255: the pixels are then normalized with the network's constants), else 1. Other data is left as
// it is. raw says the scaled pixels are in the network's raw units and need normalizing.
func pixelScale(data string, flag float64, net *nn.Network) (scale float64, raw bool) {
	if !strings.HasPrefix(data, "data:mnist/") {
		return 1, false
	}
	if flag > 0 {
		return flag, false
	}
	if _, _, ok := net.InputDomain(); ok {
		if top := slices.Max(net.Norm.InMax); top > 1 {
			return top, true
		}
	}
	return 1, false
}

// inputRange is the range [lo, hi] every input must stay in: --range "lo,hi" when given (rng), the
// pixel range in the network's units for data:mnist/* (scale the pixel scale readData applied), else
// unbounded.
func inputRange(rng, data, netRef string, scaleFlag, scale float64, net *nn.Network) (lo, hi float64, err error) {
	switch {
	case rng != "":
		l, h, ok := strings.Cut(rng, ",")
		var e1, e2 error
		lo, e1 = strconv.ParseFloat(strings.TrimSpace(l), 64)
		hi, e2 = strconv.ParseFloat(strings.TrimSpace(h), 64)
		if !ok || e1 != nil || e2 != nil || !(hi > lo) {
			return 0, 0, fmt.Errorf("--range %q: want lo,hi with lo < hi", rng)
		}
		return lo, hi, nil
	case strings.HasPrefix(data, "data:mnist/"):
		if _, raw := pixelScale(data, scaleFlag, net); raw {
			// The pixel range in the network's units: the same for every input, or the user says it.
			d := net.Inputs()
			zero, top := make([]float64, d), make([]float64, d)
			for i := range top {
				top[i] = scale
			}
			net.Norm.NormalizeInput(zero, zero)
			net.Norm.NormalizeInput(top, top)
			if slices.Min(zero) != slices.Max(zero) || slices.Min(top) != slices.Max(top) {
				return 0, 0, fmt.Errorf("%s normalizes its inputs unevenly: give the pixel range in its units with --range", netRef)
			}
			return zero[0], top[0], nil
		}
		return 0, scale, nil
	}
	return math.Inf(-1), math.Inf(1), nil
}

// labelledFlags are the flags of the commands that take a classifier and labelled inputs (attack,
// property): the network, the data and its labels, the pixel scale and the input range.
type labelledFlags struct {
	net, data, labels, rng string
	pixelScale             float64
}

func (f *labelledFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.net, "net", "", "the classifier (.onnx or .nnet), or data:REL or builtin:REL")
	fl.StringVar(&f.data, "data", "", "labelled inputs: data:mnist/test, data:mnist/train, or a CSV with --labels")
	fl.StringVar(&f.labels, "labels", "", "CSV of the labels of a --data CSV (the last column of each row)")
	fl.Float64Var(&f.pixelScale, "pixel-scale", 0, "multiply data:mnist/* pixels by this (see birdnn eval)")
	fl.StringVar(&f.rng, "range", "", "lo,hi bounds of every input (default: the pixel range for data:mnist/*, else none)")
	cmd.MarkFlagRequired("net")
	cmd.MarkFlagRequired("data")
}

// labelledData is what labelledFlags load: the network, the inputs in its units, their labels, and the
// range every input must stay in.
type labelledData struct {
	net    *nn.Network
	tab    *datasets.Table
	labels []int
	lo, hi float64
}

func (f *labelledFlags) load() (*labelledData, error) {
	net, err := loadNet(f.net)
	if err != nil {
		return nil, err
	}
	tab, labels, scale, err := readData(f.data, f.labels, f.pixelScale, net)
	if err != nil {
		return nil, err
	}
	if labels == nil {
		return nil, fmt.Errorf("--data %s has no labels: give --labels", f.data)
	}
	lo, hi, err := inputRange(f.rng, f.data, f.net, f.pixelScale, scale, net)
	if err != nil {
		return nil, err
	}
	return &labelledData{net: net, tab: tab, labels: labels, lo: lo, hi: hi}, nil
}

// refuseOverwrite is the error for an existing out without --force (nil when out is empty or absent).
func refuseOverwrite(out string, force bool) error {
	if out == "" || force {
		return nil
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists; pass --force to overwrite it", out)
	}
	return nil
}
