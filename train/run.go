package train

import (
	"context"
	"fmt"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
)

// Run trains the network a training config describes: it reads the CSV dataset, or distils the teacher
// (with samples around its counterexamples when a property is given), and fits the network to it. It
// writes nothing; the caller saves Result.Net.
func Run(ctx context.Context, cfg *configs.Train, rep *progress.Reporter) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if cfg.Data != "" {
		return Classify(ctx, cfg, rep)
	}
	var set *Set
	if cfg.CSV != "" {
		p, err := datasets.Resolve(cfg.CSV)
		if err != nil {
			return nil, err
		}
		if set, err = ReadCSV(p, cfg.Inputs, cfg.Outputs, cfg.Labels); err != nil {
			return nil, err
		}
		return Fit(ctx, set, cfg, rep)
	}
	tp, err := datasets.Resolve(cfg.Teacher)
	if err != nil {
		return nil, err
	}
	teacher, err := netio.Load(tp)
	if err != nil {
		return nil, err
	}
	var prop *property.Property
	if cfg.Property != "" {
		pp, err := datasets.Resolve(cfg.Property)
		if err != nil {
			return nil, err
		}
		if prop, err = property.ReadFile(pp); err != nil {
			return nil, err
		}
		if err := prop.Check(teacher.Inputs(), teacher.Outputs()); err != nil {
			return nil, fmt.Errorf("%s and %s: %w", cfg.Property, cfg.Teacher, err)
		}
	}
	if set, err = Distil(ctx, teacher, prop, cfg, rep); err != nil {
		return nil, err
	}
	return Fit(ctx, set, cfg, rep)
}
