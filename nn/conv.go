package nn

import (
	"errors"
	"fmt"
	"runtime"

	"gonum.org/v1/gonum/blas"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/internal/gemm"
	"github.com/birdnn/birdnn/internal/par"
)

// Kind is what a layer computes.
type Kind int

// The layer kinds. Data between layers is always one flat row an example; image layers read and write it
// as channels, then rows, then columns (NCHW, as ONNX and its Flatten do).
const (
	// Dense is a fully connected layer: Out = Act(W*In + B).
	Dense Kind = iota
	// Conv is a 2-D convolution (a cross-correlation, as in ONNX and Keras): Geom.OutC kernels of
	// Geom.InC x Geom.KH x Geom.KW weights, one bias each, with Geom.Stride and zero padding Geom.Pad.
	Conv
	// MaxPool and AvgPool take the maximum or the mean of each Geom.KH x Geom.KW window of each channel,
	// with Geom.Stride (no padding, no weights).
	MaxPool
	AvgPool
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Dense:
		return "dense"
	case Conv:
		return "conv"
	case MaxPool:
		return "maxpool"
	case AvgPool:
		return "avgpool"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Geom is the geometry of an image layer (Conv, MaxPool, AvgPool): its input and output images and its
// window. Pooling layers keep the channels (OutC = InC).
type Geom struct {
	InC, InH, InW    int
	OutC, OutH, OutW int
	KH, KW           int
	Stride, Pad      int
}

// NewConv returns the geometry of a convolution of an inC x h x w image by outC kernels of kh x kw, with
// stride and zero padding pad, or an error when the window does not fit.
func NewConv(inC, h, w, outC, kh, kw, stride, pad int) (Geom, error) {
	g := Geom{InC: inC, InH: h, InW: w, OutC: outC, KH: kh, KW: kw, Stride: stride, Pad: pad}
	return g, g.size()
}

// NewPool returns the geometry of a pooling of a c x h x w image by windows of kh x kw with stride.
func NewPool(c, h, w, kh, kw, stride int) (Geom, error) {
	g := Geom{InC: c, InH: h, InW: w, OutC: c, KH: kh, KW: kw, Stride: stride}
	return g, g.size()
}

// size computes the output image's height and width.
func (g *Geom) size() error {
	if g.InC < 1 || g.InH < 1 || g.InW < 1 || g.OutC < 1 || g.KH < 1 || g.KW < 1 || g.Stride < 1 || g.Pad < 0 {
		return fmt.Errorf("image layer %+v: sizes, window and stride must be positive, padding not negative", *g)
	}
	g.OutH = (g.InH+2*g.Pad-g.KH)/g.Stride + 1
	g.OutW = (g.InW+2*g.Pad-g.KW)/g.Stride + 1
	if g.InH+2*g.Pad < g.KH || g.InW+2*g.Pad < g.KW {
		return fmt.Errorf("window %dx%d does not fit the %dx%d image (padding %d)", g.KH, g.KW, g.InH, g.InW, g.Pad)
	}
	return nil
}

// Ins and Outs are the sizes of the layer's input and output rows.
func (g Geom) Ins() int  { return g.InC * g.InH * g.InW }
func (g Geom) Outs() int { return g.OutC * g.OutH * g.OutW }

// ConvLayer returns a convolution layer of geometry g with kernels w (OutC x InC x KH x KW, row-major)
// and biases b (one a kernel).
func ConvLayer(g Geom, w, b []float64, act activation.Activation) Layer {
	return Layer{Kind: Conv, Geom: g, In: g.Ins(), Out: g.Outs(), W: w, B: b, Act: act}
}

// PoolLayer returns a max or average pooling layer of geometry g.
func PoolLayer(kind Kind, g Geom) Layer {
	return Layer{Kind: kind, Geom: g, In: g.Ins(), Out: g.Outs(), Act: activation.Identity}
}

// AllDense reports whether every layer is fully connected: what .nnet files, the verifier, training and
// repair take today.
func (n *Network) AllDense() bool {
	for _, l := range n.Layers {
		if l.Kind != Dense {
			return false
		}
	}
	return true
}

// ErrNotDense says a network has image layers where only fully connected ones are supported.
var ErrNotDense = errors.New("the network has convolution or pooling layers; only fully connected networks are supported here so far")

// validateImage checks an image layer's sizes and parameters.
func (l *Layer) validateImage() error {
	g := l.Geom
	gg := g
	if err := gg.size(); err != nil {
		return err
	}
	if gg.OutH != g.OutH || gg.OutW != g.OutW || l.In != g.Ins() || l.Out != g.Outs() {
		return fmt.Errorf("%s geometry %+v does not give sizes %d -> %d", l.Kind, g, l.In, l.Out)
	}
	switch l.Kind {
	case Conv:
		if len(l.W) != g.OutC*g.InC*g.KH*g.KW || len(l.B) != g.OutC {
			return fmt.Errorf("conv: %d weights and %d biases, want %d and %d", len(l.W), len(l.B), g.OutC*g.InC*g.KH*g.KW, g.OutC)
		}
	case MaxPool, AvgPool:
		if g.OutC != g.InC || len(l.W) != 0 || len(l.B) != 0 {
			return fmt.Errorf("%s: keeps the channels and has no weights", l.Kind)
		}
	default:
		return fmt.Errorf("unknown layer kind %d", int(l.Kind))
	}
	return nil
}

// im2col writes, for one example's image x (InC x InH x InW), the patches as the columns of a K x P
// matrix, K = InC*KH*KW window positions by P = OutH*OutW outputs, row-major (zeros where the window
// leaves the padded image): row (c, ky, kx) holds that input pixel of every output's window, so each
// row is written in order, and with stride 1 its in-range stretch is one copy of an image row.
func (g Geom) im2col(x, cols []float64) {
	p := g.OutH * g.OutW
	i := 0
	for c := 0; c < g.InC; c++ {
		img := x[c*g.InH*g.InW : (c+1)*g.InH*g.InW]
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				row := cols[i*p : (i+1)*p]
				i++
				// The outputs ox whose input column ox*Stride + kx - Pad lies in the image.
				lo, hi := 0, g.OutW
				for lo < hi && lo*g.Stride+kx-g.Pad < 0 {
					lo++
				}
				for hi > lo && (hi-1)*g.Stride+kx-g.Pad >= g.InW {
					hi--
				}
				for oy := 0; oy < g.OutH; oy++ {
					seg := row[oy*g.OutW : (oy+1)*g.OutW]
					y := oy*g.Stride + ky - g.Pad
					if y < 0 || y >= g.InH {
						clear(seg)
						continue
					}
					clear(seg[:lo])
					clear(seg[hi:])
					src := img[y*g.InW:]
					if g.Stride == 1 {
						copy(seg[lo:hi], src[lo+kx-g.Pad:hi+kx-g.Pad])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						seg[ox] = src[ox*g.Stride+kx-g.Pad]
					}
				}
			}
		}
	}
}

