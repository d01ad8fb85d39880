package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/birdnn/birdnn/verify"
)

// Instance is one verification instance: a network and a property.
type Instance struct {
	I, J, Prop int
}

// Name is how tables show the instance, e.g. "N2,1 p2".
func (in Instance) Name() string { return fmt.Sprintf("N%d,%d p%d", in.I, in.J, in.Prop) }

// VNNCOMPACASXu lists the 186 ACAS Xu instances of VNN-COMP 2021: properties 1-4 on all 45 networks, then
// property 5 and 6 on N1,1, 7 on N1,9, 8 on N2,9, 9 on N3,3 and 10 on N4,5.
func VNNCOMPACASXu() []Instance {
	var out []Instance
	for p := 1; p <= 4; p++ {
		for i := 1; i <= 5; i++ {
			for j := 1; j <= 9; j++ {
				out = append(out, Instance{i, j, p})
			}
		}
	}
	return append(out, Instance{1, 1, 5}, Instance{1, 1, 6}, Instance{1, 9, 7}, Instance{2, 9, 8}, Instance{3, 3, 9}, Instance{4, 5, 10})
}

// VerifyRow is one instance's outcome.
type VerifyRow struct {
	Instance Instance
	Result   verify.Result
	Err      string
}

// RunVerify verifies each instance with the given options (opt.Timeout is the budget of each) and calls
// progress after each.
func RunVerify(ctx context.Context, instances []Instance, opt verify.Options, progress func(VerifyRow)) []VerifyRow {
	var rows []VerifyRow
	for _, in := range instances {
		row := VerifyRow{Instance: in}
		net, prop, _, _, err := loadACASXu(in.I, in.J, fmt.Sprintf("vnnlib/prop_%d.vnnlib", in.Prop))
		if err != nil {
			row.Err = err.Error()
		} else {
			row.Result = verify.Verify(ctx, net, prop, opt)
		}
		rows = append(rows, row)
		if progress != nil {
			progress(row)
		}
	}
	return rows
}

// VerifyMarkdown renders the rows with totals.
func VerifyMarkdown(title string, rows []VerifyRow, timeout time.Duration) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\nTimeout %v per instance.\n\n| instance | verdict | seconds | boxes |\n|---|---|---:|---:|\n", title, timeout)
	counts := map[verify.Verdict]int{}
	total := 0.0
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | error: %s | | |\n", r.Instance.Name(), cell(r.Err))
			continue
		}
		counts[r.Result.Verdict]++
		total += r.Result.Seconds
		fmt.Fprintf(&b, "| %s | %s | %.2f | %d |\n", r.Instance.Name(), r.Result.Verdict, r.Result.Seconds, r.Result.Boxes)
	}
	fmt.Fprintf(&b, "\nSolved %d of %d (certified %d, violated %d, unknown %d); total %.1f s. nnenum (VNN-COMP 2021): 186 of 186 in 285 s.\n",
		counts[verify.Certified]+counts[verify.Violated], len(rows), counts[verify.Certified], counts[verify.Violated], counts[verify.Unknown], total)
	return b.Bytes()
}
