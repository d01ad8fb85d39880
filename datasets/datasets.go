// Package datasets finds birdnn's data (the shared ACAS Xu networks, properties and CARE sets, MNIST) and
// loads input tables from CSV and IDX files.
package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvVar names the environment variable that overrides where the data lives.
const EnvVar = "BIRDNN_DATA"

// ErrNoData is returned by Dir when no data folder can be found.
var ErrNoData = errors.New("data folder not found: set " + EnvVar + " or put the shared datasets at ../shared/datasets")

// Dir returns the data folder: $BIRDNN_DATA when set, otherwise the first shared/datasets found beside
// the working directory or one of its parents (the repository sits beside ../shared).
func Dir() (string, error) {
	if d := os.Getenv(EnvVar); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%s=%s is not a folder", EnvVar, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "datasets")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", ErrNoData
		}
	}
}

// ACASXu returns the ACAS Xu data folder.
func ACASXu() (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	a := filepath.Join(d, "acasxu")
	if _, err := os.Stat(a); err != nil {
		return "", fmt.Errorf("ACAS Xu data: %w", err)
	}
	return a, nil
}

// ACASXuNet returns the path of ACAS Xu network N_{i,j} in the given format ("nnet" or "onnx").
func ACASXuNet(i, j int, format string) (string, error) {
	a, err := ACASXu()
	if err != nil {
		return "", err
	}
	return filepath.Join(a, format, fmt.Sprintf("ACASXU_run2a_%d_%d_batch_2000.%s", i, j, format)), nil
}

// ACASXuProperty returns the path of ACAS Xu property k (1 to 10).
func ACASXuProperty(k int) (string, error) {
	a, err := ACASXu()
	if err != nil {
		return "", err
	}
	return filepath.Join(a, "vnnlib", fmt.Sprintf("prop_%d.vnnlib", k)), nil
}

// Table is a batch of rows of equal width, stored row-major.
type Table struct {
	// Header names the columns.
	Header []string
	// Data holds Rows()*Cols values, one row after another.
	Data []float64
	// Labels, when not nil, holds each row's class (MNIST's digits).
	Labels []int
}

// Cols returns the number of columns.
func (t *Table) Cols() int { return len(t.Header) }

// Rows returns the number of rows.
func (t *Table) Rows() int {
	if len(t.Header) == 0 {
		return 0
	}
	return len(t.Data) / len(t.Header)
}

// Row returns row r (sharing storage with the table).
func (t *Table) Row(r int) []float64 { return t.Data[r*t.Cols() : (r+1)*t.Cols()] }

// ReadCSVFile reads a CSV file of numbers with a header line. When cols > 0 each row must hold exactly
// cols values.
func ReadCSVFile(path string, cols int) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadCSV(f, cols)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadCSV reads a CSV table of numbers with a header line. Every value must be a finite number; when
// cols > 0 each row must hold exactly cols values. Errors name the line and column.
func ReadCSV(r io.Reader, cols int) (*Table, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	t := &Table{}
	for s.Scan() {
		line++
		text := strings.TrimSpace(s.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if t.Header == nil {
			for _, f := range fields {
				t.Header = append(t.Header, strings.TrimSpace(f))
			}
			if _, err := strconv.ParseFloat(t.Header[0], 64); err == nil {
				return nil, fmt.Errorf("line 1: want a header line naming the columns, found numbers")
			}
			if cols > 0 && len(t.Header) != cols {
				return nil, fmt.Errorf("line 1: header has %d columns, want %d", len(t.Header), cols)
			}
			continue
		}
		if len(fields) != len(t.Header) {
			return nil, fmt.Errorf("line %d: %d values, want %d", line, len(fields), len(t.Header))
		}
		for c, f := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, fmt.Errorf("line %d, column %d (%s): %q is not a number", line, c+1, t.Header[c], strings.TrimSpace(f))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("line %d, column %d (%s): %v is not a finite number", line, c+1, t.Header[c], v)
			}
			t.Data = append(t.Data, v)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if t.Header == nil {
		return nil, errors.New("empty file: want a header line and rows")
	}
	return t, nil
}
