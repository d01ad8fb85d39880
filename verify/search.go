package verify

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// search is one run of branch and bound: a shared stack of open boxes (depth first keeps it short),
// worked by a pool of workers that each own their bounding workspace. Every field below mu is guarded
// by it.
type search struct {
	net        *nn.Network
	prop       *property.Property
	opt        Options
	start      time.Time
	done       <-chan struct{}
	onCourse   func(now time.Duration, proven float64, open int) bool
	collecting bool
	caseWeight []float64 // each case's share of the property's volume

	mu       sync.Mutex
	cond     *sync.Cond
	stack    []job
	head     int // breadth first: the queue's front
	busy     int
	boxes    int
	proven   float64
	maxDepth int
	more     []float64       // every counterexample found (Collect)
	seen     map[string]bool // the counterexamples in more, as keys
	found    []float64
	foundAt  time.Time
	gaveUp   bool
	stopped  bool
	// verdict is Certified until the search ends early (Unknown); stalled says it ended on Options.Stall.
	verdict Verdict
	stalled bool
}

func newSearch(ctx context.Context, net *nn.Network, prop *property.Property, opt Options, start time.Time) *search {
	s := &search{net: net, prop: prop, opt: opt, start: start, done: ctx.Done(),
		onCourse: newPace(opt.Timeout, opt.Grace, opt.Stall), collecting: opt.Collect > 1,
		seen: map[string]bool{}, verdict: Certified}
	s.cond = sync.NewCond(&s.mu)
	// Case weights from log volumes: the volume of a box of many dimensions (784 pixels of width 0.06)
	// underflows to 0.
	s.caseWeight = make([]float64, len(prop.Cases))
	top := math.Inf(-1)
	for k, c := range prop.Cases {
		s.stack = append(s.stack, job{box: c.Box, kase: k, share: 1})
		for i := range c.Box.Lo {
			if w := c.Box.Hi[i] - c.Box.Lo[i]; w > 0 {
				s.caseWeight[k] += math.Log(w)
			}
		}
		top = math.Max(top, s.caseWeight[k])
	}
	total := 0.0
	for k := range s.caseWeight {
		s.caseWeight[k] = math.Exp(s.caseWeight[k] - top)
		total += s.caseWeight[k]
	}
	for k := range s.caseWeight {
		s.caseWeight[k] /= total
	}
	return s
}

// keep adds the counterexamples in cx (row-major) that are not in more yet. The caller holds mu (or no
// worker runs yet).
func (s *search) keep(cx []float64) {
	d := s.net.Inputs()
	for r := 0; r+d <= len(cx); r += d {
		x := cx[r : r+d]
		key := fmt.Sprint(x)
		if s.seen[key] {
			continue
		}
		s.seen[key] = true
		if s.found == nil {
			s.found, s.foundAt = x, time.Now()
		}
		s.more = append(s.more, x...)
	}
}

// work is one worker: it takes open boxes until the search stops, decides each, and hands back what it
// learned.
func (s *search) work() {
	bd := newBounder(s.net)
	if !s.opt.NoAlpha {
		bd.alphaSteps = alphaSteps
	}
	if !s.opt.SmearOnly {
		bd.neuronCandidates = max(s.opt.ReluSplits, 0)
		if bd.neuronCandidates == 0 && s.net.Inputs() > highDim {
			bd.neuronCandidates = highDimReluSplits
		}
	}
	var ex *exact
	var countUnstable func([][]Interval) int // steers branching toward the exact decision
	if !s.opt.NoExact {
		if ex = newExact(s.net); ex != nil {
			countUnstable = ex.countUnstable
		}
	}
	for {
		j, ok := s.next()
		if !ok {
			return
		}
		c := s.prop.Cases[j.kase]
		o := j.known
		if o == nil {
			oo := decide(bd, c, j, !s.opt.NoAttack, true, nil)
			o = &oo
		}
		if !o.safe && o.cx == nil && ex != nil && o.bounds != nil {
			r, x := ex.decide(j.box, o.bounds, c, j.splits, j.exactFailed)
			switch {
			case r == exactSafe:
				o = &outcome{safe: true}
			case x != nil:
				o = &outcome{cx: x, dim: -1}
			case r == exactOpen:
				// Out of budget: the halves try again once they have fewer unstable relus.
				j.exactFailed = ex.unstable
			}
		}
		var kids []job
		if !o.safe && o.cx == nil && o.dim >= 0 {
			kids = branch(bd, c, j, o, s.opt, countUnstable)
		}
		cx := o.cx
		for _, k := range kids {
			if k.known != nil && k.known.cx != nil {
				cx = k.known.cx
			}
		}
		s.record(j, kids, o.safe, o.dim, cx)
	}
}