// conv writes the convolution of each of batch rows of in into out: per example, the kernels times the
// patches (im2col), as one matrix product (OutC x K) * (K x OutH*OutW), K = InC*KH*KW, written in place
// in NCHW order, then the bias. Examples are spread over every core, a chunk at a time.
func (l *Layer) conv(in, out []float64, batch int) {
	g := l.Geom
	k, p := g.InC*g.KH*g.KW, g.OutH*g.OutW
	chunks := min(batch, 4*runtime.GOMAXPROCS(0))
	par.For(chunks, func(ch int) {
		cols := make([]float64, p*k)
		for r := ch * batch / chunks; r < (ch+1)*batch/chunks; r++ {
			g.im2col(in[r*l.In:(r+1)*l.In], cols)
			o := out[r*l.Out : (r+1)*l.Out]
			// o (OutC x p) = W (OutC x k) * cols (k x p)
			gemm.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, g.OutC, p, k, 1, l.W, k, cols, p, 0, o, p)
			for c := 0; c < g.OutC; c++ {
				b := l.B[c]
				for q := c * p; q < (c+1)*p; q++ {
					o[q] += b
				}
			}
		}
	})
}

// pool writes the max or mean of every window of each of batch rows of in into out; with arg not nil,
// it records the input index of each maximum (max pooling).
func (l *Layer) pool(in, out []float64, batch int, arg []int) {
	g := l.Geom
	n := float64(g.KH * g.KW)
	chunks := min(batch, 4*runtime.GOMAXPROCS(0))
	par.For(chunks, func(ch int) {
		l.poolRows(in, out, ch*batch/chunks, (ch+1)*batch/chunks, arg, n)
	})
}

