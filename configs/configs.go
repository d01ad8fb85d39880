// Package configs holds birdnn's shipped YAML runs (the CARE benchmarks, the demo) and lists them; the
// schema of a run is repair.Config.
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
