package vmm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/hypervisor/vgic"
	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// fakeHost is n host CPUs over the rig's engine. A trip is carried out
// when it begins (the guest's script runs at once), but the CPU comes
// back only when the seeded random choice among the CPUs that are away
// picks it, so the loop meets every order in which CPUs come back.
type fakeHost struct {
	t       *testing.T
	r       *rig
	rnd     *rand.Rand
	here    int
	away    []bool
	left    []bool
	result  [][8]uint64
	runs    []int             // VCPU_RUNs per CPU
	running map[[2]uint64]int // vCPU (VM id, index) -> the CPU running it
	onCPU   []([2]uint64)     // per CPU: the vCPU it runs, while away
	kicks   []int
	rests   int
}

func newFakeHost(t *testing.T, r *rig, n int, seed uint64) *fakeHost {
	f := &fakeHost{t: t, r: r, rnd: rand.New(rand.NewPCG(seed, seed)), away: make([]bool, n), left: make([]bool, n),
		result: make([][8]uint64, n), runs: make([]int, n), running: map[[2]uint64]int{}, onCPU: make([][2]uint64, n)}
	for i := 1; i < n; i++ {
		f.away[i] = true // starting
	}
	return f
}

func (f *fakeHost) CPUs() int { return len(f.away) }

func (f *fakeHost) Run(x [8]uint64, d time.Duration) int {
	key := [2]uint64{x[1], x[2]}
	if c, ok := f.running[key]; ok {
		f.t.Errorf("vCPU %v sent to CPU %d while CPU %d runs it", key, f.here, c)
	}
	f.running[key] = f.here
	f.onCPU[f.here] = key
	f.r.Arm(int64(d))
	f.r.Call(&x)
	f.result[f.here] = x
	f.runs[f.here]++
	return f.leave(true)
}

func (f *fakeHost) Rest(time.Duration) int {
	f.rests++
	f.onCPU[f.here] = [2]uint64{}
	return f.leave(true)
}

func (f *fakeHost) Leave() int {
	require.NotZero(f.t, f.here, "CPU 0 left")
	f.left[f.here] = true
	f.onCPU[f.here] = [2]uint64{}
	return f.leave(false)
}

// leave sends the loop's CPU away (or off) and picks the next CPU back.
func (f *fakeHost) leave(away bool) int {
	f.away[f.here] = away
	var back []int
	for c, a := range f.away {
		if a {
			back = append(back, c)
		}
	}
	require.NotEmpty(f.t, back, "every CPU is off")
	f.here = back[f.rnd.IntN(len(back))]
	f.away[f.here] = false
	if key := f.onCPU[f.here]; key != ([2]uint64{}) {
		delete(f.running, key)
		f.onCPU[f.here] = [2]uint64{}
	}
	return f.here
}

func (f *fakeHost) Result(c int) [8]uint64 { return f.result[c] }
func (f *fakeHost) Kick(c int)             { f.kicks = append(f.kicks, c) }

// wfe is a guest's WFE: the vCPU stays runnable but gives its CPU away.
func wfe(*isolation.Context) isolation.Trap { return isolation.Trap{ESR: 0x01<<26 | 1<<25 | 1} }

// TestRunDrivesSeveralCPUs: three two-vCPU VMs on four host CPUs, with
// the CPUs coming back in seeded random orders: every VM ends as its
// script says, no vCPU is ever on two CPUs, every CPU runs vCPUs, and the
// other CPUs are off at the end.
func TestRunDrivesSeveralCPUs(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			r := newRig(t)
			var vms []*VM
			for i := range 3 {
				vm, err := r.hv.Create(Spec{Name: fmt.Sprint("vm", i), VCPUs: 2, RAMSize: 4 << 20, Image: flatImage})
				require.NoError(t, err)
				var steps []step
				for _, c := range prints(fmt.Sprintf("hello from vm%d\n", i)) {
					steps = append(steps, c, wfe) // WFE gives the CPU away
				}
				r.script[isolation.VMID(vm.ID)] = steps
				vms = append(vms, vm)
			}
			f := newFakeHost(t, r, 4, seed)
			r.hv.Host = f
			require.NoError(t, r.hv.Run())
			out := r.out.String()
			for i := range vms {
				assert.Contains(t, out, fmt.Sprintf("[vm%d] hello from vm%d", i, i))
				assert.Contains(t, out, fmt.Sprintf("vm vm%d (id %d) ended: powered off", i, i+1))
			}
			assert.Empty(t, r.hv.VMs)
			assert.Equal(t, []bool{false, true, true, true}, f.left, "CPUs 1-3 off, CPU 0 on")
			assert.Zero(t, f.here, "the loop ends on CPU 0")
			busy := 0
			for _, n := range f.runs {
				if n > 0 {
					busy++
				}
			}
			assert.GreaterOrEqual(t, busy, 3, "runs per CPU %v", f.runs)
			assert.Regexp(t, `hypervisor: vm vm0 ran on host CPUs \(VCPU_RUN calls on each\):( \d+){4}\n`, out)
			require.NoError(t, r.core.Check())
		})
	}
}

