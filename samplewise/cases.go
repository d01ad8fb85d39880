package samplewise

import (
	"strconv"
	"strings"

	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/train"
)

// caseSets groups inputs by the set of property cases whose boxes contain them. Boxes may overlap (several
// properties repaired together, e.g. ACAS Xu properties 2 and 8), and an input in two boxes must satisfy
// both cases, so its unsafe region is the union of theirs.
type caseSets struct {
	prop     *property.Property
	all      []property.Conjunction // every conjunction of every case, as train.Conjunctions lists them
	caseConj [][]int                // per case, its conjunctions' indices in all
	ids      map[string]int
	conj     [][]int           // per set, the indices of its conjunctions
	region   []property.Region // per set, the union of its cases' regions
}

func newCaseSets(prop *property.Property) *caseSets {
	all, caseConj := train.Conjunctions(prop)
	return &caseSets{prop: prop, all: all, caseConj: caseConj, ids: map[string]int{}}
}

// of returns the set of x's cases, or -1 when x lies in no box.
func (cs *caseSets) of(x []float64) int {
	var key strings.Builder
	cases := cs.prop.CasesOf(x)
	for _, i := range cases {
		key.WriteString(strconv.Itoa(i))
		key.WriteByte(',')
	}
	if len(cases) == 0 {
		return -1
	}
	if id, ok := cs.ids[key.String()]; ok {
		return id
	}
	var conj []int
	var region property.Region
	for _, i := range cases {
		conj = append(conj, cs.caseConj[i]...)
		region = append(region, cs.prop.Cases[i].Unsafe...)
	}
	id := len(cs.conj)
	cs.ids[key.String()] = id
	cs.conj = append(cs.conj, conj)
	cs.region = append(cs.region, region)
	return id
}
