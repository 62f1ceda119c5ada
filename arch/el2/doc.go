// Package el2 starts the isolation engine at EL2 under TamaGo and carries its
// decisions to the hardware: start-up (cpuinit, stage-1 identity map, vector
// table), the TamaGo runtime hooks, the switch into an EL1 context and back,
// stage-2 programming and TLB maintenance, and abort injection into EL1.
//
// # Several CPUs
//
// The engine starts every CPU the board's device tree lists (StartCPU): each
// gets its own EL2 stack, the engine's vector table and stage-1 identity
// map, and reports in with its affinity. The engine's Go runtime stays one
// thread of execution, which the baton (baton.go) moves from CPU to CPU;
// at boot the engine hands it to each CPU once and checks that Go,
// allocation and garbage collection run there. The engine does not use
// TamaGo's goos.Task, which would give the runtime one M per CPU: an M
// whose CPU runs an EL1 context cannot be preempted by the runtime (TamaGo
// has no sysmon and no preemption signal), so a stop-the-world would wait
// until that CPU happened to trap, and TamaGo never has more Ms than CPUs
// to take over the work of one that is away at EL1. With one thread, every
// engine call is atomic by construction (the engine lock is the baton).
// After the check the CPUs are off, until the host starts them (PSCI
// CPU_ON). From then on each CPU has a goroutine that serves it (CPU) and
// runs Go only on it: it asks to enter its EL1 context and sleeps; once
// no goroutine is ready the runtime calls goos.Idle on the CPU holding
// the thread, which enters that CPU's context and frees the baton
// (runReleasing); the next CPU to take an exception takes the baton,
// returns from that call, and wakes its own goroutine (runtime.Wake).
// While only one CPU is on (the host has started no other, or they all
// turned off again), entries keep the baton (run), which costs nothing
// over one CPU.
//
// The hardware parts are compiled only for GOOS=tamago GOARCH=arm64; the
// pure computations (exception syndromes, vector offsets) build everywhere so
// that they are tested on the host.
package el2
