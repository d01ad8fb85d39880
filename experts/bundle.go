package experts

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/birdnn/birdnn/internal/atomicfile"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
)

// BundleFormat names the bundle file's format and version.
const BundleFormat = "birdnn-experts/1"

// bundleFile is a bundle's JSON: the networks are ONNX files named relative to it.
type bundleFile struct {
	Format    string    `json:"format"`
	Strategy  Strategy  `json:"strategy"`
	Original  string    `json:"original"`
	Experts   []string  `json:"experts"`
	Precision []float64 `json:"precision,omitempty"`
}

// IsBundle says whether path names a bundle file (a .json file) rather than a network.
func IsBundle(path string) bool { return strings.EqualFold(filepath.Ext(path), ".json") }

// WriteBundle writes b into the folder dir (created if missing): original.onnx, expert-L.onnx for each
// class L (weights in doubles, so the files hold exactly the networks measured), and name, the bundle's
// JSON. The networks are shared by bundles of other strategies written to the same folder.
func WriteBundle(dir, name string, b *Bundle) error {
	if err := b.Check(); err != nil {
		return err
	}
	if !IsBundle(name) || filepath.Base(name) != name {
		return fmt.Errorf("bundle name %q: want a plain file name ending in .json", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	f := bundleFile{Format: BundleFormat, Strategy: b.Strategy, Original: "original.onnx", Precision: b.Precision}
	if err := netio.Save(filepath.Join(dir, f.Original), b.Original, netio.Options{Float64: true}); err != nil {
		return err
	}
	for l, e := range b.Experts {
		name := fmt.Sprintf("expert-%d.onnx", l)
		if err := netio.Save(filepath.Join(dir, name), e, netio.Options{Float64: true}); err != nil {
			return err
		}
		f.Experts = append(f.Experts, name)
	}
	js, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, name), append(js, '\n'))
}

// ReadBundle reads a bundle file and the networks it names.
func ReadBundle(path string) (*Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	var f bundleFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	if f.Format != BundleFormat {
		return nil, fmt.Errorf("read bundle %s: format %q, want %q", path, f.Format, BundleFormat)
	}
	dir := filepath.Dir(path)
	load := func(name string) (*nn.Network, error) {
		if name == "" || filepath.IsAbs(name) || strings.Contains(filepath.ToSlash(name), "../") {
			return nil, fmt.Errorf("read bundle %s: network %q: want a file name beside the bundle", path, name)
		}
		return netio.Load(filepath.Join(dir, name))
	}
	b := &Bundle{Strategy: f.Strategy, Precision: f.Precision}
	if b.Original, err = load(f.Original); err != nil {
		return nil, err
	}
	for _, name := range f.Experts {
		e, err := load(name)
		if err != nil {
			return nil, err
		}
		b.Experts = append(b.Experts, e)
	}
	if err := b.Check(); err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	return b, nil
}
