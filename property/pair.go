package property

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Pair is a VNN-LIB 2.0 property over two networks whose inputs are tied (each X_g[i] asserted equal to
// X_f[i]), as in VNN-COMP 2026's two-network ACAS Xu benchmark.
type Pair struct {
	// Name is the file's base name.
	Name string
	// Networks are the two declared networks' names, in the file's order; Relation is how the second is
	// declared against the first: "isomorphic-to", "equal-to" or "".
	Networks [2]string
	Relation string
	// Joint is the pair as one property: inputs the shared X, outputs the first network's Y followed by
	// the second's, and as its unsafe regions the output constraints as asserted (VNN-LIB's reading:
	// a model of all the assertions is a counterexample).
	Joint *Property
	// Eps is set when the output constraints say exactly |Y_g[i] - Y_f[i]| <= Eps[i] (+Inf where output
	// i is not constrained). The benchmark writes its property in this form and means it as what must
	// hold (its authors and VNN-COMP score "holds everywhere" as the expected answer), so for Eps the
	// unsafe region is |Y_g[i] - Y_f[i]| > Eps[i], not Joint's.
	Eps []float64
}

// IsPair reports whether a VNN-LIB text declares networks (VNN-LIB 2.0's declare-network), which Read
// does not take and ReadPair does.
func IsPair(src []byte) bool { return bytes.Contains(src, []byte("(declare-network")) }

// ReadPairFile reads the two-network VNN-LIB 2.0 file at path.
func ReadPairFile(path string) (*Pair, error) {
	p, name, err := readFile(path, ReadPair)
	if err != nil {
		return nil, err
	}
	p.Name, p.Joint.Name = name, name
	return p, nil
}

// pairVar is a VNN-LIB 2.0 variable with its indices: X_f[0], Y[1,2].
var pairVar = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\[([0-9, ]+)\]$`)

// tensor is a declared input or output: its network, kind and shape.
type tensor struct {
	network int // 0 or 1
	input   bool
	shape   []int
}

func (t tensor) size() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// ReadPair reads a VNN-LIB 2.0 property over two networks: (vnnlib-version <2.0>), two declare-network
// blocks of one declare-input and one declare-output each (an optional isomorphic-to or equal-to), and
// asserts over their variables in VNN-LIB 1.0's fragment (and, or, comparisons of linear terms). The
// second network's inputs must all be tied to the first's by (== X_f[i] X_g[i]); the rest is translated to
// one property over the shared inputs and both networks' outputs and read by Read.
func ReadPair(r io.Reader) (*Pair, error) {
	src, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	exprs, err := parseSexps(string(src))
	if err != nil {
		return nil, err
	}
	p := &Pair{}
	vars := map[string]tensor{}
	var decl [2][2]*tensor // [network][0 input, 1 output]
	var asserts []*sexp
	networks := 0
	for _, e := range exprs {
		if len(e.list) == 0 || e.list[0].isList() {
			return nil, fmt.Errorf("line %d: %s is not a command", e.line, e)
		}
		switch e.list[0].atom {
		case "vnnlib-version":
			if len(e.list) != 2 || e.list[1].atom != "<2.0>" {
				return nil, fmt.Errorf("line %d: version %s is not supported (<2.0> is)", e.line, e)
			}
		case "declare-network":
			if networks == 2 {
				return nil, fmt.Errorf("line %d: a third network (two are supported)", e.line)
			}
			if len(e.list) < 2 || e.list[1].isList() {
				return nil, fmt.Errorf("line %d: want (declare-network NAME ...)", e.line)
			}
			k := networks
			p.Networks[k] = e.list[1].atom
			networks++
			for _, d := range e.list[2:] {
				if !d.isList() || len(d.list) == 0 || d.list[0].isList() {
					return nil, fmt.Errorf("line %d: %s is not a declaration", d.line, d)
				}
				switch op := d.list[0].atom; op {
				case "declare-input", "declare-output":
					t, name, err := declaration(d)
					if err != nil {
						return nil, err
					}
					t.network, t.input = k, op == "declare-input"
					slot := 1
					if t.input {
						slot = 0
					}
					if decl[k][slot] != nil {
						return nil, fmt.Errorf("line %d: network %s declares a second %s (one is supported)", d.line, p.Networks[k], strings.TrimPrefix(op, "declare-"))
					}
					if _, dup := vars[name]; dup {
						return nil, fmt.Errorf("line %d: %s is declared twice", d.line, name)
					}
					vars[name] = t
					decl[k][slot] = &t
				case "isomorphic-to", "equal-to":
					if k != 1 || len(d.list) != 2 || d.list[1].atom != p.Networks[0] {
						return nil, fmt.Errorf("line %d: %s must name the first network from the second", d.line, d)
					}
					p.Relation = op
				default:
					return nil, fmt.Errorf("line %d: %q in a network declaration is not supported (declare-input, declare-output, isomorphic-to, equal-to are)", d.line, op)
				}
			}
		case "assert":
			if len(e.list) != 2 {
				return nil, fmt.Errorf("line %d: assert takes one formula", e.line)
			}
			asserts = append(asserts, e.list[1])
		default:
			return nil, fmt.Errorf("line %d: command %q is not supported here (vnnlib-version, declare-network, assert are)", e.line, e.list[0].atom)
		}
	}
	if networks != 2 {
		return nil, fmt.Errorf("%d networks declared; want two", networks)
	}
	for k := range decl {
		if decl[k][0] == nil || decl[k][1] == nil {
			return nil, fmt.Errorf("network %s needs one declare-input and one declare-output", p.Networks[k])
		}
	}
	nin, nout := decl[0][0].size(), decl[0][1].size()
	if decl[1][0].size() != nin {
		return nil, fmt.Errorf("the networks take %d and %d inputs; tied inputs need the same number", nin, decl[1][0].size())
	}
	m2 := decl[1][1].size()

	// Ties first: every input of the second network equal to the same input of the first.
	tied := make([]bool, nin)
	var rest []*sexp
	for _, a := range asserts {
		if i, j, ok, err := tie(a, vars); err != nil {
			return nil, err
		} else if ok {
			if i != j {
				return nil, fmt.Errorf("line %d: %s ties different inputs (inputs are tied index by index)", a.line, a)
			}
			tied[i] = true
			continue
		}
		rest = append(rest, a)
	}
	for i, ok := range tied {
		if !ok {
			return nil, fmt.Errorf("input %d of network %s is not tied to network %s's (only tied inputs are supported)", i, p.Networks[1], p.Networks[0])
		}
	}
	// The translation to VNN-LIB 1.0 over the shared inputs and the joint outputs.
	var b strings.Builder
	for i := 0; i < nin; i++ {
		fmt.Fprintf(&b, "(declare-const X_%d Real)\n", i)
	}
	for j := 0; j < nout+m2; j++ {
		fmt.Fprintf(&b, "(declare-const Y_%d Real)\n", j)
	}
	for _, a := range rest {
		t, err := translate(a, vars, nout)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "(assert %s)\n", t)
	}
	p.Joint, err = Read(strings.NewReader(b.String()))
	if err != nil {
		return nil, err
	}
	if nout == m2 {
		p.Eps = equivalence(p.Joint, nout)
	}
	return p, nil
}

// declaration reads (declare-input NAME TYPE [d1,d2,...]).
func declaration(d *sexp) (tensor, string, error) {
	if len(d.list) < 4 || d.list[1].isList() {
		return tensor{}, "", fmt.Errorf("line %d: want (%s NAME TYPE [SHAPE])", d.line, d.list[0].atom)
	}
	var shape strings.Builder
	for _, s := range d.list[3:] {
		if s.isList() {
			return tensor{}, "", fmt.Errorf("line %d: %s is not a shape", d.line, s)
		}
		shape.WriteString(s.atom)
	}
	sh := shape.String()
	if !strings.HasPrefix(sh, "[") || !strings.HasSuffix(sh, "]") {
		return tensor{}, "", fmt.Errorf("line %d: shape %q is not [d1,d2,...]", d.line, sh)
	}
	t := tensor{}
	for _, f := range strings.Split(sh[1:len(sh)-1], ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 1<<20 {
			return tensor{}, "", fmt.Errorf("line %d: shape %q is not [d1,d2,...] of positive sizes", d.line, sh)
		}
		t.shape = append(t.shape, n)
	}
	if t.size() > 1<<20 {
		return tensor{}, "", fmt.Errorf("line %d: shape %q is too large", d.line, sh)
	}
	return t, d.list[1].atom, nil
}

// element resolves an atom such as X_f[3] or Y[1,0] to its declared tensor and flat (row-major) index.
func element(atom string, vars map[string]tensor, line int) (tensor, int, bool, error) {
	m := pairVar.FindStringSubmatch(atom)
	if m == nil {
		return tensor{}, 0, false, nil
	}
	t, ok := vars[m[1]]
	if !ok {
		return tensor{}, 0, false, fmt.Errorf("line %d: %s is not declared", line, m[1])
	}
	idx := strings.Split(m[2], ",")
	if len(idx) != len(t.shape) {
		return tensor{}, 0, false, fmt.Errorf("line %d: %s has %d indices for a tensor of %d dimensions", line, atom, len(idx), len(t.shape))
	}
	flat := 0
	for k, s := range idx {
		i, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || i < 0 || i >= t.shape[k] {
			return tensor{}, 0, false, fmt.Errorf("line %d: %s is out of range", line, atom)
		}
		flat = flat*t.shape[k] + i
	}
	return t, flat, true, nil
}

// tie recognizes (== X_f[i] X_g[j]) (either order, = or ==) between the two networks' inputs.
func tie(a *sexp, vars map[string]tensor) (i, j int, ok bool, err error) {
	if !a.isList() || len(a.list) != 3 || (a.list[0].atom != "==" && a.list[0].atom != "=") || a.list[1].isList() || a.list[2].isList() {
		return 0, 0, false, nil
	}
	t1, i1, ok1, err := element(a.list[1].atom, vars, a.line)
	if err != nil {
		return 0, 0, false, err
	}
	t2, i2, ok2, err := element(a.list[2].atom, vars, a.line)
	if err != nil {
		return 0, 0, false, err
	}
	if !ok1 || !ok2 || !t1.input || !t2.input || t1.network == t2.network {
		return 0, 0, false, nil
	}
	if t1.network == 1 {
		i1, i2 = i2, i1
	}
	return i1, i2, true, nil
}

// translate rewrites a formula into VNN-LIB 1.0's variables: inputs of either network to X_i (they are
// tied), the first network's outputs to Y_j and the second's to Y_{nout+j}; == to =.
func translate(e *sexp, vars map[string]tensor, nout int) (string, error) {
	if !e.isList() {
		t, i, ok, err := element(e.atom, vars, e.line)
		switch {
		case err != nil:
			return "", err
		case !ok:
			if e.atom == "==" {
				return "=", nil
			}
			return e.atom, nil
		case t.input:
			return fmt.Sprintf("X_%d", i), nil
		case t.network == 0:
			return fmt.Sprintf("Y_%d", i), nil
		default:
			return fmt.Sprintf("Y_%d", nout+i), nil
		}
	}
	parts := make([]string, len(e.list))
	for k, s := range e.list {
		t, err := translate(s, vars, nout)
		if err != nil {
			return "", err
		}
		parts[k] = t
	}
	return "(" + strings.Join(parts, " ") + ")", nil
}

// equivalence returns eps per output when the joint property's only output conjunction consists of
// Y_g[i] - Y_f[i] <= e_i and Y_f[i] - Y_g[i] <= e_i (up to a positive scale), both sides with one e_i,
// on every case; nil otherwise.
func equivalence(joint *Property, m int) []float64 {
	var eps []float64
	for _, c := range joint.Cases {
		if len(c.Unsafe) != 1 {
			return nil
		}
		up, down := make([]float64, m), make([]float64, m)
		for i := range up {
			up[i], down[i] = math.NaN(), math.NaN()
		}
		for _, k := range c.Unsafe[0] {
			i, s, ok := differenceRow(k.Coef, m)
			if !ok {
				return nil
			}
			e := k.Bound / math.Abs(s)
			side := up
			if s < 0 {
				side = down
			}
			if !math.IsNaN(side[i]) && side[i] != e {
				return nil
			}
			side[i] = e
		}
		cur := make([]float64, m)
		for i := range cur {
			switch {
			case math.IsNaN(up[i]) && math.IsNaN(down[i]):
				cur[i] = math.Inf(1)
			case up[i] != down[i] || !(up[i] >= 0):
				return nil
			default:
				cur[i] = up[i]
			}
		}
		if eps == nil {
			eps = cur
		}
		for i := range eps {
			if eps[i] != cur[i] {
				return nil
			}
		}
	}
	return eps
}

// differenceRow recognizes coefficients s on Y_g[i] and -s on Y_f[i] and zero elsewhere.
func differenceRow(coef []float64, m int) (i int, s float64, ok bool) {
	i = -1
	for k := 0; k < m; k++ {
		f, g := coef[k], coef[m+k]
		switch {
		case f == 0 && g == 0:
		case i < 0 && g != 0 && f == -g:
			i, s = k, g
		default:
			return 0, 0, false
		}
	}
	return i, s, i >= 0
}

// errNotPair is what Read says of a VNN-LIB 2.0 two-network file.
var errNotPair = errors.New("the file declares networks (VNN-LIB 2.0's two-network form): read it with ReadPair (birdnn diff --prop takes it)")
