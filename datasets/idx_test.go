package datasets

import (
	"bytes"
	"compress/gzip"
	"path/filepath"
	"strings"
	"testing"
)

func idxBytes(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, data...)
}

func TestReadIDX(t *testing.T) {
	plain := idxBytes([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(plain)
	w.Close()
	for name, b := range map[string][]byte{"plain": plain, "gzip": gz.Bytes()} {
		x, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(x.Dims) != 2 || x.Dims[0] != 2 || x.Dims[1] != 3 || !bytes.Equal(x.Data, []byte{1, 2, 3, 4, 5, 6}) {
			t.Errorf("%s: %+v", name, x)
		}
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"magic", []byte{1, 2, 8, 1, 0, 0, 0, 1, 0}, "not an IDX file"},
		{"type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "only unsigned bytes"},
		{"short", idxBytes([]uint32{4}, []byte{1, 2}), "4 bytes declared"},
		{"trailing", idxBytes([]uint32{1}, []byte{1, 2}), "after the 1 declared"},
		{"empty dim", idxBytes([]uint32{0}, nil), "empty or too large"},
		{"huge dim", idxBytes([]uint32{1 << 31, 1 << 31}, nil), "empty or too large"},
		{"no header", []byte{0, 0}, "IDX header"},
	} {
		if _, err := ReadIDX(bytes.NewReader(tt.b)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestMNIST reads both splits and checks them against figures found independently: the sizes, the
// well-known first labels (train 5, test 7), and the first 100 test images and labels against the copy
// NeuroDiff hard-codes (../shared/datasets/neurodiff, integers 0-255 in CSV).
func TestMNIST(t *testing.T) {
	d, err := Dir()
	if err != nil {
		t.Skipf("skipping: data folder not available (%v)", err)
	}
	train, err := MNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	test, err := ReadInputs("data:mnist/test", 784)
	if err != nil {
		t.Fatal(err)
	}
	if train.Rows() != 60000 || test.Rows() != 10000 || train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Fatalf("rows %d and %d, first labels %d and %d; want 60000, 10000, 5, 7", train.Rows(), test.Rows(), train.Labels[0], test.Labels[0])
	}
	ref, err := ReadCSVFile(filepath.Join(d, "neurodiff", "mnist_test_images.csv"), 784)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ReadLabels(filepath.Join(d, "neurodiff", "mnist_test_labels.csv"), 10)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < ref.Rows(); r++ {
		if labels[r] != test.Labels[r] {
			t.Fatalf("test image %d: label %d, NeuroDiff's %d", r, test.Labels[r], labels[r])
		}
		for i, v := range ref.Row(r) {
			if got := test.Row(r)[i] * 255; got != v && (got-v > 1e-9 || v-got > 1e-9) {
				t.Fatalf("test image %d pixel %d: %v, NeuroDiff's %v", r, i, got, v)
			}
		}
	}
	if _, err := ReadInputs("data:mnist/validation", 784); err == nil || !strings.Contains(err.Error(), "want train or test") {
		t.Errorf("unknown split: %v", err)
	}
	if _, err := ReadInputs("data:mnist/test", 5); err == nil || !strings.Contains(err.Error(), "784 pixels") {
		t.Errorf("wrong width: %v", err)
	}
}

// FuzzReadIDX: any bytes give an array whose size matches its dimensions, or an error; never a panic.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(idxBytes([]uint32{1, 28, 28}, make([]byte, 784)))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("dims %v hold %d bytes, data has %d", x.Dims, n, len(x.Data))
		}
	})
}
