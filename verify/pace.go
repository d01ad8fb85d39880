package verify

import (
	"math"
	"sort"
	"time"
)

// newPace returns the test of Options.Grace and Options.Stall: called with the time since the start, the
// proven share and the number of open boxes as the search goes, it reports whether the search may go on.
//
// Before timeout it may unless stall is set and the search is falling behind: from timeout/3 on, and then
// every timeout/20, the unproven share u must shrink, by the factor it shrank over the last quarter of the
// time so far for every such span (geometrically), to stall or less at timeout. (On the activation
// suite's domain-wise repairs, most first rounds that were not certified in 30 s showed u shrinking
// about 1.25x in 3 s, projected to 0.5-2% at the timeout, and one to 0.16-0.35%; proofs that finished, in
// up to 31 s, were projected to 0.3% or less at every check: the rule catches the clear cases only.)
//
// After timeout, with grace, it may only while both trends over the last quarter of the time so far,
// kept up, would end the search before timeout+grace: the proven share's growth reaching 1, and the
// open boxes' decline reaching none. (The second matters at the end of a proof: on a network that is not
// certified after 200 s, the share proved grew as fast as on one certified in 34 s, but its open boxes
// kept growing while the other's fell.) It is checked at timeout and then every twentieth of grace;
// between checks it repeats the last answer, and once it has said no it keeps saying no.
func newPace(timeout, grace time.Duration, stall float64) func(now time.Duration, proven float64, open int) bool {
	if timeout <= 0 || grace <= 0 && stall <= 0 {
		return func(time.Duration, float64, int) bool { return true }
	}
	type mark struct {
		at     time.Duration
		proven float64
		open   int
	}
	var (
		marks      []mark // every 1/40 of timeout
		next       time.Duration
		check      = timeout
		stallCheck = timeout / 3
		ok         = true
	)
	// The last mark at least a quarter of the time so far ago.
	window := func(now time.Duration) mark {
		i := max(sort.Search(len(marks), func(i int) bool { return marks[i].at > now-now/4 })-1, 0)
		return marks[i]
	}
	return func(now time.Duration, proven float64, open int) bool {
		if now >= next {
			marks = append(marks, mark{now, proven, open})
			next = now + timeout/40
		}
		if !ok {
			return false
		}
		if now < timeout {
			if stall > 0 && now >= stallCheck {
				stallCheck = now + timeout/20
				m := window(now)
				if u, u0 := 1-proven, 1-m.proven; u > stall && now > m.at {
					shrink := math.Log(u0/u) / (now - m.at).Seconds() // per second; <= 0 when stuck
					ok = u*math.Exp(-shrink*(timeout-now).Seconds()) <= stall
				}
				if now >= 2*timeout/3 && now > m.at && open >= m.open {
					ok = false // a third of the time left and the open boxes no fewer: the proof will not finish
				}
			}
			return ok
		}
		if grace <= 0 {
			return true // the timeout ends the search
		}
		if now < check {
			return ok
		}
		check = now + grace/20
		m := window(now)
		span, left := (now - m.at).Seconds(), (timeout + grace - now).Seconds()
		gain := (proven - m.proven) / span
		fall := float64(m.open-open) / span
		ok = gain > 0 && (1-proven)/gain <= left && fall > 0 && float64(open)/fall <= left
		return ok
	}
}
