package activation

import (
	"math"

	"golang.org/x/sys/cpu"
)

// hasVec reports whether sigmoid, tanh and elu may run four values at a time (AVX2 here).
var hasVec = cpu.X86.HasAVX2

// vecConsts are the constants of the vector loops, each four times (one 32-byte row, loaded as a vector
// operand): the layout is vec_amd64.s's.
var vecConsts = func() (c [vecRows][4]uint64) {
	f := []float64{
		expInvStep, expShift, expStepHi, expStepLo, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2,
		expFastLimit, 0, 0, 1, -2, 1.0 / 32, 62.0 / 2835, -17.0 / 315, 2.0 / 15, -1.0 / 3, 0, expFastLimit / 2,
		expm1Switch, 1.0 / 87178291200, 1.0 / 6227020800,
	}
	f = append(f, expm1Coef[:]...)
	for i, v := range f {
		for j := range c[i] {
			c[i][j] = math.Float64bits(v)
		}
	}
	for j := range 4 {
		c[9][j] = 1<<63 - 1         // |x| mask
		c[10][j] = expTableSize - 1 // table index mask
		c[18][j] = 1 << 63          // sign mask
	}
	return c
}()

// sigmoidVec computes sigmoid in place on xs[0:n], four values at a time, as sigmoid does, to the bit,
// while every value of a group of four is in exp's fast range (|x| <= 700); it returns how many it
// computed (a multiple of 4): it stops before fewer than 4 values, or before a group with a value out
// of range (or NaN).
//
//go:noescape
func sigmoidVec(xs *float64, n int, consts *[vecRows][4]uint64, table *[expTableSize]float64) int

// tanhVec computes tanh in place as the loop of Apply does, to the bit, with the same contract as
// sigmoidVec (the range: |x| <= 350, so that e^-2|x| is in exp's fast range).
//
//go:noescape
func tanhVec(xs *float64, n int, consts *[vecRows][4]uint64, table *[expTableSize]float64) int

// eluVec computes elu with alpha *alpha in place as the loop of Apply does, to the bit, with the same
// contract as sigmoidVec (the range: x >= -700, so that e^x is in exp's fast range).
//
//go:noescape
func eluVec(xs *float64, n int, consts *[vecRows][4]uint64, table *[expTableSize]float64, alpha *float64) int
