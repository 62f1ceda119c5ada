//go:build tamago && arm64

package el2

// saved holds the engine's SP, g, frame pointer and link register while an
// EL1 context runs (see run in vectors_arm64.s).
var saved [4]uint64

// defined in vectors_arm64.s
func vectors()
func run(ctx *Context)

// Run enters EL1 with ctx on the CPU the caller serves and returns when
// that CPU takes an exception to EL2; ctx then holds the EL1 state at that
// exception and its syndrome (CPU.Enter).
//
// The engine has no interrupts of its own: run saves only what Go needs
// back (SP, g, FP, LR), in the manner of a function call that returns when
// the exception arrives.
func Run(ctx *Context) {
	here.Enter(ctx)
}