// poolRows pools rows [from, to) of in into out (see pool).
func (l *Layer) poolRows(in, out []float64, from, to int, arg []int, n float64) {
	g := l.Geom
	for r := from; r < to; r++ {
		x, o := in[r*l.In:(r+1)*l.In], out[r*l.Out:(r+1)*l.Out]
		for c := 0; c < g.InC; c++ {
			for oy := 0; oy < g.OutH; oy++ {
				for ox := 0; ox < g.OutW; ox++ {
					best, at, sum := 0.0, -1, 0.0
					for ky := 0; ky < g.KH; ky++ {
						for kx := 0; kx < g.KW; kx++ {
							i := (c*g.InH+oy*g.Stride+ky)*g.InW + ox*g.Stride + kx
							v := x[i]
							sum += v
							if at < 0 || v > best {
								best, at = v, i
							}
						}
					}
					j := (c*g.OutH+oy)*g.OutW + ox
					if l.Kind == MaxPool {
						o[j] = best
						if arg != nil {
							arg[r*l.Out+j] = at
						}
					} else {
						o[j] = sum / n
					}
				}
			}
		}
	}
}

// backImage carries the gradient g of one example's output of an image layer back to its input
// (pre-activation gradients for conv; arg holds max pooling's winners).
func (l *Layer) backImage(g []float64, arg []int) []float64 {
	gm := l.Geom
	in := make([]float64, l.In)
	switch l.Kind {
	case Conv:
		for c := 0; c < gm.OutC; c++ {
			for oy := 0; oy < gm.OutH; oy++ {
				for ox := 0; ox < gm.OutW; ox++ {
					gj := g[(c*gm.OutH+oy)*gm.OutW+ox]
					if gj == 0 {
						continue
					}
					for ci := 0; ci < gm.InC; ci++ {
						for ky := 0; ky < gm.KH; ky++ {
							y := oy*gm.Stride + ky - gm.Pad
							if y < 0 || y >= gm.InH {
								continue
							}
							for kx := 0; kx < gm.KW; kx++ {
								x := ox*gm.Stride + kx - gm.Pad
								if x < 0 || x >= gm.InW {
									continue
								}
								in[(ci*gm.InH+y)*gm.InW+x] += gj * l.W[((c*gm.InC+ci)*gm.KH+ky)*gm.KW+kx]
							}
						}
					}
				}
			}
		}
	case MaxPool:
		for j, gj := range g {
			in[arg[j]] += gj
		}
	case AvgPool:
		n := float64(gm.KH * gm.KW)
		for c := 0; c < gm.InC; c++ {
			for oy := 0; oy < gm.OutH; oy++ {
				for ox := 0; ox < gm.OutW; ox++ {
					gj := g[(c*gm.OutH+oy)*gm.OutW+ox] / n
					for ky := 0; ky < gm.KH; ky++ {
						for kx := 0; kx < gm.KW; kx++ {
							in[(c*gm.InH+oy*gm.Stride+ky)*gm.InW+ox*gm.Stride+kx] += gj
						}
					}
				}
			}
		}
	}
	return in
}
