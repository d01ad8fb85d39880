package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/diff"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/nnet"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// DiffSetting is one row of NeuroDiff's ACAS Xu tables: a property box run on some networks against
// their 16-bit copies, the output compared and the eps, with NeuroDiff's published outcome (12 threads,
// 30 min a network).
type DiffSetting struct {
	Prop, Output int
	Nets         [][2]int
	Eps          float64
	// Published is NeuroDiff's count proved and total seconds; Undetermined when it proved none.
	PublishedProved  int
	PublishedSeconds float64
	Undetermined     bool
}

// Name is how tables show the setting, e.g. "p1 eps 0.05".
func (s DiffSetting) Name() string { return fmt.Sprintf("p%d eps %g", s.Prop, s.Eps) }

// neuroDiffPublished is NeuroDiff's (ASE 2020) ACAS Xu results: property, eps, proved, seconds.
var neuroDiffPublished = []struct {
	prop    int
	eps     float64
	proved  int
	seconds float64
}{
	{1, 0.05, 45, 343.3}, {7, 0.05, 1, 542.0}, {8, 0.05, 1, 71.7},
	{1, 0.01, 41, 11400.1}, {3, 0.01, 42, 14.25}, {4, 0.01, 42, 3.81}, {7, 0.01, 0, math.NaN()},
	{8, 0.01, 1, 1115.9}, {14, 0.01, 2, 1589.3},
}

// neuroDiffDir is the NeuroDiff data folder.
func neuroDiffDir() (string, error) {
	d, err := datasets.Dir()
	if err != nil {
		return "", err
	}
	nd := filepath.Join(d, "neurodiff")
	if _, err := os.Stat(nd); err != nil {
		return "", fmt.Errorf("NeuroDiff data: %w", err)
	}
	return nd, nil
}

// NeuroDiffACASXu lists the published ACAS Xu settings, with the networks and output each property is run
// on as the data's networks.csv gives them.
func NeuroDiffACASXu() ([]DiffSetting, error) {
	dir, err := neuroDiffDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "acas_properties", "networks.csv")
	recs, err := readCSVRecords(path)
	if err != nil {
		return nil, err
	}
	type runOn struct {
		output int
		nets   [][2]int
	}
	props := map[int]runOn{}
	for k, r := range recs {
		if k == 0 {
			continue
		}
		if len(r) != 4 {
			return nil, fmt.Errorf("%s: line %d: %d fields, want 4", path, k+1, len(r))
		}
		p, e1 := strconv.Atoi(r[0])
		t, e2 := strconv.Atoi(r[1])
		if e1 != nil || e2 != nil {
			return nil, fmt.Errorf("%s: line %d: property and output must be integers", path, k+1)
		}
		var nets [][2]int
		for _, n := range strings.Fields(r[3]) {
			var i, j int
			if _, err := fmt.Sscanf(n, "N%d_%d", &i, &j); err != nil {
				return nil, fmt.Errorf("%s: line %d: network %q is not N<i>_<j>", path, k+1, n)
			}
			nets = append(nets, [2]int{i, j})
		}
		props[p] = runOn{t, nets}
	}
	var out []DiffSetting
	for _, pub := range neuroDiffPublished {
		ro, ok := props[pub.prop]
		if !ok {
			return nil, fmt.Errorf("%s: property %d is not listed", path, pub.prop)
		}
		out = append(out, DiffSetting{Prop: pub.prop, Output: ro.output, Nets: ro.nets, Eps: pub.eps,
			PublishedProved: pub.proved, PublishedSeconds: pub.seconds, Undetermined: pub.proved == 0})
	}
	return out, nil
}

// DiffRow is one network's outcome in a setting.
type DiffRow struct {
	Setting string
	Net     [2]int
	Result  diff.Result
	Err     string
}

