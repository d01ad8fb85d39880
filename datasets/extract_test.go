package datasets

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestExtractReusesFolder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	a := fstest.MapFS{"demo/net.onnx": {Data: []byte("one")}, "suite/x.onnx": {Data: []byte("two")}}
	b := fstest.MapFS{"demo/net.onnx": {Data: []byte("one")}, "suite/x.onnx": {Data: []byte("three")}}
	d1, err := extract(a)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := extract(a)
	if err != nil {
		t.Fatal(err)
	}
	d3, err := extract(b)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 || d1 == d3 {
		t.Fatalf("folders %s, %s (same files), %s (other files)", d1, d2, d3)
	}
	for dir, want := range map[string]string{d1: "two", d3: "three"} {
		got, err := os.ReadFile(filepath.Join(dir, "suite/x.onnx"))
		if err != nil || string(got) != want {
			t.Fatalf("%s: %q, %v; want %q", dir, got, err, want)
		}
	}
	// Two folders made, no half-written ones left behind.
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "birdnn-builtin-*")); len(m) != 2 {
		t.Fatalf("temporary folder holds %v", m)
	}
}

func TestResolveBuiltin(t *testing.T) {
	p, err := Resolve("builtin:demo/demo.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve("builtin:demo/nothing.onnx"); err == nil {
		t.Fatal("a missing built-in file resolved")
	}
}
