package main

import (
	"fmt"
	"slices"
	"strings"

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
