// Package configs is the schema of birdnn's YAML runs (Repair, Train), their defaults, validation and
// loader (file, --set, BIRDNN_*), and the shipped runs (the CARE benchmarks, the demo, domain-wise runs).
package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Names lists the shipped configs by name (file name without .yaml).
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Get returns the YAML of the shipped config called name.
func Get(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no shipped config %q (have: %s)", name, strings.Join(Names(), ", "))
	}
	return b, nil
}
