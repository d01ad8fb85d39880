package property

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// maxDisjuncts bounds the size of the disjunctive normal form a file may expand to.
const maxDisjuncts = 1 << 16

// ReadFile reads the VNN-LIB file at path.
func ReadFile(path string) (*Property, error) {
	p, name, err := readFile(path, Read)
	if err != nil {
		return nil, err
	}
	p.Name = name
	return p, nil
}

// readFile opens path and reads it with read, naming errors by the path; name is the file's base name
// without its extension.
func readFile[T any](path string, read func(io.Reader) (T, error)) (v T, name string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return v, "", err
	}
	defer f.Close()
	if v, err = read(f); err != nil {
		return v, "", fmt.Errorf("%s: %w", path, err)
	}
	return v, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), nil
}

// sexp is a parsed S-expression: an atom or a list.
type sexp struct {
	atom string
	list []*sexp
	line int
}

func (s *sexp) isList() bool { return s.atom == "" }

func (s *sexp) String() string {
	if !s.isList() {
		return s.atom
	}
	parts := make([]string, len(s.list))
	for i, e := range s.list {
		parts[i] = e.String()
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// parseSexps reads every top-level S-expression of src; ';' starts a comment that runs to the end of
// the line.
func parseSexps(src string) ([]*sexp, error) {
	line := 1
	var stack [][]*sexp
	var lines []int
	var top []*sexp
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == ';':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '(':
			if len(stack) > 256 {
				return nil, fmt.Errorf("line %d: expressions nested too deeply", line)
			}
			stack = append(stack, nil)
			lines = append(lines, line)
			i++
		case c == ')':
			if len(stack) == 0 {
				return nil, fmt.Errorf("line %d: unbalanced ')'", line)
			}
			e := &sexp{list: stack[len(stack)-1], line: lines[len(lines)-1]}
			stack, lines = stack[:len(stack)-1], lines[:len(lines)-1]
			if len(stack) == 0 {
				top = append(top, e)
			} else {
				stack[len(stack)-1] = append(stack[len(stack)-1], e)
			}
			i++
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n();", rune(src[j])) {
				j++
			}
			a := &sexp{atom: src[i:j], line: line}
			if len(stack) == 0 {
				return nil, fmt.Errorf("line %d: %q outside parentheses", line, a.atom)
			}
			stack[len(stack)-1] = append(stack[len(stack)-1], a)
			i = j
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("line %d: file ends inside an expression opened on line %d", line, lines[len(lines)-1])
	}
	return top, nil
}

var varName = regexp.MustCompile(`^([XY])_(\d+)$`)

// linear is a linear expression over the input (X) and output (Y) variables plus a constant.
type linear struct {
	x, y map[int]float64
	c    float64
}

func newLinear() *linear { return &linear{x: map[int]float64{}, y: map[int]float64{}} }

func (l *linear) add(o *linear, s float64) {
	for k, v := range o.x {
		l.x[k] += s * v
	}
	for k, v := range o.y {
		l.y[k] += s * v
	}
	l.c += s * o.c
}

func (l *linear) isConst() bool {
	for _, v := range l.x {
		if v != 0 {
			return false
		}
	}
	for _, v := range l.y {
		if v != 0 {
			return false
		}
	}
	return true
}

// atom is one constraint lin <= 0.
type atom struct {
	lin  *linear
	line int
}

// dnf is a disjunction of conjunctions of atoms.
type dnf [][]atom

type parser struct {
	inputs, outputs map[int]bool
}

func (p *parser) term(e *sexp) (*linear, error) {
	if !e.isList() {
		if m := varName.FindStringSubmatch(e.atom); m != nil {
			idx, _ := strconv.Atoi(m[2])
			l := newLinear()
			if m[1] == "X" {
				if !p.inputs[idx] {
					return nil, fmt.Errorf("line %d: %s is not declared", e.line, e.atom)
				}
				l.x[idx] = 1
			} else {
				if !p.outputs[idx] {
					return nil, fmt.Errorf("line %d: %s is not declared", e.line, e.atom)
				}
				l.y[idx] = 1
			}
			return l, nil
		}
		v, err := strconv.ParseFloat(e.atom, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("line %d: %q is neither a number nor a declared variable", e.line, e.atom)
		}
		l := newLinear()
		l.c = v
		return l, nil
	}
	if len(e.list) < 2 || e.list[0].isList() {
		return nil, fmt.Errorf("line %d: %s is not a term", e.line, e)
	}
	args := make([]*linear, len(e.list)-1)
	for i, a := range e.list[1:] {
		t, err := p.term(a)
		if err != nil {
			return nil, err
		}
		args[i] = t
	}
	out := newLinear()
	switch e.list[0].atom {
	case "+":
		for _, a := range args {
			out.add(a, 1)
		}
	case "-":
		if len(args) == 1 {
			out.add(args[0], -1)
			break
		}
		out.add(args[0], 1)
		for _, a := range args[1:] {
			out.add(a, -1)
		}
	case "*":
		// A product is linear when all factors but at most one are constants.
		scale := 1.0
		var v *linear
		for _, a := range args {
			if a.isConst() {
				scale *= a.c
				continue
			}
			if v != nil {
				return nil, fmt.Errorf("line %d: %s multiplies variables (only linear terms are supported)", e.line, e)
			}
			v = a
		}
		if v == nil {
			out.c = scale
		} else {
			out.add(v, scale)
		}
	default:
		return nil, fmt.Errorf("line %d: operator %q is not supported in terms (+, -, * are)", e.line, e.list[0].atom)
	}
	return out, nil
}

