//go:build !amd64

package activation

var hasVec = false

func sigmoidVec(xs *float64, n int, consts *[20][4]uint64, table *[expTableSize]float64) int {
	return 0
}
func tanhVec(xs *float64, n int, consts *[20][4]uint64, table *[expTableSize]float64) int { return 0 }

var vecConsts [20][4]uint64
