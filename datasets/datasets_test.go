package datasets

import (
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("x0,x1\n1,2\n\n-3.5, 4e-1\n"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows() != 2 || tab.Cols() != 2 || tab.Row(1)[0] != -3.5 || tab.Row(1)[1] != 0.4 {
		t.Fatalf("table %+v", tab)
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name, src string
		cols      int
		want      string
	}{
		{"columns", "a,b\n1,2\n3\n", 0, "line 3: 1 values, want 2"},
		{"nan", "a,b\n1,NaN\n", 0, "line 2, column 2 (b): NaN is not a finite number"},
		{"inf", "a,b\n1,2\n+Inf,2\n", 0, "line 3, column 1 (a)"},
		{"text", "a,b\n1,two\n", 0, `"two" is not a number`},
		{"width", "a,b,c\n1,2,3\n", 2, "header has 3 columns, want 2"},
		{"no header", "1,2\n3,4\n", 0, "want a header line"},
		{"empty", "", 0, "empty file"},
	}
	for _, tt := range tests {
		_, err := ReadCSV(strings.NewReader(tt.src), tt.cols)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("x0,x1\n1,2\n3,4\n")
	f.Add("a\n1e308\n-0\n")
	f.Add("a,b\n1,NaN\n")
	f.Fuzz(func(t *testing.T, src string) {
		tab, err := ReadCSV(strings.NewReader(src), 0)
		if err != nil {
			return
		}
		if tab.Cols() == 0 || len(tab.Data)%tab.Cols() != 0 {
			t.Fatalf("ragged table: %d values, %d columns", len(tab.Data), tab.Cols())
		}
	})
}
