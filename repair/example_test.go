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
	cfg, err := configs.LoadRepair("", y, []string{"mode=domain", "paradigm=retrain"})
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
