// Command birdnn repairs neural networks that violate safety properties, and checks the result.
//
// Run "birdnn help" for the commands.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit code (e.g. a verdict) out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if err.Error() != "" {
			fmt.Fprintln(os.Stderr, "birdnn:", err)
		}
		os.Exit(code)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "birdnn",
		Short:         "Repair neural networks that violate safety properties, and prove what can be proved",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInspect(), newEval(), newConvert(), newRepair())
	return root
}
