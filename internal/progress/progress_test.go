package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestPlainLog checks which steps a plain log reports: every quarter, and with a short enough interval
// every step; never the last step, which Finish reports.
func TestPlainLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		total int
		adds  []int
		every time.Duration
		want  []string // the lines between "started" and "done"
	}{
		{"quarters", 8, []int{1, 1, 1, 1, 1, 1, 1, 1}, time.Hour, []string{"2/8", "4/8", "6/8"}},
		{"a jump over quarters logs once", 8, []int{5, 1, 2}, time.Hour, []string{"5/8", "6/8"}},
		{"fewer steps than quarters", 3, []int{1, 1, 1}, time.Hour, []string{"1/3", "2/3"}},
		{"time", 8, []int{1, 1, 1, 1, 1, 1, 1, 1}, time.Nanosecond, []string{"1/8", "2/8", "3/8", "4/8", "5/8", "6/8", "7/8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := To(&buf)
			r.every = tc.every
			p := r.Start("work", tc.total)
			for _, n := range tc.adds {
				if tc.every < time.Millisecond {
					time.Sleep(time.Microsecond) // so that the interval has passed between steps
				}
				p.Add(n, "s")
			}
			p.Finish("ok")
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) < 2 || !strings.HasPrefix(lines[0], "work: started (") || !strings.HasPrefix(lines[len(lines)-1], "work: done in ") {
				t.Fatalf("log %q: want a started and a done line around the steps", buf.String())
			}
			var got []string
			for _, l := range lines[1 : len(lines)-1] {
				f := strings.Fields(l)
				if len(f) < 2 {
					t.Fatalf("step line %q", l)
				}
				got = append(got, f[1])
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("logged steps %v, want %v", got, tc.want)
			}
		})
	}
}

// TestQuiet checks that a reporter with no writer, and a nil one, can run a phase (nothing to write to).
func TestQuiet(t *testing.T) {
	var nilRep *Reporter
	for _, r := range []*Reporter{To(nil), nilRep} {
		p := r.Start("work", 4)
		p.Add(4, "s")
		p.Finish("ok")
	}
}
