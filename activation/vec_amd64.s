#include "textflag.h"

// Constant rows of vecConsts (32 bytes each).
#define INVSTEP 0(CX)
#define SHIFT 32(CX)
#define STEPHI 64(CX)
#define STEPLO 96(CX)
#define C120 128(CX)
#define C24 160(CX)
#define C6 192(CX)
#define C2 224(CX)
#define LIMIT 256(CX)
#define ABSMASK 288(CX)
#define IDXMASK 320(CX)
#define ONE 352(CX)
#define MINUSTWO 384(CX)
#define SMALL 416(CX)
#define T9 448(CX)
#define T7 480(CX)
#define T5 512(CX)
#define T3 544(CX)
#define SIGNMASK 576(CX)
#define HALFLIMIT 608(CX)
#define ESWITCH 640(CX)
#define E14 672(CX)
#define E13 704(CX)
// E12 ... E2 (1/12! ... 1/2!) follow at 736(CX) ... 1056(CX).

// EXP sets Y1 = e^Y0 (every lane in the fast range), by exp's operations in exp's order; it uses Y2-Y7.
#define EXP \
	VMULPD INVSTEP, Y0, Y2 \
	VADDPD SHIFT, Y2, Y2 \
	VPSUBQ SHIFT, Y2, Y3 \
	VSUBPD SHIFT, Y2, Y2 \
	VMULPD STEPHI, Y2, Y4 \
	VSUBPD Y4, Y0, Y4 \
	VMULPD STEPLO, Y2, Y5 \
	VSUBPD Y5, Y4, Y4 \
	VMULPD C120, Y4, Y5 \
	VADDPD C24, Y5, Y5 \
	VMULPD Y5, Y4, Y5 \
	VADDPD C6, Y5, Y5 \
	VMULPD Y5, Y4, Y5 \
	VADDPD C2, Y5, Y5 \
	VMULPD Y4, Y4, Y6 \
	VMULPD Y5, Y6, Y6 \
	VADDPD Y6, Y4, Y6 \
	VPAND IDXMASK, Y3, Y7 \
	VPCMPEQQ Y5, Y5, Y5 \
	VXORPD Y1, Y1, Y1 \
	VGATHERQPD Y5, (DX)(Y7*8), Y1 \
	VMULPD Y6, Y1, Y6 \
	VADDPD Y6, Y1, Y1 \
	VPSUBQ Y7, Y3, Y3 \
	VPSLLQ $45, Y3, Y3 \
	VPADDQ Y3, Y1, Y1

// ARGS loads both loops' arguments (xs, n, consts, table: SI, BX, CX, DX) and zeroes the count, AX.
#define ARGS \
	MOVQ xs+0(FP), SI \
	MOVQ n+8(FP), BX \
	MOVQ consts+16(FP), CX \
	MOVQ table+24(FP), DX \
	XORQ AX, AX

// func sigmoidVec(xs *float64, n int, consts *[20][4]uint64, table *[128]float64) int
TEXT ·sigmoidVec(SB), NOSPLIT, $0-40
	ARGS

sigloop:
	CMPQ BX, $4
	JLT  sigdone
	VMOVUPD (SI), Y0
	VXORPD  SIGNMASK, Y0, Y0
	VANDPD  ABSMASK, Y0, Y8
	VCMPPD  $0x12, LIMIT, Y8, Y8
	VMOVMSKPD Y8, R9
	CMPQ R9, $15
	JNE  sigdone
	EXP
	VADDPD  ONE, Y1, Y1
	VMOVUPD ONE, Y2
	VDIVPD  Y1, Y2, Y1
	VMOVUPD Y1, (SI)
	ADDQ $32, SI
	SUBQ $4, BX
	ADDQ $4, AX
	JMP  sigloop

sigdone:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET

// func tanhVec(xs *float64, n int, consts *[20][4]uint64, table *[128]float64) int
TEXT ·tanhVec(SB), NOSPLIT, $0-40
	ARGS

tanhloop:
	CMPQ BX, $4
	JLT  tanhdone
	VMOVUPD (SI), Y9
	VANDPD  ABSMASK, Y9, Y10
	VCMPPD  $0x12, HALFLIMIT, Y10, Y8
	VMOVMSKPD Y8, R9
	CMPQ R9, $15
	JNE  tanhdone
	VMULPD MINUSTWO, Y10, Y0
	EXP
	VMOVUPD ONE, Y2
	VSUBPD  Y1, Y2, Y3
	VADDPD  Y1, Y2, Y4
	VDIVPD  Y4, Y3, Y3
	VANDPD  SIGNMASK, Y9, Y4
	VORPD   Y4, Y3, Y3
	// Below 1/32: the Taylor polynomial of tanhSmall.
	VMULPD Y9, Y9, Y5
	VMULPD T9, Y5, Y6
	VADDPD T7, Y6, Y6
	VMULPD Y6, Y5, Y6
	VADDPD T5, Y6, Y6
	VMULPD Y6, Y5, Y6
	VADDPD T3, Y6, Y6
	VMULPD Y5, Y9, Y7
	VMULPD Y6, Y7, Y7
	VADDPD Y7, Y9, Y7
	VCMPPD $0x11, SMALL, Y10, Y8
	VBLENDVPD Y8, Y7, Y3, Y3
	VMOVUPD Y3, (SI)
	ADDQ $32, SI
	SUBQ $4, BX
	ADDQ $4, AX
	JMP  tanhloop

tanhdone:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET

// func eluVec(xs *float64, n int, consts *[34][4]uint64, table *[128]float64, alpha *float64) int
TEXT ·eluVec(SB), NOSPLIT, $0-48
	ARGS
	MOVQ alpha+32(FP), R8
	VBROADCASTSD (R8), Y12
	VXORPD Y13, Y13, Y13

eluloop:
	CMPQ BX, $4
	JLT  eludone
	VMOVUPD (SI), Y9
	VMINPD  Y9, Y13, Y0 // min(0, x); x itself when NaN
	VANDPD  ABSMASK, Y0, Y10
	VCMPPD  $0x12, LIMIT, Y10, Y8
	VMOVMSKPD Y8, R9
	CMPQ R9, $15
	JNE  eludone
	VMOVUPD Y0, Y11 // EXP keeps Y0; its polynomial below reads Y11
	EXP
	VSUBPD ONE, Y1, Y1 // e^x - 1
	// Above the switch: x + x^2 q, q by Horner from 1/14! (expm1Neg's order).
	VMULPD E14, Y11, Y2
	VADDPD E13, Y2, Y2
	VMOVUPD Y11, Y0
	VMULPD Y0, Y2, Y2
	VADDPD 736(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 768(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 800(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 832(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 864(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 896(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 928(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 960(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 992(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 1024(CX), Y2, Y2
	VMULPD Y0, Y2, Y2
	VADDPD 1056(CX), Y2, Y2
	VMULPD Y0, Y0, Y3
	VMULPD Y2, Y3, Y3
	VADDPD Y3, Y0, Y3
	VCMPPD $0x1e, ESWITCH, Y0, Y8 // x > switch (GT_OQ)
	VBLENDVPD Y8, Y3, Y1, Y1
	VMULPD Y12, Y1, Y1 // alpha (e^x - 1)
	VCMPPD $0x1e, Y13, Y9, Y8 // x > 0
	VBLENDVPD Y8, Y9, Y1, Y1
	VMOVUPD Y1, (SI)
	ADDQ $32, SI
	SUBQ $4, BX
	ADDQ $4, AX
	JMP  eluloop

eludone:
	VZEROUPPER
	MOVQ AX, ret+40(FP)
	RET
