package nnet

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/datasets"
)

// tiny is a 2-3-1 network in .nnet format, computed by hand below.
const tiny = `// a comment
2,2,1,3,
2,3,1,
0,
-1,-1,
1,1,
0,0,0.5,
1,1,2,
1,0,
0,1,
1,1,
0,
0,
-1,
1,-1,2,
0.5,
`

func TestReadTiny(t *testing.T) {
	net, err := Read(strings.NewReader(tiny))
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Layers) != 2 || net.Layers[0].Act.Name != "relu" || net.Layers[1].Act.Name != "identity" {
		t.Fatalf("layers %+v", net.Layers)
	}
	// x = (0.5, -0.25): hidden relu(0.5, -0.25, 0.25 - 1) = (0.5, 0, 0); y = 0.5 - 0 + 0 + 0.5 = 1.
	if y := net.Forward([]float64{0.5, -0.25}); y[0] != 1 {
		t.Fatalf("output %v, want 1", y)
	}
	if net.Norm.OutMean != 0.5 || net.Norm.OutRange != 2 || net.Norm.InMin[0] != -1 {
		t.Fatalf("normalization %+v", net.Norm)
	}
	var b bytes.Buffer
	if err := Write(&b, net); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Layers[1].W[2] != 2 || back.Norm.OutRange != 2 {
		t.Fatalf("round trip lost values")
	}
}

func TestReadErrors(t *testing.T) {
	lines := strings.Split(tiny, "\n")
	tests := []struct {
		name, src, want string
	}{
		{"truncated", strings.Join(lines[:12], "\n"), "line 13: file ends where layer 1 bias 2"},
		{"short row", strings.Replace(tiny, "1,0,\n", "1,\n", 1), "line 9 (layer 1 weights, row 1): 1 values, want 2"},
		{"bad number", strings.Replace(tiny, "0,1,\n", "0,x,\n", 1), `line 10 (layer 1 weights, row 2): "x" is not a number`},
		{"sizes disagree", strings.Replace(tiny, "2,3,1,\n", "3,3,1,\n", 1), "layer sizes start 3"},
		{"huge", strings.Replace(tiny, "2,2,1,3,", "2,2,1000000000,3,", 1), "not a size"},
		{"extra", tiny + "5,\n", "unexpected values after the last layer"},
		{"empty", "", "file ends where header"},
		{"nan", strings.Replace(tiny, "0.5,\n", "NaN,\n", 1), "not a number"},
	}
	for _, tt := range tests {
		_, err := Read(strings.NewReader(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestWriteRefusesNonReLU(t *testing.T) {
	net, _ := Read(strings.NewReader(tiny))
	net.Layers[0].Act = activation.Tanh
	err := Write(&bytes.Buffer{}, net)
	if err == nil || !strings.Contains(err.Error(), "layer 0 is tanh") {
		t.Fatalf("error %v", err)
	}
}

func TestWriteWithoutNormalization(t *testing.T) {
	net, _ := Read(strings.NewReader(tiny))
	net.Norm = nil
	var b bytes.Buffer
	if err := Write(&b, net); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Norm.InRange[0] != 1 || back.Norm.InMin[0] != -math.MaxFloat64 {
		t.Fatalf("identity normalization not written: %+v", back.Norm)
	}
}

func FuzzRead(f *testing.F) {
	f.Add(tiny)
	lines := strings.Split(tiny, "\n")
	f.Add(strings.Join(lines[:12], "\n"))
	f.Add("1,1,1,1,\n1,1,\n0,\n0,\n1,\n0,0,\n1,1,\n2,\n3,\n")
	f.Fuzz(func(t *testing.T, src string) {
		net, err := Read(strings.NewReader(src))
		if err != nil {
			return
		}
		if err := net.Validate(); err != nil {
			t.Fatalf("Read returned an invalid network: %v", err)
		}
		var b bytes.Buffer
		if err := Write(&b, net); err != nil {
			t.Fatalf("cannot write back a network read from .nnet: %v", err)
		}
		if _, err := Read(&b); err != nil {
			t.Fatalf("cannot read back what Write wrote: %v", err)
		}
	})
}

// TestReadNeuroDiffHeader reads a 16-bit ACAS Xu network of NeuroDiff's (7 minimums and maximums, 8
// means and ranges, the output's last; its data README gives the values) and checks it against the
// original: the same normalization and every weight within 0.0111.
func TestReadNeuroDiffHeader(t *testing.T) {
	d, err := datasets.Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	half, err := ReadFile(filepath.Join(d, "neurodiff", "acasxu_16bit", "ACASXU_run2a_1_1_batch_2000_16bit.nnet"))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := ReadFile(filepath.Join(d, "acasxu", "nnet", "ACASXU_run2a_1_1_batch_2000.nnet"))
	if err != nil {
		t.Fatal(err)
	}
	n := half.Norm
	if len(n.InMin) != 5 || n.InMax[0] != 60760 || n.OutMean != 7.5188840201005975 || n.OutRange != 373.94992 || n.InRange[4] != 1200 {
		t.Errorf("normalization %+v", n)
	}
	if !slices.Equal(n.InMin, orig.Norm.InMin) || !slices.Equal(n.InMean, orig.Norm.InMean) {
		t.Errorf("input normalization %v %v, the original's %v %v", n.InMin, n.InMean, orig.Norm.InMin, orig.Norm.InMean)
	}
	worst := 0.0
	for k := range orig.Layers {
		for i, w := range orig.Layers[k].W {
			worst = math.Max(worst, math.Abs(w-half.Layers[k].W[i]))
		}
	}
	if worst == 0 || worst > 0.0111 {
		t.Errorf("largest weight change %v, want in (0, 0.0111]", worst)
	}
}
