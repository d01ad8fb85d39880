package verify

import (
	"math"
	"testing"
	"time"
)

// TestPaceOfGrace drives Options.Grace's test with made-up progress (time in seconds to the proven
// share and the number of open boxes), timeout 1 s and grace 1 s, and checks when it stops the search:
// the times were worked out by hand from the rule (trends over the last quarter of the time so far must
// end the search by 2 s).
func TestPaceOfGrace(t *testing.T) {
	shrinking := func(s float64) float64 { return 100 * (1.8 - s) } // open boxes: falling 100/s
	tests := []struct {
		name         string
		proven, open func(s float64) float64
		stop         float64 // when the search is stopped; 0: it never is (up to 2 s)
	}{
		// Proves 2/3 of the box per second: done at 1.5 s, on course all along.
		{"linear, done at 1.5 s", func(s float64) float64 { return s / 1.5 }, shrinking, 0},
		// Done at 2.5 s: at 1 s the rate 0.4/s leaves 0.6 for 1.5 s, more than the 1 s left.
		{"linear, done at 2.5 s", func(s float64) float64 { return s / 2.5 }, shrinking, 1},
		// Nothing proved after 0.7 s: no progress over the last quarter at 1 s.
		{"stalled", func(s float64) float64 { return math.Min(s, 0.7) }, shrinking, 1},
		// The share would be done at 1.5 s, but the open boxes grow.
		{"open boxes grow", func(s float64) float64 { return s / 1.5 }, func(s float64) float64 { return 100 * s }, 1},
		// Open boxes fall 300/s: at 1 s the 700 left need 2.3 s.
		{"open boxes fall too slowly", func(s float64) float64 { return s / 1.5 }, func(s float64) float64 { return 1000 - 300*s }, 1},
		// 0.9 at 1 s, then slower (0.25/s) and stalled at 0.95 from 1.2 s. Checks every 0.05 s after
		// 1 s, marks every 0.03 s: at 1.40 s the window starts at the mark of 1.05 s (0.9125), rate
		// 0.107/s, the rest 0.05 needs 0.47 s of the 0.6 s left; at 1.45 s it starts at 1.08 s (0.92),
		// rate 0.081/s, 0.62 s needed, 0.55 s left.
		{"slows during the grace", func(s float64) float64 { return math.Min(0.9*s, 0.9+0.25*(math.Min(s, 1.2)-1)) }, shrinking, 1.45},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pace := newPace(time.Second, time.Second, 0)
			stop := 0.0
			for ms := 0; ms <= 2000; ms += 10 {
				s := float64(ms) / 1000
				p := tc.proven(s)
				if p >= 1 {
					break // the search has ended: nothing is left to prove
				}
				if !pace(time.Duration(ms)*time.Millisecond, p, int(math.Round(tc.open(s)))) {
					stop = s
					break
				}
			}
			if math.Abs(stop-tc.stop) > 0.011 {
				t.Errorf("stopped at %.2f s, want %.2f (0: never)", stop, tc.stop)
			}
		})
	}
	if !newPace(time.Second, 0, 0)(time.Hour, 0, 1) {
		t.Error("without grace the pace never stops a search (the timeout does)")
	}
}

// TestPaceOfStall drives Options.Stall's tests (stall 0.005, timeout 1 s, no grace) with made-up unproven
// shares and open boxes and checks when they stop the search; the times were worked out by hand from the
// rules (checks from 1/3 s every 0.05 s, at 0.34, 0.39, ... s, marks every 0.03 s at these 10 ms calls).
// The unproven share at 1 s, projected geometrically from the last quarter of the time so far, must be
// 0.005 or less; and from 2/3 s on (the check at 0.69 s) the open boxes must be fewer than at the start
// of that quarter.
func TestPaceOfStall(t *testing.T) {
	falling := func(s float64) float64 { return 1000 * (1 - s) }
	tests := []struct {
		name     string
		unproven func(s float64) float64
		open     func(s float64) float64
		stop     float64 // 0: never (up to 2 s)
	}{
		// 0.1 e^-5s: the projection is exact, 0.1 e^-5 = 0.00067 at 1 s.
		{"fast", func(s float64) float64 { return 0.1 * math.Exp(-5*s) }, falling, 0},
		// 0.1 e^-2s: 0.0135 at 1 s, stopped at the first check.
		{"slow", func(s float64) float64 { return 0.1 * math.Exp(-2*s) }, falling, 0.34},
		// 0.1 e^-5s, stuck from 0.5 s at 0.00821. At 0.54 s the window starts at the mark of 0.39 s
		// (0.01423): 3.67/s, 0.0015 at 1 s; at 0.59 s, from 0.42 s (0.01225): 2.35/s, 0.0031; at 0.64 s,
		// from 0.48 s (0.00907): 0.62/s, 0.0066.
		{"stuck later", func(s float64) float64 { return 0.1 * math.Exp(-5*math.Min(s, 0.5)) }, falling, 0.64},
		// Below the stall share all along and the open boxes falling: never stopped, however slow.
		{"nearly done", func(s float64) float64 { return 0.004 }, falling, 0},
		// The share as fast as "fast", but the open boxes grow: stopped at the first check from 2/3 s.
		{"open boxes grow", func(s float64) float64 { return 0.1 * math.Exp(-5*s) }, func(s float64) float64 { return 100 + 100*s }, 0.69},
		// Below the stall share, and as many open boxes at 0.69 s as at the window's start (0.51 s).
		{"open boxes steady", func(s float64) float64 { return 0.004 }, func(s float64) float64 { return 100 }, 0.69},
		// The open boxes grow until 0.6 s (160), then fall 300/s: at 0.69 s 133 against 151 at the mark of
		// 0.51 s, and fewer at every later check.
		{"open boxes peak at 0.6 s", func(s float64) float64 { return 0.1 * math.Exp(-5*s) },
			func(s float64) float64 { return 100 + 100*math.Min(s, 0.6) - 300*math.Max(s-0.6, 0) }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pace := newPace(time.Second, 0, 0.005)
			stop := 0.0
			for ms := 0; ms <= 2000; ms += 10 {
				s := float64(ms) / 1000
				if !pace(time.Duration(ms)*time.Millisecond, 1-tc.unproven(s), int(math.Round(tc.open(s)))) {
					stop = s
					break
				}
			}
			if math.Abs(stop-tc.stop) > 0.001 {
				t.Errorf("stopped at %.2f s, want %.2f (0: never)", stop, tc.stop)
			}
		})
	}
	if !newPace(time.Second, 0, 0)(999*time.Millisecond, 0, 1) {
		t.Error("without stall a search is never stopped before its timeout")
	}
}
