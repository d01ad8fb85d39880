package attack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/birdnn/birdnn/nn"
)

// Trigger is a BadNets backdoor trigger: a Size x Size square of pixels set to Value in the bottom-right
// corner of each channel of a C x H x W image, Margin pixels from the bottom and right edges.
type Trigger struct {
	C, H, W      int
	Size, Margin int
	Value        float64
}

// Check reports whether the trigger fits its image.
func (t Trigger) Check() error {
	if t.C < 1 || t.H < 1 || t.W < 1 {
		return fmt.Errorf("trigger: image %dx%dx%d", t.C, t.H, t.W)
	}
	if t.Size < 1 || t.Margin < 0 || t.Size+t.Margin > t.H || t.Size+t.Margin > t.W {
		return fmt.Errorf("trigger: a %dx%d square %d pixels from the edges does not fit a %dx%d image", t.Size, t.Size, t.Margin, t.H, t.W)
	}
	return nil
}

// Stamp sets the trigger's pixels of one image x (C*H*W values, NCHW) in place.
func (t Trigger) Stamp(x []float64) {
	for c := 0; c < t.C; c++ {
		for i := t.H - t.Margin - t.Size; i < t.H-t.Margin; i++ {
			for j := t.W - t.Margin - t.Size; j < t.W-t.Margin; j++ {
				x[(c*t.H+i)*t.W+j] = t.Value
			}
		}
	}
}

// Poison stamps the trigger on round(fraction * n) images of x (n rows, labels their classes) chosen at
// random among those whose label is not target, and relabels them target, in place. It returns the rows
// it poisoned, in increasing order.
func Poison(x []float64, labels []int, t Trigger, fraction float64, target int, rng *rand.Rand) ([]int, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	d := t.C * t.H * t.W
	if len(x) != len(labels)*d {
		return nil, fmt.Errorf("poison: %d values for %d images of %d pixels", len(x), len(labels), d)
	}
	if !(fraction >= 0 && fraction < 1) {
		return nil, fmt.Errorf("poison: fraction %v, want [0, 1)", fraction)
	}
	var others []int
	for r, l := range labels {
		if l != target {
			others = append(others, r)
		}
	}
	k := int(fraction*float64(len(labels)) + 0.5)
	if k > len(others) {
		return nil, errors.New("poison: more images to poison than images of other classes")
	}
	rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	chosen := append([]int(nil), others[:k]...)
	for _, r := range chosen {
		t.Stamp(x[r*d : (r+1)*d])
		labels[r] = target
	}
	slices.Sort(chosen)
	return chosen, nil
}

// BackdoorSuccess returns, over the images of x (labels their classes) whose label is not target, the
// percentage that the network classifies as target once the trigger is stamped on them, and their count.
func BackdoorSuccess(net *nn.Network, x []float64, labels []int, t Trigger, target int) (float64, int) {
	d := t.C * t.H * t.W
	var stamped []float64
	for r, l := range labels {
		if l == target {
			continue
		}
		img := append([]float64(nil), x[r*d:(r+1)*d]...)
		t.Stamp(img)
		stamped = append(stamped, img...)
	}
	n := len(stamped) / d
	if n == 0 {
		return 0, 0
	}
	y := net.Forward(stamped)
	m := net.Outputs()
	hit := 0
	for r := 0; r < n; r++ {
		if nn.Argmax(y[r*m:(r+1)*m]) == target {
			hit++
		}
	}
	return 100 * float64(hit) / float64(n), n
}
