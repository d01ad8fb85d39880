package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The subset of the ONNX protobuf messages that fully connected networks need, decoded by hand with
// protowire. Field numbers are those of onnx.proto.

// ONNX tensor element types.
const (
	typeFloat  = 1
	typeInt32  = 6
	typeInt64  = 7
	typeDouble = 11
)

type modelProto struct {
	irVersion int64
	opsets    []opsetID
	producer  string
	graph     *graphProto
	metadata  map[string]string
}

type opsetID struct {
	domain  string
	version int64
}

type graphProto struct {
	name         string
	nodes        []*nodeProto
	initializers []*tensorProto
	inputs       []valueInfo
	outputs      []valueInfo
}

type nodeProto struct {
	inputs, outputs []string
	name, opType    string
	domain          string
	attrs           []*attributeProto
}

type attributeProto struct {
	name   string
	f      float32
	i      int64
	s      []byte
	t      *tensorProto
	floats []float32
	ints   []int64
	typ    int64
}

type tensorProto struct {
	dims     []int64
	dataType int32
	name     string
	floats   []float32
	doubles  []float64
	int64s   []int64
	int32s   []int32
	raw      []byte
	hasRaw   bool
}

type valueInfo struct {
	name     string
	elemType int32
	dims     []int64 // -1 for a symbolic dimension
}

var errTruncated = errors.New("truncated protobuf")

// fieldIter walks the fields of one message.
type fieldIter struct {
	b   []byte
	num protowire.Number
	typ protowire.Type
	// value of the current field
	varint uint64
	fixed  uint64
	bytes  []byte
	err    error
}

func (it *fieldIter) next() bool {
	if it.err != nil || len(it.b) == 0 {
		return false
	}
	num, typ, n := protowire.ConsumeTag(it.b)
	if n < 0 {
		it.err = protowire.ParseError(n)
		return false
	}
	it.b = it.b[n:]
	it.num, it.typ = num, typ
	switch typ {
	case protowire.VarintType:
		it.varint, n = protowire.ConsumeVarint(it.b)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(it.b)
		it.fixed = uint64(v)
	case protowire.Fixed64Type:
		it.fixed, n = protowire.ConsumeFixed64(it.b)
	case protowire.BytesType:
		it.bytes, n = protowire.ConsumeBytes(it.b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, it.b)
	}
	if n < 0 {
		it.err = protowire.ParseError(n)
		return false
	}
	it.b = it.b[n:]
	return true
}

func (it *fieldIter) str() string { return string(it.bytes) }

// int64s appends the field's int64 values, packed or not.
func (it *fieldIter) int64s(dst []int64) ([]int64, error) {
	switch it.typ {
	case protowire.VarintType:
		return append(dst, int64(it.varint)), nil
	case protowire.BytesType:
		b := it.bytes
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, errTruncated
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("field %d: wrong wire type", it.num)
}

func (it *fieldIter) float32s(dst []float32) ([]float32, error) {
	switch it.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(it.fixed))), nil
	case protowire.BytesType:
		if len(it.bytes)%4 != 0 {
			return nil, errTruncated
		}
		for b := it.bytes; len(b) > 0; b = b[4:] {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b)))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("field %d: wrong wire type", it.num)
}

func (it *fieldIter) float64s(dst []float64) ([]float64, error) {
	switch it.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(it.fixed)), nil
	case protowire.BytesType:
		if len(it.bytes)%8 != 0 {
			return nil, errTruncated
		}
		for b := it.bytes; len(b) > 0; b = b[8:] {
			dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("field %d: wrong wire type", it.num)
}

func decodeModel(b []byte) (*modelProto, error) {
	m := &modelProto{metadata: map[string]string{}}
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case 1:
			m.irVersion = int64(it.varint)
		case 2:
			m.producer = it.str()
		case 7:
			if it.typ != protowire.BytesType {
				return nil, errors.New("graph: wrong wire type")
			}
			g, err := decodeGraph(it.bytes)
			if err != nil {
				return nil, fmt.Errorf("graph: %w", err)
			}
			m.graph = g
		case 8:
			var op opsetID
			sub := fieldIter{b: it.bytes}
			for sub.next() {
				switch sub.num {
				case 1:
					op.domain = sub.str()
				case 2:
					op.version = int64(sub.varint)
				}
			}
			if sub.err != nil {
				return nil, fmt.Errorf("opset_import: %w", sub.err)
			}
			m.opsets = append(m.opsets, op)
		case 14:
			var k, v string
			sub := fieldIter{b: it.bytes}
			for sub.next() {
				switch sub.num {
				case 1:
					k = sub.str()
				case 2:
					v = sub.str()
				}
			}
			if sub.err != nil {
				return nil, fmt.Errorf("metadata_props: %w", sub.err)
			}
			m.metadata[k] = v
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	if m.graph == nil {
		return nil, errors.New("no graph in the model")
	}
	return m, nil
}

func decodeGraph(b []byte) (*graphProto, error) {
	g := &graphProto{}
	it := fieldIter{b: b}
	for it.next() {
		if it.typ != protowire.BytesType {
			continue
		}
		switch it.num {
		case 1:
			n, err := decodeNode(it.bytes)
			if err != nil {
				return nil, fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			g.nodes = append(g.nodes, n)
		case 2:
			g.name = it.str()
		case 5:
			t, err := decodeTensor(it.bytes)
			if err != nil {
				return nil, fmt.Errorf("initializer %d: %w", len(g.initializers), err)
			}
			g.initializers = append(g.initializers, t)
		case 11, 12:
			v, err := decodeValueInfo(it.bytes)
			if err != nil {
				return nil, fmt.Errorf("graph input/output: %w", err)
			}
			if it.num == 11 {
				g.inputs = append(g.inputs, v)
			} else {
				g.outputs = append(g.outputs, v)
			}
		}
	}
	return g, it.err
}

func decodeNode(b []byte) (*nodeProto, error) {
	n := &nodeProto{}
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case 1:
			n.inputs = append(n.inputs, it.str())
		case 2:
			n.outputs = append(n.outputs, it.str())
		case 3:
			n.name = it.str()
		case 4:
			n.opType = it.str()
		case 7:
			n.domain = it.str()
		case 5:
			a, err := decodeAttribute(it.bytes)
			if err != nil {
				return nil, fmt.Errorf("attribute: %w", err)
			}
			n.attrs = append(n.attrs, a)
		}
	}
	return n, it.err
}

