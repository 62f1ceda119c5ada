// Package el2 starts the isolation engine at EL2 under TamaGo and carries its
// decisions to the hardware: start-up (cpuinit, stage-1 identity map, vector
// table), the TamaGo runtime hooks, the switch into an EL1 context and back,
// stage-2 programming and TLB maintenance, and abort injection into EL1.
//
// The hardware parts are compiled only for GOOS=tamago GOARCH=arm64; the
// pure computations (exception syndromes, vector offsets) build everywhere so
// that they are tested on the host.
package el2
