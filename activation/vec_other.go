//go:build !amd64

package activation

var hasVec = false

func sigmoidVec(xs *float64, n int, consts *[vecRows][4]uint64, table *[expTableSize]float64) int {
	return 0
}
func tanhVec(xs *float64, n int, consts *[vecRows][4]uint64, table *[expTableSize]float64) int {
	return 0
}

var vecConsts [vecRows][4]uint64

func eluVec(xs *float64, n int, consts *[vecRows][4]uint64, table *[expTableSize]float64, alpha *float64) int {
	return 0
}
