package bench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/birdnn/birdnn/attack"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/nn/netio"
)

// MNISTModel is a third-party MNIST classifier and the figures its data README publishes.
type MNISTModel struct {
	// File is the model's path under the data folder; PixelScale multiplies pixels in [0, 1].
	File       string
	PixelScale float64
	// Accuracy is the published clean test accuracy (percent).
	Accuracy float64
	// FGSM maps an epsilon (pixels in [0, 1]) to the published accuracy under FGSM; nil when none.
	FGSM map[float64]float64
	// Backdoor, when Target >= 0, is the published success of the trigger square to Target.
	Target   int
	Backdoor float64
}

// NNrepairModels are NNrepair's three MNIST CNNs with the figures of ../shared/datasets/nnrepair/README.md.
func NNrepairModels() []MNISTModel {
	return []MNISTModel{
		{File: "nnrepair/mnist0_poisoned.onnx", PixelScale: 255, Accuracy: 98.63, Target: 7, Backdoor: 99.8},
		{File: "nnrepair/mnist0_normal_low_accuracy.onnx", PixelScale: 255, Accuracy: 96.34, Target: -1},
		{File: "nnrepair/mnist0_adv.onnx", PixelScale: 1, Accuracy: 97.87, Target: -1, FGSM: map[float64]float64{0.01: 94.04, 0.05: 28.30, 0.1: 0.79}},
	}
}

// MNISTEps are the radii every model is attacked at (pixels in [0, 1]).
var MNISTEps = []float64{0.01, 0.05, 0.1}

// MNISTRow is one model's measured figures.
type MNISTRow struct {
	Model    MNISTModel
	Accuracy float64
	// FGSM[i] is the accuracy under FGSM at MNISTEps[i].
	FGSM []float64
	// Backdoor is the trigger's success rate (NaN-free: 0 without a target).
	Backdoor float64
	Err      string
}

// RunMNIST measures each model on the MNIST test set: clean accuracy, accuracy under FGSM at MNISTEps,
// and for a poisoned model the success of the BadNets trigger (a 3x3 square of full-scale pixels one pixel
// from the bottom-right corner) toward its target.
func RunMNIST(ctx context.Context, models []MNISTModel, done func(MNISTRow)) ([]MNISTRow, error) {
	test, err := datasets.MNIST("test")
	if err != nil {
		return nil, err
	}
	dir, err := datasets.Dir()
	if err != nil {
		return nil, err
	}
	var rows []MNISTRow
	for _, m := range models {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		row := MNISTRow{Model: m}
		if err := measureMNIST(&row, filepath.Join(dir, m.File), test); err != nil {
			row.Err = err.Error()
		}
		rows = append(rows, row)
		if done != nil {
			done(row)
		}
	}
	return rows, nil
}

func measureMNIST(row *MNISTRow, path string, test *datasets.Table) error {
	net, err := netio.Load(path)
	if err != nil {
		return err
	}
	m := row.Model
	x := append([]float64(nil), test.Data...)
	for i := range x {
		x[i] *= m.PixelScale
	}
	row.Accuracy = 100 * classAccuracy(net, x, test.Labels)
	for _, eps := range MNISTEps {
		res, err := attack.Run(net, x, test.Labels, attack.Options{Method: "fgsm", Eps: eps * m.PixelScale, Lo: 0, Hi: m.PixelScale, Target: -1})
		if err != nil {
			return err
		}
		row.FGSM = append(row.FGSM, res.Robust)
	}
	if m.Target >= 0 {
		tr := attack.Trigger{C: 1, H: 28, W: 28, Size: 3, Margin: 1, Value: m.PixelScale}
		res, err := attack.Run(net, x, test.Labels, attack.Options{Method: "trigger", Trigger: &tr, Target: m.Target})
		if err != nil {
			return err
		}
		row.Backdoor = res.Success
	}
	return nil
}

// MNISTMarkdown renders the rows beside the published figures.
func MNISTMarkdown(rows []MNISTRow) []byte {
	var b bytes.Buffer
	b.WriteString("# NNrepair's MNIST models: birdnn's measurements and the published figures\n\n")
	b.WriteString("Test set of 10000 images. FGSM: accuracy under attack, pixels in [0, 1], clipped. Backdoor: ")
	b.WriteString("share of the correctly classified test images of other classes that a 3x3 white square one pixel from the ")
	b.WriteString("bottom-right corner turns into the target class. Published figures in parentheses.\n\n")
	b.WriteString("| model | clean accuracy % |")
	for _, e := range MNISTEps {
		fmt.Fprintf(&b, " FGSM eps %g %% |", e)
	}
	b.WriteString(" backdoor % |\n|---|---:|")
	for range MNISTEps {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")
	for _, r := range rows {
		name := filepath.Base(r.Model.File)
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | error: %s |", name, cell(r.Err))
			for range MNISTEps {
				b.WriteString(" |")
			}
			b.WriteString(" |\n")
			continue
		}
		fmt.Fprintf(&b, "| %s | %.2f (%.2f) |", name, r.Accuracy, r.Model.Accuracy)
		for i, e := range MNISTEps {
			if p, ok := r.Model.FGSM[e]; ok {
				fmt.Fprintf(&b, " %.2f (%.2f) |", r.FGSM[i], p)
			} else {
				fmt.Fprintf(&b, " %.2f |", r.FGSM[i])
			}
		}
		if r.Model.Target >= 0 {
			fmt.Fprintf(&b, " %.2f to %d (%.1f) |\n", r.Backdoor, r.Model.Target, r.Model.Backdoor)
		} else {
			b.WriteString(" |\n")
		}
	}
	return b.Bytes()
}
