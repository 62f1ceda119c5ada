package el2

// benchNull and benchSwitch are the ids the baseline vector table of a
// bulkhead_bench engine recognises (go_asm.h const_benchNull,
// const_benchSwitch); a test pins them to abi.BenchNull and abi.BenchSwitch.
const (
	benchNull   = 0xC60000F2
	benchSwitch = 0xC60000F3
)
