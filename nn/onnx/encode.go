package onnx

import (
	"bytes"
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

const (
	attrFloat = 1
	attrInt   = 2
	attrInts  = 7
)

type attr struct {
	name string
	f    float32
	i    int64
	ints []int64
	typ  int64
}

func appendVarint(b *bytes.Buffer, num protowire.Number, v uint64) {
	buf := protowire.AppendTag(nil, num, protowire.VarintType)
	b.Write(protowire.AppendVarint(buf, v))
}

func appendString(b *bytes.Buffer, num protowire.Number, s string) {
	buf := protowire.AppendTag(nil, num, protowire.BytesType)
	b.Write(protowire.AppendString(buf, s))
}

func appendMessage(b *bytes.Buffer, num protowire.Number, msg []byte) {
	buf := protowire.AppendTag(nil, num, protowire.BytesType)
	b.Write(protowire.AppendBytes(buf, msg))
}

func encodeNode(name, op string, inputs, outputs []string, attrs []attr) []byte {
	var b bytes.Buffer
	for _, in := range inputs {
		appendString(&b, 1, in)
	}
	for _, out := range outputs {
		appendString(&b, 2, out)
	}
	appendString(&b, 3, name)
	appendString(&b, 4, op)
	for _, a := range attrs {
		var ab bytes.Buffer
		appendString(&ab, 1, a.name)
		switch a.typ {
		case attrFloat:
			buf := protowire.AppendTag(nil, 2, protowire.Fixed32Type)
			ab.Write(protowire.AppendFixed32(buf, math.Float32bits(a.f)))
		case attrInt:
			appendVarint(&ab, 3, uint64(a.i))
		case attrInts:
			for _, v := range a.ints {
				appendVarint(&ab, 8, uint64(v))
			}
		}
		appendVarint(&ab, 20, uint64(a.typ))
		appendMessage(&b, 5, ab.Bytes())
	}
	return b.Bytes()
}

func encodeTensor(name string, dims []int64, vals []float64, elem int32) []byte {
	var b bytes.Buffer
	for _, d := range dims {
		appendVarint(&b, 1, uint64(d))
	}
	appendVarint(&b, 2, uint64(elem))
	appendString(&b, 8, name)
	var raw []byte
	if elem == typeDouble {
		raw = make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	} else {
		raw = make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
		}
	}
	appendMessage(&b, 9, raw)
	return b.Bytes()
}

// encodeValueInfo describes a tensor of shape [batch, n] with a symbolic batch dimension.
func encodeValueInfo(name string, elem int32, n int) []byte {
	return encodeValueInfoDims(name, elem, n)
}

// encodeValueInfoDims describes a tensor of shape [batch, dims...] with a symbolic batch dimension.
func encodeValueInfoDims(name string, elem int32, dims ...int) []byte {
	var batch, shape, tensor, typ, vi bytes.Buffer
	appendString(&batch, 2, "batch")
	appendMessage(&shape, 1, batch.Bytes())
	for _, n := range dims {
		var size bytes.Buffer
		appendVarint(&size, 1, uint64(n))
		appendMessage(&shape, 1, size.Bytes())
	}
	appendVarint(&tensor, 1, uint64(elem))
	appendMessage(&tensor, 2, shape.Bytes())
	appendMessage(&typ, 1, tensor.Bytes())
	appendString(&vi, 1, name)
	appendMessage(&vi, 2, typ.Bytes())
	return vi.Bytes()
}
