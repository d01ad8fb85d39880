package main

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/birdnn/birdnn/attack"
	"github.com/birdnn/birdnn/internal/atomicfile"
)

// attackCmd is birdnn attack's flags.
type attackCmd struct {
	labelledFlags
	out                       string
	opt                       attack.Options
	limit                     int
	force, asJSON, withLabels bool
	trigger                   attack.Trigger
}

func newAttack() *cobra.Command {
	c := &attackCmd{}
	cmd := &cobra.Command{
		Use:   "attack --net FILE --data data:mnist/test|CSV [--labels CSV] [--method fgsm|pgd|trigger] [--eps E] [--out FILE.csv] [--json]",
		Short: "Make adversarial examples of a classifier (FGSM or PGD) and report the attack success rate",
		Long: `Attack each labelled input of --data that the network classifies correctly (the class being the output of
highest score): FGSM takes one step of --eps along the sign of the cross-entropy's gradient; PGD starts at a
random point of the L-infinity ball of radius --eps and takes --steps steps of --step-size, each projected
back onto the ball, stopping at the first success. --target T asks for class T instead of any wrong class.
--method trigger stamps a BadNets trigger (a --trigger-size square of --trigger-value, --trigger-margin
pixels from the bottom-right corner) on each image not of class --target: a backdoor's success rate.
Inputs stay in --range (default: the pixel range for data:mnist/*, [0, pixel scale]; unbounded for CSVs).
--eps is in the network's input units (for data:mnist/* with pixels in [0, 1], 0.05 is 5% of full scale).

Reports clean accuracy, accuracy under attack and the attack success rate (attacked inputs turned wrong);
--out writes the adversarial inputs as one CSV file (network units, one row an input); an existing file is
kept unless --force.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
	fl := cmd.Flags()
	c.register(cmd)
	fl.StringVar(&c.opt.Method, "method", "fgsm", "fgsm, pgd, or trigger (a BadNets stamp; give --target)")
	fl.IntVar(&c.trigger.Size, "trigger-size", 3, "the trigger method's square, in pixels")
	fl.IntVar(&c.trigger.Margin, "trigger-margin", 1, "its distance from the bottom and right edges")
	fl.Float64Var(&c.trigger.Value, "trigger-value", 1, "its pixels' value, in the network's input units")
	fl.BoolVar(&c.withLabels, "with-labels", false, "write each input's true label as the last CSV column (for a labelled repair set)")
	fl.StringVar(&c.opt.Loss, "loss", "ce", "what each step climbs: ce (cross-entropy) or margin (best wrong score minus the label's)")
	fl.Float64Var(&c.opt.Eps, "eps", 0, "the L-infinity radius, in the network's input units (fgsm, pgd)")
	fl.IntVar(&c.opt.Steps, "steps", 10, "PGD steps")
	fl.Float64Var(&c.opt.StepSize, "step-size", 0, "PGD step (default 2.5 eps / steps)")
	fl.IntVar(&c.opt.Target, "target", -1, "the class to reach (-1: any wrong class)")
	fl.Uint64Var(&c.opt.Seed, "seed", 1, "seed of PGD's random starts")
	fl.IntVar(&c.limit, "limit", 0, "attack only the first N inputs (0: all)")
	fl.StringVar(&c.out, "out", "", "the CSV file of adversarial inputs to write")
	fl.BoolVar(&c.force, "force", false, "overwrite --out if it exists")
	fl.BoolVar(&c.asJSON, "json", false, "print a JSON summary")
	return cmd
}

func (c *attackCmd) run(cmd *cobra.Command, _ []string) error {
	if err := refuseOverwrite(c.out, c.force); err != nil {
		return err
	}
	in, err := c.load()
	if err != nil {
		return err
	}
	net, tab, labels := in.net, in.tab, in.labels
	c.opt.Lo, c.opt.Hi = in.lo, in.hi
	if c.opt.Method == "trigger" {
		side := 1
		for side*side < net.Inputs() {
			side++
		}
		if side*side != net.Inputs() {
			return fmt.Errorf("--method trigger: %d inputs are not a square image", net.Inputs())
		}
		c.trigger.C, c.trigger.H, c.trigger.W = 1, side, side
		c.opt.Trigger = &c.trigger
	}
	x := tab.Data
	if c.limit > 0 && c.limit < len(labels) {
		x, labels = x[:c.limit*net.Inputs()], labels[:c.limit]
	}
	res, err := attack.Run(net, x, labels, c.opt)
	if err != nil {
		return err
	}
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	if c.out != "" {
		var b bytes.Buffer
		d := net.Inputs()
		for i := 0; i < d; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "x%d", i)
		}
		if c.withLabels {
			b.WriteString(",label")
		}
		b.WriteByte('\n')
		for r := 0; r < res.Rows; r++ {
			for i, v := range res.X[r*d : (r+1)*d] {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
			if c.withLabels {
				fmt.Fprintf(&b, ",%d", labels[r])
			}
			b.WriteByte('\n')
		}
		if err := atomicfile.WriteBytes(c.out, b.Bytes()); err != nil {
			return err
		}
	}
	if c.asJSON {
		return writeJSON(cmd.OutOrStdout(), map[string]any{"network": c.net, "data": c.data, "method": c.opt.Method, "loss": c.opt.Loss, "eps": c.opt.Eps,
			"target": c.opt.Target, "rows": res.Rows, "clean_accuracy": res.Clean, "robust_accuracy": res.Robust,
			"attacked": res.Attacked, "success_rate": res.Success, "out": c.out})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s eps %g on %d inputs: clean accuracy %.2f%%, under attack %.2f%%; attack success %.2f%% of %d attacked\n",
		c.opt.Method, c.opt.Eps, res.Rows, res.Clean, res.Robust, res.Success, res.Attacked)
	if c.out != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", c.out)
	}
	return nil
}
