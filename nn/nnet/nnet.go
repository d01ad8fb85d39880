// Package nnet reads and writes the .nnet text format of the ACAS Xu networks (Julian et al.): ReLU hidden
// layers, a linear output layer, and the input/output normalization constants in the header.
package nnet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// maxLayerSize bounds the sizes a header may declare, so that a corrupt header cannot ask for a huge
// allocation.
const maxLayerSize = 1 << 16

// ReadFile reads the .nnet file at path.
func ReadFile(path string) (*nn.Network, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	net, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return net, nil
}

// lineReader hands out the non-comment lines of a .nnet file, split on commas, with their line numbers.
type lineReader struct {
	s    *bufio.Scanner
	line int
}

// next returns the values of the next non-empty, non-comment line.
func (r *lineReader) next(what string) ([]float64, error) {
	for r.s.Scan() {
		r.line++
		text := strings.TrimSpace(r.s.Text())
		if text == "" || strings.HasPrefix(text, "//") {
			continue
		}
		var vals []float64
		for _, tok := range strings.Split(text, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" {
				continue
			}
			v, err := strconv.ParseFloat(tok, 64)
			if err != nil || math.IsNaN(v) {
				return nil, fmt.Errorf("line %d (%s): %q is not a number", r.line, what, tok)
			}
			vals = append(vals, v)
		}
		return vals, nil
	}
	if err := r.s.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	return nil, fmt.Errorf("line %d: file ends where %s should be", r.line+1, what)
}

// exactly reads the next line and checks it holds n values.
func (r *lineReader) exactly(n int, what string) ([]float64, error) {
	v, err := r.next(what)
	if err != nil {
		return nil, err
	}
	if len(v) != n {
		return nil, fmt.Errorf("line %d (%s): %d values, want %d", r.line, what, len(v), n)
	}
	return v, nil
}

func asSize(v float64, line int, what string) (int, error) {
	if v != math.Trunc(v) || v < 1 || v > maxLayerSize {
		return 0, fmt.Errorf("line %d: %s %v is not a size in [1, %d]", line, what, v, maxLayerSize)
	}
	return int(v), nil
}

// Read reads a network in .nnet format. Hidden layers are relu and the output layer is identity.
func Read(rd io.Reader) (*nn.Network, error) {
	s := bufio.NewScanner(rd)
	s.Buffer(make([]byte, 64*1024), 16*1024*1024)
	r := &lineReader{s: s}

	head, err := r.next("header")
	if err != nil {
		return nil, err
	}
	if len(head) < 3 {
		return nil, fmt.Errorf("line %d (header): %d values, want layers, inputs, outputs, max layer size", r.line, len(head))
	}
	numLayers, err := asSize(head[0], r.line, "layer count")
	if err != nil {
		return nil, err
	}
	inputs, err := asSize(head[1], r.line, "input count")
	if err != nil {
		return nil, err
	}
	outputs, err := asSize(head[2], r.line, "output count")
	if err != nil {
		return nil, err
	}
	if numLayers > 1024 {
		return nil, fmt.Errorf("line %d: %d layers is too many", r.line, numLayers)
	}
	sizesF, err := r.exactly(numLayers+1, "layer sizes")
	if err != nil {
		return nil, err
	}
	sizes := make([]int, len(sizesF))
	for i, v := range sizesF {
		if sizes[i], err = asSize(v, r.line, "layer size"); err != nil {
			return nil, err
		}
	}
	if sizes[0] != inputs || sizes[numLayers] != outputs {
		return nil, fmt.Errorf("line %d: layer sizes start %d and end %d, but the header says %d inputs and %d outputs",
			r.line, sizes[0], sizes[numLayers], inputs, outputs)
	}
	if _, err := r.next("symmetric flag"); err != nil {
		return nil, err
	}
	// The normalization: inputs minimums and maximums, then means and ranges of the inputs and the output.
	// An older variant (NeuroDiff's 16-bit ACAS Xu files) has 2 more minimums and maximums and 2 more
	// means and ranges, the output's being the last; the extra values are not used.
	norm := &nn.Normalization{}
	var lines [4][]float64
	for i, what := range []string{"input minimums", "input maximums", "means", "ranges"} {
		if lines[i], err = r.next(what); err != nil {
			return nil, err
		}
	}
	lens := [4]int{len(lines[0]), len(lines[1]), len(lines[2]), len(lines[3])}
	switch lens {
	case [4]int{inputs, inputs, inputs + 1, inputs + 1}, [4]int{inputs + 2, inputs + 2, inputs + 3, inputs + 3}:
	default:
		return nil, fmt.Errorf("line %d: the normalization lines hold %v values, want %d, %d, %d, %d", r.line-3, lens, inputs, inputs, inputs+1, inputs+1)
	}
	norm.InMin, norm.InMax = lines[0][:inputs], lines[1][:inputs]
	norm.InMean, norm.OutMean = lines[2][:inputs], lines[2][len(lines[2])-1]
	norm.InRange, norm.OutRange = lines[3][:inputs], lines[3][len(lines[3])-1]

	net := &nn.Network{Norm: norm, Layers: make([]nn.Layer, numLayers)}
	for k := 0; k < numLayers; k++ {
		in, out := sizes[k], sizes[k+1]
		l := nn.Layer{In: in, Out: out, W: nil, B: nil, Act: activation.ReLU}
		if k == numLayers-1 {
			l.Act = activation.Identity
		}
		for j := 0; j < out; j++ {
			row, err := r.exactly(in, fmt.Sprintf("layer %d weights, row %d", k+1, j+1))
			if err != nil {
				return nil, err
			}
			l.W = append(l.W, row...)
		}
		for j := 0; j < out; j++ {
			b, err := r.exactly(1, fmt.Sprintf("layer %d bias %d", k+1, j+1))
			if err != nil {
				return nil, err
			}
			l.B = append(l.B, b[0])
		}
		net.Layers[k] = l
	}
	if err := net.Validate(); err != nil {
		return nil, err
	}
	for {
		v, err := r.next("end of file")
		if err != nil {
			break
		}
		if len(v) > 0 {
			return nil, fmt.Errorf("line %d: unexpected values after the last layer", r.line)
		}
	}
	return net, nil
}