func decodeAttribute(b []byte) (*attributeProto, error) {
	a := &attributeProto{}
	it := fieldIter{b: b}
	var err error
	for it.next() {
		switch it.num {
		case 1:
			a.name = it.str()
		case 2:
			if it.typ == protowire.Fixed32Type {
				a.f = math.Float32frombits(uint32(it.fixed))
			}
		case 3:
			a.i = int64(it.varint)
		case 4:
			a.s = it.bytes
		case 5:
			if a.t, err = decodeTensor(it.bytes); err != nil {
				return nil, err
			}
		case 7:
			if a.floats, err = it.float32s(a.floats); err != nil {
				return nil, err
			}
		case 8:
			if a.ints, err = it.int64s(a.ints); err != nil {
				return nil, err
			}
		case 20:
			a.typ = int64(it.varint)
		}
	}
	return a, it.err
}

func decodeTensor(b []byte) (*tensorProto, error) {
	t := &tensorProto{}
	it := fieldIter{b: b}
	var err error
	for it.next() {
		switch it.num {
		case 1:
			t.dims, err = it.int64s(t.dims)
		case 2:
			t.dataType = int32(it.varint)
		case 4:
			t.floats, err = it.float32s(t.floats)
		case 5:
			var v []int64
			v, err = it.int64s(nil)
			for _, x := range v {
				t.int32s = append(t.int32s, int32(x))
			}
		case 7:
			t.int64s, err = it.int64s(t.int64s)
		case 8:
			t.name = it.str()
		case 9:
			t.raw, t.hasRaw = it.bytes, true
		case 10:
			t.doubles, err = it.float64s(t.doubles)
		case 14:
			return nil, errors.New("tensors stored outside the file (external data) are not supported")
		}
		if err != nil {
			return nil, err
		}
	}
	return t, it.err
}

func decodeValueInfo(b []byte) (valueInfo, error) {
	var v valueInfo
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case 1:
			v.name = it.str()
		case 2: // TypeProto
			tp := fieldIter{b: it.bytes}
			for tp.next() {
				if tp.num != 1 { // tensor_type
					continue
				}
				tt := fieldIter{b: tp.bytes}
				for tt.next() {
					switch tt.num {
					case 1:
						v.elemType = int32(tt.varint)
					case 2: // TensorShapeProto
						sh := fieldIter{b: tt.bytes}
						for sh.next() {
							if sh.num != 1 {
								continue
							}
							d := int64(-1)
							dim := fieldIter{b: sh.bytes}
							for dim.next() {
								if dim.num == 1 {
									d = int64(dim.varint)
								}
							}
							v.dims = append(v.dims, d)
						}
					}
				}
				if tt.err != nil {
					return v, tt.err
				}
			}
			if tp.err != nil {
				return v, tp.err
			}
		}
	}
	return v, it.err
}

// values returns the tensor's elements as float64, whatever its element type.
func (t *tensorProto) values() ([]float64, error) {
	n := int64(1)
	for _, d := range t.dims {
		if d < 0 || d > 1<<28 {
			return nil, fmt.Errorf("tensor %q: bad dimension %d", t.name, d)
		}
		n *= d
		if n > 1<<28 {
			return nil, fmt.Errorf("tensor %q is too large", t.name)
		}
	}
	var out []float64
	switch t.dataType {
	case typeFloat:
		if t.hasRaw {
			if len(t.raw)%4 != 0 {
				return nil, fmt.Errorf("tensor %q: raw data of %d bytes is not float32s", t.name, len(t.raw))
			}
			for b := t.raw; len(b) > 0; b = b[4:] {
				out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
			}
		} else {
			for _, v := range t.floats {
				out = append(out, float64(v))
			}
		}
	case typeDouble:
		if t.hasRaw {
			if len(t.raw)%8 != 0 {
				return nil, fmt.Errorf("tensor %q: raw data of %d bytes is not float64s", t.name, len(t.raw))
			}
			for b := t.raw; len(b) > 0; b = b[8:] {
				out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b)))
			}
		} else {
			out = append(out, t.doubles...)
		}
	case typeInt64:
		if t.hasRaw {
			if len(t.raw)%8 != 0 {
				return nil, fmt.Errorf("tensor %q: raw data of %d bytes is not int64s", t.name, len(t.raw))
			}
			for b := t.raw; len(b) > 0; b = b[8:] {
				out = append(out, float64(int64(binary.LittleEndian.Uint64(b))))
			}
		} else {
			for _, v := range t.int64s {
				out = append(out, float64(v))
			}
		}
	case typeInt32:
		for _, v := range t.int32s {
			out = append(out, float64(v))
		}
	default:
		return nil, fmt.Errorf("tensor %q: element type %d is not supported (float, double, int32, int64 are)", t.name, t.dataType)
	}
	if int64(len(out)) != n {
		return nil, fmt.Errorf("tensor %q: %d values for shape %v", t.name, len(out), t.dims)
	}
	return out, nil
}