// loadNeuroDiffPair reads N_{i,j} and its 16-bit copy.
func loadNeuroDiffPair(i, j int) (*nn.Network, *nn.Network, error) {
	dir, err := neuroDiffDir()
	if err != nil {
		return nil, nil, err
	}
	ap, err := datasets.ACASXuNet(i, j, "nnet")
	if err != nil {
		return nil, nil, err
	}
	a, err := nnet.ReadFile(ap)
	if err != nil {
		return nil, nil, err
	}
	b, err := nnet.ReadFile(filepath.Join(dir, "acasxu_16bit", fmt.Sprintf("ACASXU_run2a_%d_%d_batch_2000_16bit.nnet", i, j)))
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// RunNeuroDiff decides every network of every setting against its 16-bit copy on the property's box at
// the setting's output and eps, each within opt.Timeout, calling progress after each.
func RunNeuroDiff(ctx context.Context, settings []DiffSetting, opt verify.Options, progress func(DiffRow)) []DiffRow {
	dir, dirErr := neuroDiffDir()
	var rows []DiffRow
	for _, s := range settings {
		for _, n := range s.Nets {
			if ctx.Err() != nil {
				return rows
			}
			row := DiffRow{Setting: s.Name(), Net: n}
			err := dirErr
			var prop *property.Property
			if err == nil {
				prop, err = property.ReadFile(filepath.Join(dir, "acas_properties", fmt.Sprintf("neurodiff_prop_%d.vnnlib", s.Prop)))
			}
			var a, b *nn.Network
			if err == nil {
				a, b, err = loadNeuroDiffPair(n[0], n[1])
			}
			if err == nil {
				row.Result, err = diff.Verify(ctx, a, b, prop.Cases[0].Box, diff.Options{Eps: s.Eps, Output: s.Output, Verify: opt})
			}
			if err != nil {
				row.Err = err.Error()
			}
			rows = append(rows, row)
			if progress != nil {
				progress(row)
			}
		}
	}
	return rows
}

// DiffSummary is a setting's totals.
type DiffSummary struct {
	Setting                     string
	Networks, Proved, Violated  int
	Seconds                     float64
	PublishedProved             int
	PublishedSeconds            float64
	Undetermined, ProvedAsOften bool
}

// SummarizeNeuroDiff totals the rows per setting.
func SummarizeNeuroDiff(settings []DiffSetting, rows []DiffRow) []DiffSummary {
	var out []DiffSummary
	for _, s := range settings {
		sum := DiffSummary{Setting: s.Name(), PublishedProved: s.PublishedProved, PublishedSeconds: s.PublishedSeconds, Undetermined: s.Undetermined}
		for _, r := range rows {
			if r.Setting != s.Name() {
				continue
			}
			sum.Networks++
			sum.Seconds += r.Result.Seconds
			switch r.Result.Verdict {
			case verify.Certified:
				sum.Proved++
			case verify.Violated:
				sum.Violated++
			}
		}
		sum.ProvedAsOften = sum.Proved >= s.PublishedProved
		out = append(out, sum)
	}
	return out
}

// NeuroDiffMarkdown renders the summaries beside NeuroDiff's figures, then every network's outcome.
func NeuroDiffMarkdown(settings []DiffSetting, rows []DiffRow, timeout time.Duration) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# NeuroDiff's ACAS Xu tables: each network against its 16-bit copy\n\n")
	fmt.Fprintf(&b, "`birdnn bench neurodiff`: |N'(x)_t - N(x)_t| < eps on NeuroDiff's property boxes, at the output t each is run on; %v per network, 2 cores. NeuroDiff: 12 threads, 30 min per network.\n\n", timeout)
	fmt.Fprintf(&b, "| setting | networks | proved | violated | total s | NeuroDiff proved | NeuroDiff s |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range SummarizeNeuroDiff(settings, rows) {
		pub := fmt.Sprintf("%d", s.PublishedProved)
		pubS := fmt.Sprintf("%.1f", s.PublishedSeconds)
		if s.Undetermined {
			pub, pubS = "undetermined", "-"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.1f | %s | %s |\n", s.Setting, s.Networks, s.Proved, s.Violated, s.Seconds, pub, pubS)
	}
	fmt.Fprintf(&b, "\n| setting | network | verdict | by | seconds | boxes |\n|---|---|---|---|---:|---:|\n")
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | N%d,%d | error: %s | | | |\n", r.Setting, r.Net[0], r.Net[1], cell(r.Err))
			continue
		}
		fmt.Fprintf(&b, "| %s | N%d,%d | %s | %s | %.2f | %d |\n", r.Setting, r.Net[0], r.Net[1], r.Result.Verdict, r.Result.Method, r.Result.Seconds, r.Result.Boxes)
	}
	return b.Bytes()
}

// MNISTDiffSetting is one column of NeuroDiff's MNIST experiments on the 3 x 100 network against its
// 16-bit copy: K random pixels of each image free over [0, 1] ("pixels"), or every pixel within K grey
// levels of its value ("global"); the output compared is the image's label, eps 1, as in the artifact.
type MNISTDiffSetting struct {
	Kind string
	K    int
}

// Name is how tables show the setting, e.g. "pixels k=21".
func (s MNISTDiffSetting) Name() string {
	if s.Kind == "pixels" {
		return fmt.Sprintf("pixels k=%d", s.K)
	}
	return fmt.Sprintf("global p=%d", s.K)
}

// NeuroDiffMNIST lists the paper's settings: k = 15, 18, 21, 24, 27 random pixels and p = 3 to 8 grey
// levels.
func NeuroDiffMNIST() []MNISTDiffSetting {
	var out []MNISTDiffSetting
	for _, k := range []int{15, 18, 21, 24, 27} {
		out = append(out, MNISTDiffSetting{"pixels", k})
	}
	for p := 3; p <= 8; p++ {
		out = append(out, MNISTDiffSetting{"global", p})
	}
	return out
}

// mnistDiffData is the network pair, the images (0-255), labels and random pixels of the data.
type mnistDiffData struct {
	a, b   *nn.Network
	images *datasets.Table
	labels *datasets.Table
	pixels *datasets.Table
}