func (p *parser) formula(e *sexp) (dnf, error) {
	if !e.isList() || len(e.list) == 0 || e.list[0].isList() {
		return nil, fmt.Errorf("line %d: %s is not a formula", e.line, e)
	}
	op, args := e.list[0].atom, e.list[1:]
	switch op {
	case "and":
		out := dnf{nil}
		for _, a := range args {
			d, err := p.formula(a)
			if err != nil {
				return nil, err
			}
			if len(out)*len(d) > maxDisjuncts {
				return nil, fmt.Errorf("line %d: the formula expands to more than %d cases", e.line, maxDisjuncts)
			}
			next := make(dnf, 0, len(out)*len(d))
			for _, c1 := range out {
				for _, c2 := range d {
					next = append(next, append(append([]atom(nil), c1...), c2...))
				}
			}
			out = next
		}
		return out, nil
	case "or":
		var out dnf
		for _, a := range args {
			d, err := p.formula(a)
			if err != nil {
				return nil, err
			}
			out = append(out, d...)
			if len(out) > maxDisjuncts {
				return nil, fmt.Errorf("line %d: the formula expands to more than %d cases", e.line, maxDisjuncts)
			}
		}
		return out, nil
	case "<=", ">=", "<", ">", "=":
		if len(args) != 2 {
			return nil, fmt.Errorf("line %d: %s takes 2 terms, found %d", e.line, op, len(args))
		}
		a, err := p.term(args[0])
		if err != nil {
			return nil, err
		}
		b, err := p.term(args[1])
		if err != nil {
			return nil, err
		}
		// a <= b  <=>  a - b <= 0. Strict inequalities are read as non-strict, which can only enlarge the
		// unsafe region (sound for verification).
		le := newLinear()
		le.add(a, 1)
		le.add(b, -1)
		ge := newLinear()
		ge.add(b, 1)
		ge.add(a, -1)
		switch op {
		case "<=", "<":
			return dnf{{{le, e.line}}}, nil
		case ">=", ">":
			return dnf{{{ge, e.line}}}, nil
		default:
			return dnf{{{le, e.line}, {ge, e.line}}}, nil
		}
	}
	return nil, fmt.Errorf("line %d: %q is not supported (and, or, <=, >=, <, >, = are)", e.line, op)
}