// ErrNotReLU is returned when writing a network the .nnet format cannot describe.
var ErrNotReLU = errors.New(".nnet describes only relu hidden layers and a linear output layer")

// Write writes net in .nnet format. Numbers are written in the shortest form that reads back to the same
// float64, so a round trip leaves every weight bit-identical. A network without normalization gets the
// identity normalization (means 0, ranges 1, unbounded inputs).
func Write(w io.Writer, net *nn.Network) error {
	if err := net.Validate(); err != nil {
		return err
	}
	if !net.AllDense() {
		return fmt.Errorf(".nnet: %w", nn.ErrNotDense)
	}
	last := len(net.Layers) - 1
	for k, l := range net.Layers {
		if (k < last && l.Act.Name != "relu") || (k == last && l.Act.Name != "identity") {
			return fmt.Errorf("layer %d is %s: %w", k, l.Act, ErrNotReLU)
		}
	}
	in, out := net.Inputs(), net.Outputs()
	norm := net.Norm
	if norm == nil {
		norm = &nn.Normalization{OutRange: 1}
		for i := 0; i < in; i++ {
			norm.InMin = append(norm.InMin, -math.MaxFloat64)
			norm.InMax = append(norm.InMax, math.MaxFloat64)
			norm.InMean = append(norm.InMean, 0)
			norm.InRange = append(norm.InRange, 1)
		}
	}
	var b bytes.Buffer
	b.WriteString("// Neural Network File Format by Kyle Julian, Stanford 2016\n// written by birdnn\n")
	maxSize := in
	for _, l := range net.Layers {
		maxSize = max(maxSize, l.Out)
	}
	fmt.Fprintf(&b, "%d,%d,%d,%d,\n", len(net.Layers), in, out, maxSize)
	b.WriteString(strconv.Itoa(in) + ",")
	for _, l := range net.Layers {
		b.WriteString(strconv.Itoa(l.Out) + ",")
	}
	b.WriteString("\n0,\n")
	writeRow(&b, norm.InMin)
	writeRow(&b, norm.InMax)
	writeRow(&b, append(append([]float64(nil), norm.InMean...), norm.OutMean))
	writeRow(&b, append(append([]float64(nil), norm.InRange...), norm.OutRange))
	for _, l := range net.Layers {
		for j := 0; j < l.Out; j++ {
			writeRow(&b, l.W[j*l.In:(j+1)*l.In])
		}
		for _, v := range l.B {
			writeRow(&b, []float64{v})
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeRow(b *bytes.Buffer, vals []float64) {
	var tmp [32]byte
	for _, v := range vals {
		b.Write(strconv.AppendFloat(tmp[:0], v, 'g', -1, 64))
		b.WriteByte(',')
	}
	b.WriteByte('\n')
}