// next waits for an open box and takes it, or reports false when the search is over: the stack is empty
// with no worker busy, the context ended, the counterexamples were collected, the pace fell behind or
// the box budget ran out.
func (s *search) next() (job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.stack) == s.head && s.busy > 0 && !s.stopped {
		s.cond.Wait()
	}
	stop := func(verdict Verdict) (job, bool) {
		s.stopped = true
		if verdict != "" {
			s.verdict = verdict
		}
		s.cond.Broadcast()
		return job{}, false
	}
	if s.stopped || len(s.stack) == s.head {
		return stop("")
	}
	select {
	case <-s.done:
		return stop(Unknown)
	default:
	}
	if s.found != nil && s.opt.CollectFor > 0 && time.Since(s.foundAt) > s.opt.CollectFor {
		return stop("")
	}
	if now := time.Since(s.start); !s.onCourse(now, s.proven, len(s.stack)-s.head+s.busy) {
		s.stalled = now < s.opt.Timeout
		return stop(Unknown)
	}
	if s.opt.MaxBoxes > 0 && s.boxes >= s.opt.MaxBoxes {
		return stop(Unknown)
	}
	var j job
	if s.opt.BreadthFirst || s.boxes < breadthFirstBoxes {
		j = s.stack[s.head]
		s.stack[s.head] = job{}
		s.head++
		if s.head > 4096 && s.head > len(s.stack)/2 { // drop the consumed front now and then
			s.stack = append(s.stack[:0], s.stack[s.head:]...)
			s.head = 0
		}
	} else {
		j = s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
	}
	s.busy++
	s.boxes++
	return j, true
}

// record hands back a decided box: a counterexample, a proof (its share joins the proven volume), a box
// too small to split (the verdict can no longer be certified), or the box's children to decide.
func (s *search) record(j job, kids []job, safe bool, dim int, cx []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy--
	switch {
	case cx != nil:
		s.keep(cx)
		if len(s.more)/len(cx) >= max(s.opt.Collect, 1) {
			s.stopped = true
		} else if s.collecting {
			// More may lie elsewhere in this box: its halves are searched too.
			if len(kids) == 0 {
				kids = halveWidest(j, s.prop.Cases[j.kase].Box)
			}
			s.stack = append(s.stack, kids...)
		}
	case safe:
		s.proven += j.share * s.caseWeight[j.kase]
	case !safe && dim < 0:
		// Too small to split and still not proved: give up on it, so the verdict can only be unknown
		// (or violated, if a counterexample turns up elsewhere).
		s.gaveUp = true
	case !safe:
		for _, k := range kids {
			if k.known != nil && k.known.safe {
				s.proven += k.share * s.caseWeight[j.kase]
				continue
			}
			s.stack = append(s.stack, k)
		}
		s.maxDepth = max(s.maxDepth, j.depth+1)
	}
	s.cond.Broadcast()
}

// result is the search's outcome once every worker has returned. A certified verdict is only ever
// reached with an empty stack, no box given up and no counterexample; Unknown otherwise.
func (s *search) result() Result {
	if s.found != nil {
		r := violated(s.net, s.found, s.start, s.boxes)
		if s.opt.Collect > 1 {
			r.More = s.more
		}
		return r
	}
	res := Result{Verdict: s.verdict, Stalled: s.stalled}
	if s.gaveUp {
		res.Verdict = Unknown
	}
	if res.Verdict == Unknown {
		// Up to 512 open boxes, the newest first (breadth first: the last level reached).
		for i := len(s.stack) - 1; i >= s.head && len(res.Open) < 512; i-- {
			res.Open = append(res.Open, s.stack[i].box)
		}
	}
	res.Boxes = s.boxes
	res.Depth = s.maxDepth
	res.Proven = math.Min(s.proven, 1)
	if res.Verdict == Certified {
		res.Proven = 1
	}
	res.Seconds = time.Since(s.start).Seconds()
	return res
}

// violated is the verdict on a counterexample x, with the output a plain forward pass gives it.
func violated(net *nn.Network, x []float64, start time.Time, boxes int) Result {
	x = append([]float64(nil), x...)
	return Result{Verdict: Violated, Seconds: time.Since(start).Seconds(), Boxes: boxes,
		Counterexample: &Counterexample{Input: x, Output: net.Forward(x)}}
}

// job is an open box of a case, restricted to the inputs where some relus have a given sign.
type job struct {
	box    property.Box
	kase   int
	parent [][]Interval // bounds over the box this one was split from
	depth  int
	known  *outcome // the box's outcome, when strong branching has already computed it
	splits []neuronSplit
	// exactFailed is the number of unstable relus of the nearest ancestor box (or this one) on which the
	// exact decision ran out of budget; 0 when none did.
	exactFailed int
	// share is the job's part of its case's volume (a relu split gives each half half the share: the
	// progress measure Result.Proven counts it so).
	share float64
}

// neuronSplit restricts a job to the inputs where relu j of layer k is active (pre-activation >= 0) or
// inactive (<= 0).
type neuronSplit struct {
	k, j   int
	active bool
}

// neuronRef names an unstable relu that branching may split.
type neuronRef struct{ k, j int }

// child returns a job for box within j (whose outcome is o), with j's splits and one more when add is
// not nil.
func (j job) child(box property.Box, share float64, o *outcome, add *neuronSplit) job {
	splits := j.splits
	if add != nil {
		splits = append(append([]neuronSplit(nil), j.splits...), *add)
	}
	return job{box: box, kase: j.kase, parent: o.bounds, depth: j.depth + 1, splits: splits, share: share, exactFailed: j.exactFailed}
}
