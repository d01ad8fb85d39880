package verify

import (
	"context"
	"time"

	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Counterexamples returns up to want distinct counterexamples of prop in net (row-major): a sampling
// search's, or, when it finds none, the verifier's, which keeps collecting for a sixth of the timeout
// after its first. It returns nil when neither finds one (the property may still fail). Sampling misses
// violations that lie on a face of the box or in a sliver of it (ACAS Xu N1,9 against property 7); the
// verifier's attacks follow its bounds there.
func Counterexamples(ctx context.Context, net *nn.Network, prop *property.Property, want int, timeout time.Duration, seed uint64) []float64 {
	want = max(want, 1)
	cx := falsify.Search(net, prop, falsify.Options{Samples: 20000, Starts: 64, Steps: 40, StepSize: 0.02, Want: want}, seed)
	if len(cx) > 0 {
		return cx[:min(len(cx), want*net.Inputs())]
	}
	r := Verify(ctx, net, prop, Options{Timeout: timeout, Collect: want, CollectFor: timeout / 6})
	if r.Verdict != Violated {
		return nil
	}
	if want == 1 || r.More == nil {
		return r.Counterexample.Input
	}
	return r.More[:min(len(r.More), want*net.Inputs())]
}
