// Package progress shows the progress of long phases: a bar when stderr is a terminal, otherwise a few
// plain log lines per phase (at each quarter, and at least every minute of a long one).
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Reporter starts phases. The zero value is quiet.
type Reporter struct {
	w        io.Writer
	terminal bool
	verbose  bool
	// every is the longest a plain log stays silent within a phase while steps are done (0: logEvery).
	every time.Duration
}

// logEvery is how often at least a plain log reports a phase that takes long between its quarters.
const logEvery = time.Minute

// Verbose makes r log every step (not only a few per phase), in place of the bar.
func (r *Reporter) Verbose() *Reporter {
	if r != nil {
		r.verbose, r.terminal = true, false
	}
	return r
}

// Stderr reports to standard error, with bars only when it is a terminal.
func Stderr() *Reporter {
	return &Reporter{w: os.Stderr, terminal: term.IsTerminal(int(os.Stderr.Fd()))}
}

// To reports plain log lines to w (never bars); a nil w is quiet.
func To(w io.Writer) *Reporter { return &Reporter{w: w} }

// Warn writes a warning line ("warning: msg"), bar or not; a quiet reporter drops it.
func (r *Reporter) Warn(msg string) {
	if r != nil && r.w != nil {
		fmt.Fprintf(r.w, "warning: %s\n", msg)
	}
}

// Phase is one long step with a known number of units of work.
type Phase struct {
	r     *Reporter
	name  string
	total int
	done  int
	bar   *progressbar.ProgressBar
	start time.Time
	// A plain log reports the step count at every quarter (nextLog, advanced by quarter) and when every
	// has passed since its last line (lastLog).
	quarter int
	every   time.Duration
	nextLog int
	lastLog time.Time
	mu      sync.Mutex
}

// Start begins a phase of total units.
func (r *Reporter) Start(name string, total int) *Phase {
	p := &Phase{r: r, name: name, total: total, start: time.Now()}
	if r == nil || r.w == nil {
		return p
	}
	if r.terminal {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(r.w), progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
		return p
	}
	fmt.Fprintf(r.w, "%s: started (%d steps)\n", name, total)
	p.quarter = max(total/4, 1)
	p.nextLog = p.quarter
	p.every = r.every
	if p.every <= 0 {
		p.every = logEvery
	}
	p.lastLog = p.start
	return p
}

// Add records n more units done, with an optional status shown beside the bar or in the log line.
func (p *Phase) Add(n int, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	switch {
	case p.bar != nil:
		if status != "" {
			p.bar.Describe(p.name + " " + status)
		}
		p.bar.Add(n)
	case p.r != nil && p.r.w != nil && p.r.verbose:
		fmt.Fprintf(p.r.w, "%s: %d/%d %s\n", p.name, p.done, p.total, status)
	case p.r != nil && p.r.w != nil && p.done < p.total:
		now := time.Now()
		if p.done < p.nextLog && now.Sub(p.lastLog) < p.every {
			return
		}
		fmt.Fprintf(p.r.w, "%s: %d/%d %s\n", p.name, p.done, p.total, status)
		p.lastLog = now
		for p.nextLog <= p.done {
			p.nextLog += p.quarter
		}
	}
}

// Finish ends the phase with a closing status.
func (p *Phase) Finish(status string) {
	if p.bar != nil {
		p.bar.Finish()
	}
	if p.r != nil && p.r.w != nil {
		fmt.Fprintf(p.r.w, "%s: done in %.2fs %s\n", p.name, time.Since(p.start).Seconds(), status)
	}
}
