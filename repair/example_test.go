package repair_test

import (
	"context"
	"fmt"
	"log"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/repair"
)

// Repair the built-in demo network domain-wise: retrain it until the verifier certifies the property on
// its whole input box.
func Example() {
	y, err := configs.Get("demo")
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", y, []string{"mode=domain", "paradigm=retrain", "eval.drift_seconds=1"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := repair.Run(context.Background(), cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("certified:", res.Report.Certified())
	fmt.Println("repair success:", res.Report.RepairSuccessRate.Percent())
	// Output:
	// certified: true
	// repair success: 100.00%
}

// Repair the demo network with a local patch: an output offset on the property's box, switched on by a box
// indicator, so that the network is the original outside the box and its thin band (the box, 0.5 x 0.5,
// widened by 0.002 on each side, is 0.504^2 / 4 = 6.35% of the domain [-1, 1]^2).
func Example_patch() {
	y, err := configs.Get("demo")
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", y, []string{"mode=domain", "paradigm=patch", "eval.drift_seconds=0"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := repair.Run(context.Background(), cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	pt := res.Report.Domain.Patch
	fmt.Println("certified:", res.Report.Certified())
	fmt.Printf("%d box patched, %d hidden neurons added, the original's outputs on %.2f%% of the domain\n", len(pt.Boxes), pt.AddedNeurons, pt.Untouched)
	// Output:
	// certified: true
	// 1 box patched, 5 hidden neurons added, the original's outputs on 93.65% of the domain
}
