package nn

// InputGrad returns the gradient with respect to the input x (one row) of gy·y(x), where y is the network's
// output at x: a plain-Go backward pass, for attacks and input-space searches.
func (n *Network) InputGrad(x, gy []float64) []float64 {
	pres := make([][]float64, len(n.Layers))
	args := make([][]int, len(n.Layers))
	cur := x
	for k := range n.Layers {
		l := &n.Layers[k]
		pre := make([]float64, l.Out)
		if l.Kind == MaxPool {
			args[k] = make([]int, l.Out)
		}
		l.apply(cur, pre, 1, args[k])
		pres[k] = pre
		post := append([]float64(nil), pre...)
		l.Act.Apply(post)
		cur = post
	}
	g := append([]float64(nil), gy...)
	for k := len(n.Layers) - 1; k >= 0; k-- {
		l := &n.Layers[k]
		for j := range g {
			g[j] *= l.Act.Deriv(pres[k][j])
		}
		if l.Kind != Dense {
			g = l.backImage(g, args[k])
			continue
		}
		in := make([]float64, l.In)
		for j, gj := range g {
			if gj == 0 {
				continue
			}
			w := l.W[j*l.In : (j+1)*l.In]
			for i := range in {
				in[i] += gj * w[i]
			}
		}
		g = in
	}
	return g
}
