package train

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// TestClosedGraphsAreFreed builds, runs and closes graphs in a loop: the memory they computed must be
// collected. (A cycle through Gorgonia's machine finalizer once kept every graph alive, tens of MB each.)
func TestClosedGraphsAreFreed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	net := nn.Random(rng, acasSizes, activation.ReLU, activation.Identity)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	const batch = 1024
	var start uint64
	for i := 0; i < 12; i++ {
		gr, err := NewGraph(net, batch, Options{InputGrad: true, ActivationGrads: true})
		must(t, err)
		tn, wn := gr.NewInput("t", batch, 5), gr.NewInput("w", batch, 1)
		loss, err := gr.WeightedSSE(gr.Out, tn, wn)
		must(t, err)
		must(t, gr.Compile(loss))
		opt := NewAdam(1e-3)
		for s := 0; s < 2; s++ {
			_, err := gr.Run()
			must(t, err)
			must(t, opt.Step(gr))
		}
		must(t, gr.Close())
		if i == 1 {
			start = heap()
		}
	}
	// One graph of this size computes about 8 MB of values; ten leaked graphs would hold 80 MB.
	if grew := int64(heap()) - int64(start); grew > 20<<20 {
		t.Errorf("heap grew by %d MB over 10 closed graphs", grew>>20)
	}
}
