package archtest

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/birdnn/birdnn/"

// forbidden lists, for each package, the birdnn packages it must not import (directly), as
// docs/architecture.md states them.
var forbidden = map[string][]string{
	"property":   {"*"},
	"datasets":   {"*"},
	"nn":         {"train", "falsify", "verify", "imitate", "localize", "samplewise", "domain", "repair", "bench", "configs", "datasets", "attack"},
	"attack":     {"train", "falsify", "verify", "imitate", "localize", "samplewise", "domain", "repair", "bench", "configs", "datasets"},
	"falsify":    {"train", "verify", "imitate", "localize", "samplewise", "domain", "repair", "bench", "configs"},
	"verify":     {"train", "imitate", "localize", "samplewise", "domain", "repair", "bench", "configs"},
	"diff":       {"train", "imitate", "localize", "samplewise", "domain", "repair", "bench", "configs", "attack"},
	"lp":         {"*"},
	"minimal":    {"train", "falsify", "verify", "imitate", "localize", "samplewise", "domain", "repair", "bench", "configs", "datasets", "attack", "diff"},
	"experts":    {"train", "falsify", "verify", "imitate", "localize", "samplewise", "domain", "repair", "bench", "configs", "datasets", "attack", "diff"},
	"configs":    {"nn", "train", "verify", "samplewise", "domain", "repair", "bench"},
	"train":      {"imitate", "localize", "samplewise", "domain", "repair", "bench"},
	"samplewise": {"domain", "repair", "bench"},
	"domain":     {"repair", "bench"},
	"repair":     {"bench"},
}

func TestPackageLines(t *testing.T) {
	for pkg, bad := range forbidden {
		p, err := build.ImportDir(filepath.Join("..", "..", pkg), 0)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		for _, imp := range p.Imports {
			rel, ok := strings.CutPrefix(imp, module)
			if !ok || strings.HasPrefix(rel, "internal/") {
				continue
			}
			for _, b := range bad {
				if b == "*" || rel == b || strings.HasPrefix(rel, b+"/") {
					t.Errorf("%s imports %s, which docs/architecture.md forbids", pkg, rel)
				}
			}
		}
	}
}
