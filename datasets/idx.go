package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// IDX is an array read from an IDX file (the MNIST format): unsigned bytes with their dimensions.
type IDX struct {
	// Dims are the sizes of the dimensions, the first one the number of items.
	Dims []int
	// Data holds the product of Dims bytes, item after item, each row-major.
	Data []byte
}

// maxIDXBytes bounds the arrays ReadIDX accepts (MNIST's largest is 47 MB).
const maxIDXBytes = 1 << 30

// ReadIDX reads an IDX array of unsigned bytes (type code 0x08), gzip-compressed or not: a zero short,
// the type code, the number of dimensions, each dimension as a big-endian uint32, then the data.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("IDX header: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("not an IDX file (magic %x)", magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("IDX type 0x%02x: only unsigned bytes (0x08) are supported", magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("IDX with %d dimensions: want 1 to 4", nd)
	}
	x := &IDX{Dims: make([]int, nd)}
	size := 1
	for i := range x.Dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("IDX dimension %d: %w", i, err)
		}
		if d == 0 || int64(size)*int64(d) > maxIDXBytes {
			return nil, fmt.Errorf("IDX dimension %d is %d: empty or too large", i, d)
		}
		x.Dims[i] = int(d)
		size *= int(d)
	}
	x.Data = make([]byte, size)
	if _, err := io.ReadFull(br, x.Data); err != nil {
		return nil, fmt.Errorf("IDX data (%d bytes declared): %w", size, err)
	}
	if n, _ := br.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("IDX data: bytes after the %d declared", size)
	}
	return x, nil
}

// ReadIDXFile reads the IDX file at path.
func ReadIDXFile(path string) (*IDX, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	x, err := ReadIDX(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// MNIST reads a split of MNIST ("train": 60000 images, "test": 10000) from the data folder's mnist/:
// one row a 28x28 image, row-major, the pixels scaled to [0, 1] (pixel/255), and the labels 0-9.
func MNIST(split string) (*Table, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("MNIST split %q: want train or test", split)
	}
	d, err := Dir()
	if err != nil {
		return nil, fmt.Errorf("mnist: %w", err)
	}
	dir := filepath.Join(d, "mnist")
	img, err := ReadIDXFile(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	lab, err := ReadIDXFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	if len(img.Dims) != 3 || len(lab.Dims) != 1 || img.Dims[0] != lab.Dims[0] {
		return nil, fmt.Errorf("mnist %s: images %v and labels %v do not match", split, img.Dims, lab.Dims)
	}
	n, cols := img.Dims[0], img.Dims[1]*img.Dims[2]
	t := &Table{Header: make([]string, cols), Data: make([]float64, n*cols), Labels: make([]int, n)}
	for i := range t.Header {
		t.Header[i] = fmt.Sprintf("p%d", i)
	}
	for i, p := range img.Data {
		t.Data[i] = float64(p) / 255
	}
	for i, l := range lab.Data {
		if l > 9 {
			return nil, fmt.Errorf("mnist %s: label %d of image %d is not a digit", split, l, i)
		}
		t.Labels[i] = int(l)
	}
	return t, nil
}

// ReadInputs reads a table of inputs as configs and flags name one: "data:mnist/train" or
// "data:mnist/test" (images with their labels), or a CSV file (a path, data:REL or builtin:REL). When
// cols > 0 each row must hold exactly cols values.
func ReadInputs(ref string, cols int) (*Table, error) {
	if split, ok := strings.CutPrefix(ref, "data:mnist/"); ok && !strings.Contains(split, ".") {
		t, err := MNIST(split)
		if err != nil {
			return nil, err
		}
		if cols > 0 && t.Cols() != cols {
			return nil, fmt.Errorf("%s: %d pixels a row, want %d inputs", ref, t.Cols(), cols)
		}
		return t, nil
	}
	p, err := Resolve(ref)
	if err != nil {
		return nil, err
	}
	return ReadCSVFile(p, cols)
}

// ReadLabels reads class labels from a CSV file (a path, data:REL or builtin:REL): the last column of
// each row, an integer in [0, classes).
func ReadLabels(ref string, classes int) ([]int, error) {
	p, err := Resolve(ref)
	if err != nil {
		return nil, err
	}
	t, err := ReadCSVFile(p, 0)
	if err != nil {
		return nil, err
	}
	labels := make([]int, t.Rows())
	for r := range labels {
		v := t.Row(r)[t.Cols()-1]
		if v != float64(int(v)) || v < 0 || int(v) >= classes {
			return nil, fmt.Errorf("%s: row %d: label %v, want an integer in [0, %d)", ref, r+1, v, classes)
		}
		labels[r] = int(v)
	}
	return labels, nil
}
