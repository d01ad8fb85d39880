package verify

import (
	"context"
	"testing"
	"time"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/property"
)

func acasProblem(t *testing.T, i, j, k int) (*nn.Network, *property.Property) {
	t.Helper()
	if _, err := datasets.ACASXu(); err != nil {
		t.Skipf("skipping: ACAS Xu data not available (%v)", err)
	}
	pp, _ := datasets.ACASXuProperty(k)
	prop, err := property.ReadFile(pp)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := datasets.ACASXuNet(i, j, "nnet")
	net, err := nnet.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return net, prop
}

// TestACASXuN21Property2 finds N2,1's violation of property 2 and confirms the counterexample.
func TestACASXuN21Property2(t *testing.T) {
	net, prop := acasProblem(t, 2, 1, 2)
	res := Verify(context.Background(), net, prop, Options{Timeout: time.Minute})
	if res.Verdict != Violated || !prop.Unsafe(res.Counterexample.Input, net.Forward(res.Counterexample.Input)) {
		t.Fatalf("N2,1: %+v, want a confirmed violation", res)
	}
}

// TestBoundsNeverCertifyAViolatedNetwork runs the bounds alone (no counterexample search) on N2,1, which
// violates property 2: whatever the budget, the verdict must not be certified.
func TestBoundsNeverCertifyAViolatedNetwork(t *testing.T) {
	net, prop := acasProblem(t, 2, 1, 2)
	res := Verify(context.Background(), net, prop, Options{NoAttack: true, MaxBoxes: 1000})
	if res.Verdict == Certified {
		t.Fatalf("certified a network with a counterexample after %d boxes", res.Boxes)
	}
}

// TestACASXuN33Property2 certifies N3,3 against property 2: its slack is about 1e-3 along a long ridge,
// which input splits alone could not finish; the exact decision of small boxes does (about 10 s on 2
// cores).
func TestACASXuN33Property2(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: about 10 s")
	}
	net, prop := acasProblem(t, 3, 3, 2)
	res := Verify(context.Background(), net, prop, Options{Timeout: 5 * time.Minute})
	if res.Verdict != Certified {
		t.Fatalf("N3,3: %s after %.1f s and %d boxes (%.6f proven), want certified", res.Verdict, res.Seconds, res.Boxes, res.Proven)
	}
	t.Logf("certified in %.1f s, %d boxes", res.Seconds, res.Boxes)
}
