// Package configs is the schema of birdnn's YAML runs (Repair, Train), their defaults, validation and
// loader (file, --set, BIRDNN_*), and the shipped runs (the CARE benchmarks, the demo, domain-wise runs).
package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

//go:embed train/*.yaml
var trainFiles embed.FS

// TrainNames lists the shipped training runs by name.
func TrainNames() []string {
	entries, _ := fs.ReadDir(trainFiles, "train")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// OpenTrain reads a training run named by ref: a YAML file, or the name of a shipped run (configs/train/),
// with the overrides.
func OpenTrain(ref string, overrides []string) (*Train, error) {
	if _, err := os.Stat(ref); err == nil || strings.ContainsAny(ref, "/.") {
		return LoadTrain(ref, nil, overrides)
	}
	yaml, err := trainFiles.ReadFile("train/" + ref + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("config %s: no such file, and no shipped training run of that name (have: %s)", ref, strings.Join(TrainNames(), ", "))
	}
	cfg, err := LoadTrain("", yaml, overrides)
	if err != nil {
		return nil, fmt.Errorf("shipped training run %s: %w", ref, err)
	}
	return cfg, nil
}

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

// OpenRepair reads a repair run named by ref: a YAML file, or the name of a shipped run (def when ref
// is empty), with the overrides. It returns the run with a name for its output folder (the file's base
// name, or the shipped name).
func OpenRepair(ref, def string, overrides []string) (*Repair, string, error) {
	if ref == "" {
		ref = def
	}
	if _, err := os.Stat(ref); err == nil {
		cfg, err := LoadRepair(ref, nil, overrides)
		return cfg, strings.TrimSuffix(filepath.Base(ref), filepath.Ext(ref)), err
	}
	if strings.ContainsAny(ref, "/.") {
		return nil, "", fmt.Errorf("config %s: no such file", ref)
	}
	yaml, err := Get(ref)
	if err != nil {
		return nil, "", err
	}
	cfg, err := LoadRepair("", yaml, overrides)
	if err != nil {
		return nil, "", fmt.Errorf("shipped config %s: %w", ref, err)
	}
	return cfg, ref, nil
}
