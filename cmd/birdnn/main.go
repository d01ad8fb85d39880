// Command birdnn repairs neural networks that violate safety properties, and checks the result.
//
// Run "birdnn help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes: a verdict of birdnn verify, or of birdnn repair in domain mode.
const (
	exitCertified = 0
	exitViolated  = 10
	exitUnknown   = 20
	// exitInterrupted is the shell's code for a command ended by Ctrl-C (128 + SIGINT).
	exitInterrupted = 130
)

// exitError carries a specific exit code (e.g. a verdict) out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// stopProfile ends a CPU profile started by --cpuprofile; main calls it however the command ended.
var stopProfile = func() {}

func main() {
	// Ctrl-C (or SIGTERM) ends the context: a command stops its work and writes no partial output.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRoot()
	err := root.ExecuteContext(ctx)
	stop()
	stopProfile()
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if errors.Is(err, context.Canceled) {
			err, code = fmt.Errorf("interrupted: nothing written for the work under way"), exitInterrupted
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
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		stopProfile = func() {
			pprof.StopCPUProfile()
			f.Close()
		}
		return nil
	}
	root.AddCommand(newInspect(), newEval(), newAttack(), newProperty(), newDiff(), newConvert(), newRepair(), newBench(), newVerify(), newTrain())
	return root
}