func loadMNISTDiff() (*mnistDiffData, error) {
	dir, err := neuroDiffDir()
	if err != nil {
		return nil, err
	}
	m := &mnistDiffData{}
	if m.a, err = nnet.ReadFile(filepath.Join(dir, "mnist_nnet", "mnist_relu_3_100.nnet")); err != nil {
		return nil, err
	}
	if m.b, err = nnet.ReadFile(filepath.Join(dir, "mnist_nnet", "mnist_relu_3_100_16bit.nnet")); err != nil {
		return nil, err
	}
	if m.images, err = datasets.ReadCSVFile(filepath.Join(dir, "mnist_test_images.csv"), 784); err != nil {
		return nil, err
	}
	if m.labels, err = datasets.ReadCSVFile(filepath.Join(dir, "mnist_test_labels.csv"), 2); err != nil {
		return nil, err
	}
	if m.pixels, err = datasets.ReadCSVFile(filepath.Join(dir, "mnist_random_pixels.csv"), 31); err != nil {
		return nil, err
	}
	if m.images.Rows() != m.labels.Rows() || m.images.Rows() != m.pixels.Rows() {
		return nil, fmt.Errorf("NeuroDiff MNIST data: %d images, %d labels, %d pixel lists", m.images.Rows(), m.labels.Rows(), m.pixels.Rows())
	}
	return m, nil
}

// box is image i's input box under the setting, exactly as NeuroDiff's delta_network_test.c builds it.
func (m *mnistDiffData) box(s MNISTDiffSetting, i int) (property.Box, error) {
	img := m.images.Row(i)
	b := property.Box{Lo: make([]float64, 784), Hi: make([]float64, 784)}
	for k, p := range img {
		switch s.Kind {
		case "pixels":
			b.Lo[k], b.Hi[k] = p/255, p/255
		default:
			b.Lo[k], b.Hi[k] = math.Max((p-float64(s.K))/255, 0), math.Min((p+float64(s.K))/255, 1)
		}
	}
	if s.Kind == "pixels" {
		if s.K > 30 {
			return property.Box{}, fmt.Errorf("%s: the data lists 30 random pixels an image", s.Name())
		}
		for _, k := range m.pixels.Row(i)[1 : 1+s.K] {
			b.Lo[int(k)], b.Hi[int(k)] = 0, 1
		}
	}
	return b, nil
}

// MNISTDiffRow is one image's outcome in a setting.
type MNISTDiffRow struct {
	Setting string
	Image   int
	Result  diff.Result
	Err     string
}

// RunNeuroDiffMNIST decides, for the first images of the data (all 100 when images <= 0), |B_t - A_t| < 1
// at the image's label t on each setting's box, within opt.Timeout each, calling progress after each.
func RunNeuroDiffMNIST(ctx context.Context, settings []MNISTDiffSetting, images int, opt verify.Options, progress func(MNISTDiffRow)) ([]MNISTDiffRow, error) {
	m, err := loadMNISTDiff()
	if err != nil {
		return nil, err
	}
	if images <= 0 || images > m.images.Rows() {
		images = m.images.Rows()
	}
	var rows []MNISTDiffRow
	for _, s := range settings {
		for i := 0; i < images; i++ {
			if ctx.Err() != nil {
				return rows, nil
			}
			row := MNISTDiffRow{Setting: s.Name(), Image: i}
			box, err := m.box(s, i)
			if err == nil {
				t := int(m.labels.Row(i)[1])
				row.Result, err = diff.Verify(ctx, m.a, m.b, box, diff.Options{Eps: 1, Output: t, Verify: opt})
			}
			if err != nil {
				row.Err = err.Error()
			}
			rows = append(rows, row)
			if progress != nil {
				progress(row)
			}
		}
	}
	return rows, nil
}

// NeuroDiffMNISTMarkdown renders proved and seconds per setting.
func NeuroDiffMNISTMarkdown(settings []MNISTDiffSetting, rows []MNISTDiffRow, timeout time.Duration) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# NeuroDiff's MNIST experiments: mnist_relu_3_100 against its 16-bit copy\n\n")
	fmt.Fprintf(&b, "`birdnn bench neurodiff --mnist`: |B(x)_t - A(x)_t| < 1 at each image's label t, on the 100 images of `../shared/datasets/neurodiff/`; %v per image, 2 cores. NeuroDiff's published MNIST runs used mnist_relu_4_1024, which the data does not hold; the published 3 x 100 figure is 21 pixels, 100/100 in 1,004 s (ReluDiff+ 30/100).\n\n", timeout)
	fmt.Fprintf(&b, "| setting | images | proved | violated | unknown | total s | median s |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range settings {
		var secs []float64
		counts := map[verify.Verdict]int{}
		total := 0.0
		for _, r := range rows {
			if r.Setting != s.Name() || r.Err != "" {
				continue
			}
			counts[r.Result.Verdict]++
			total += r.Result.Seconds
			secs = append(secs, r.Result.Seconds)
		}
		if len(secs) == 0 {
			continue
		}
		slices.Sort(secs)
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.1f | %.2f |\n", s.Name(), len(secs), counts[verify.Certified], counts[verify.Violated], counts[verify.Unknown], total, secs[len(secs)/2])
	}
	return b.Bytes()
}
