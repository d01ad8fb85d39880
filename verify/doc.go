// Package verify computes sound bounds on a network's outputs over an input box (interval bound
// propagation, and linear relaxation with back-substitution in the CROWN / DeepPoly style) and decides
// properties with them, by branch and bound, with small boxes of piecewise-linear networks decided
// exactly by their linear regions.
//
// The files: verify.go is the API (Verify, Options, Result); search.go the branch-and-bound search (a
// stack of open boxes worked by a pool); branch.go how one box is decided and split; pace.go when a
// search that falls behind stops (Options.Grace, Options.Stall); bounds.go, alpha.go and symbolic.go
// the bounds; minimax.go the least upper bound of a box's mixed constraints; exact.go the exact decision
// of small boxes; counterexamples.go the search for many counterexamples.
//
// Soundness and floating point: every bound is widened by a stated margin, relMargin times the sum of the
// magnitudes of the terms that made it plus absMargin, which covers the rounding of float64 sums of the
// lengths found in fully connected networks (a sum of n terms is off by at most about n * 1.1e-16 times
// the sum of their magnitudes). A bound is therefore never tighter than the exact real-arithmetic bound
// of the computed relaxation. Back-substitution counts, at each layer, the magnitudes of the products
// that form the next coefficients as well as those of the constant's terms (see reach): a coefficient
// computed with cancellation can be far smaller than its rounding error.
package verify