// pairOnFakeHost is a 2-vCPU VM on a fake host of 4 CPUs, with every SGI
// and PPI enabled in its group 1 for both vCPUs.
func pairOnFakeHost(t *testing.T) (*Hypervisor, *VM, *fakeHost) {
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "pair", VCPUs: 2, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	f := newFakeHost(t, r, 4, 1)
	r.hv.Host = f
	r.hv.trips = make([]trip, 4)
	vm.gic.Write(vmachine.GICD.Base, 4, vgic.CtlrEnableGrp1|vgic.CtlrARE)
	for v := range 2 {
		rd := vmachine.GICRBase + uint64(v)*vmachine.GICRStride
		vm.gic.Write(rd+vgic.GICRIGROUPR0, 4, 0xffff)
		vm.gic.Write(rd+vgic.GICRISENABLER0, 4, 0xffff)
	}
	h := r.hv
	h.flushIRQs(vm)
	return h, vm, f
}

// TestInterruptForAVCPUOnAnotherCPUKicksIt: an SGI from vCPU 0 to vCPU 1
// while CPU 2 runs vCPU 1 kicks CPU 2; to a vCPU in WFI on no CPU, it
// kicks a resting CPU instead.
func TestInterruptForAVCPUOnAnotherCPUKicksIt(t *testing.T) {
	h, vm, f := pairOnFakeHost(t)
	sgiTo1 := func(intid uint64) [8]uint64 { return [8]uint64{0, uint64(abi.ExitSGI), intid<<24 | 1<<1} }

	h.cpu, vm.where[0], vm.where[1] = 0, 0, 2
	h.exit(vm, 0, sgiTo1(3))
	assert.Equal(t, []int{2}, f.kicks, "CPU 2 runs vCPU 1")

	f.kicks = nil
	vm.where[1] = -1
	vm.vcpus[1] = vcpuIdle
	h.trips[3].kind = tripRest
	h.exit(vm, 0, sgiTo1(4))
	assert.Equal(t, []int{3}, f.kicks, "vCPU 1 waits on no CPU: the resting CPU 3 takes it")
	assert.Equal(t, vcpuRunnable, vm.vcpus[1])

	f.kicks = nil
	vm.where[1] = 0
	h.exit(vm, 0, sgiTo1(5))
	assert.Empty(t, f.kicks, "vCPU 1 is on the loop's own CPU: nothing to kick")
}

// TestInterruptDuringARunOutlivesItsWFI: an SGI raised for vCPU 1 while
// CPU 2 runs it may meet it after its WFI trapped (the engine keeps the
// interrupt for its next entry); that WFI exit must leave vCPU 1
// runnable, not waiting for a wake that will not come.
func TestInterruptDuringARunOutlivesItsWFI(t *testing.T) {
	h, vm, f := pairOnFakeHost(t)
	vm.vcpus[0], vm.vcpus[1] = vcpuRunnable, vcpuRunnable
	h.cpu, vm.where[0], vm.where[1] = 0, 0, 2
	h.trips[2] = trip{kind: tripRun, vm: vm, vcpu: 1, end: time.Now().Add(Slice)}
	h.exit(vm, 0, [8]uint64{0, uint64(abi.ExitSGI), 3<<24 | 1<<1})
	require.Equal(t, []int{2}, f.kicks, "CPU 2 runs vCPU 1")

	h.handleRun(&h.trips[2], [8]uint64{0, uint64(abi.ExitWFI)})
	assert.Equal(t, vcpuRunnable, vm.vcpus[1], "the SGI came during the run that ended in WFI")
	assert.Equal(t, -1, vm.where[1])

	h.runTrip(f, 2, vm, 1, time.Now().Add(Slice), false)
	h.handleRun(&h.trips[2], [8]uint64{0, uint64(abi.ExitWFI)})
	assert.Equal(t, vcpuIdle, vm.vcpus[1], "the next run had no interrupt raised: its WFI waits")
}
