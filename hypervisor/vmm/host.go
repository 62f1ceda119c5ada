package vmm

import "time"

// Host is the host's CPUs as the hypervisor drives them: from one loop
// (Run), which runs on one CPU at a time. Run, Rest and Leave send the
// CPU the loop is on away from it — to run a vCPU, to rest, or to turn
// off — and return the next CPU to come back, which may be the same one
// or another: the loop goes on there. On the target this is arch/el1's
// baton; on one CPU every trip ends where it began.
type Host interface {
	// CPUs is how many CPUs the loop drives; CPU 0 is the one Run begins
	// on, and each other CPU comes back once, with nothing done, before
	// its first trip.
	CPUs() int
	// Run issues VCPU_RUN with x (abi.VCPURun and its arguments) with the
	// preemption tick armed for d; Result gives the exit record.
	Run(x [8]uint64, d time.Duration) (next int)
	// Rest waits about d, or until Kick.
	Rest(d time.Duration) (next int)
	// Leave turns the CPU off for good; never CPU 0.
	Leave() (next int)
	// Result is the exit record of cpu's last Run.
	Result(cpu int) [8]uint64
	// Kick brings cpu back soon: its vCPU's run ends with an IRQ exit,
	// its rest ends, or its next rest is skipped.
	Kick(cpu int)
}

// soloHost is the one CPU the hypervisor has when Hypervisor.Host is
// nil: every trip is a plain engine call (Engine) with the Ticker armed,
// or Idle.
type soloHost struct{ h *Hypervisor }

func (s soloHost) CPUs() int { return 1 }

func (s soloHost) Run(x [8]uint64, d time.Duration) int {
	s.h.Ticker.Arm(int64(d))
	s.h.Engine.Call(&x)
	s.h.Ticker.Disarm()
	s.h.soloResult = x
	return 0
}

func (s soloHost) Rest(d time.Duration) int {
	if s.h.Idle != nil {
		s.h.Idle(d)
	}
	return 0
}

func (s soloHost) Leave() int           { panic("vmm: the only CPU cannot leave") }
func (s soloHost) Result(int) [8]uint64 { return s.h.soloResult }
func (s soloHost) Kick(int)             {}