// Read reads a property in the VNN-LIB subset that VNN-COMP uses: declare-const of X_i and Y_j, assert,
// and, or, comparisons of linear terms. Input constraints must bound single variables, giving one input box
// per disjunct; output constraints give the unsafe region.
func Read(r io.Reader) (*Property, error) {
	src, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	if IsPair(src) {
		return nil, errNotPair
	}
	exprs, err := parseSexps(string(src))
	if err != nil {
		return nil, err
	}
	p := &parser{inputs: map[int]bool{}, outputs: map[int]bool{}}
	formula := dnf{nil}
	asserted := false
	for _, e := range exprs {
		if len(e.list) == 0 || e.list[0].isList() {
			return nil, fmt.Errorf("line %d: %s is not a command", e.line, e)
		}
		switch e.list[0].atom {
		case "declare-const":
			if len(e.list) != 3 || e.list[1].isList() || e.list[2].isList() {
				return nil, fmt.Errorf("line %d: want (declare-const NAME Real)", e.line)
			}
			if e.list[2].atom != "Real" {
				return nil, fmt.Errorf("line %d: type %q is not supported (Real is)", e.line, e.list[2].atom)
			}
			m := varName.FindStringSubmatch(e.list[1].atom)
			if m == nil {
				return nil, fmt.Errorf("line %d: variable %q must be named X_i (input) or Y_j (output)", e.line, e.list[1].atom)
			}
			idx, _ := strconv.Atoi(m[2])
			if idx > 1<<20 {
				return nil, fmt.Errorf("line %d: index of %s is too large", e.line, e.list[1].atom)
			}
			if m[1] == "X" {
				p.inputs[idx] = true
			} else {
				p.outputs[idx] = true
			}
		case "assert":
			if len(e.list) != 2 {
				return nil, fmt.Errorf("line %d: assert takes one formula", e.line)
			}
			d, err := p.formula(e.list[1])
			if err != nil {
				return nil, err
			}
			if len(formula)*len(d) > maxDisjuncts {
				return nil, fmt.Errorf("line %d: the property expands to more than %d cases", e.line, maxDisjuncts)
			}
			next := make(dnf, 0, len(formula)*len(d))
			for _, c1 := range formula {
				for _, c2 := range d {
					next = append(next, append(append([]atom(nil), c1...), c2...))
				}
			}
			formula = next
			asserted = true
		default:
			return nil, fmt.Errorf("line %d: command %q is not supported (declare-const, assert are)", e.line, e.list[0].atom)
		}
	}
	if !asserted {
		return nil, errors.New("no assertions")
	}
	nin, err := contiguous(p.inputs, "X")
	if err != nil {
		return nil, err
	}
	nout, err := contiguous(p.outputs, "Y")
	if err != nil {
		return nil, err
	}
	prop := &Property{Inputs: nin, Outputs: nout}
	for _, conj := range formula {
		box, region, ok, err := split(conj, nin, nout)
		if err != nil {
			return nil, err
		}
		if ok {
			prop.add(box, region)
		}
	}
	if len(prop.Cases) == 0 {
		return nil, errors.New("every case of the property has an empty input box or an unsatisfiable output constraint")
	}
	prop.indexPoints()
	return prop, nil
}

// contiguous checks that the declared indices are 0..n-1 and returns n.
func contiguous(idx map[int]bool, name string) (int, error) {
	n := len(idx)
	if n == 0 {
		return 0, fmt.Errorf("no %s variables declared", name)
	}
	for i := 0; i < n; i++ {
		if !idx[i] {
			return 0, fmt.Errorf("%s variables must be %s_0 to %s_%d; %s_%d is missing", name, name, name, n-1, name, i)
		}
	}
	return n, nil
}

// split turns one conjunction of atoms into an input box and an output conjunction. ok is false when the
// case is empty (a box with lower > upper, or a constant constraint that is false).
func split(conj []atom, nin, nout int) (Box, Conjunction, bool, error) {
	box := Box{Lo: make([]float64, nin), Hi: make([]float64, nin)}
	for i := range box.Lo {
		box.Lo[i], box.Hi[i] = math.Inf(-1), math.Inf(1)
	}
	var out Conjunction
	for _, a := range conj {
		hasX, hasY := !a.lin.xZero(), !a.lin.yZero()
		switch {
		case hasX && hasY:
			return Box{}, nil, false, fmt.Errorf("line %d: a constraint mixes inputs and outputs (not supported)", a.line)
		case hasX:
			var idx []int
			for k, v := range a.lin.x {
				if v != 0 {
					idx = append(idx, k)
				}
			}
			if len(idx) > 1 {
				return Box{}, nil, false, fmt.Errorf("line %d: an input constraint over several variables (the input set must be a box)", a.line)
			}
			k, coef := idx[0], a.lin.x[idx[0]]
			bound := -a.lin.c / coef
			if coef > 0 { // coef*x + c <= 0  =>  x <= -c/coef
				box.Hi[k] = math.Min(box.Hi[k], bound)
			} else {
				box.Lo[k] = math.Max(box.Lo[k], bound)
			}
		case hasY:
			c := Constraint{Coef: make([]float64, nout), Bound: 0 - a.lin.c} // 0 - c avoids a -0 bound
			for k, v := range a.lin.y {
				c.Coef[k] = v
			}
			out = append(out, c)
		default:
			if a.lin.c > 0 { // constant c <= 0 is false
				return Box{}, nil, false, nil
			}
		}
	}
	for i := range box.Lo {
		if math.IsInf(box.Lo[i], 0) || math.IsInf(box.Hi[i], 0) {
			return Box{}, nil, false, fmt.Errorf("input X_%d is not bounded on both sides", i)
		}
		if box.Lo[i] > box.Hi[i] {
			return Box{}, nil, false, nil
		}
	}
	return box, out, true, nil
}

func (l *linear) xZero() bool {
	for _, v := range l.x {
		if v != 0 {
			return false
		}
	}
	return true
}

func (l *linear) yZero() bool {
	for _, v := range l.y {
		if v != 0 {
			return false
		}
	}
	return true
}
