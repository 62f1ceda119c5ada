package tests

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/internal/qemu"
	"bulkhead/tests/guesttest"
)

// TestGuestIsolation runs two isolation guests side by side: each probes
// beyond its RAM, the engine's and the hypervisor's memory, the pool where
// the other's RAM lies and devices it does not have, and every access must
// abort while the guest carries on. Each also fills 4 MiB and 18 registers
// with a secret and makes a forwarded call; the secret must not show on
// the console, the hypervisor must never see it in an exit record or in the
// pages it takes back (secret= in the guest's arguments), and those pages
// must come back zeroed (the hypervisor checks every byte it reclaims).
func TestGuestIsolation(t *testing.T) {
	secret := randomSecret(t)
	args := goTestArgs(fmt.Sprintf("-secret=%016x", secret)) + fmt.Sprintf("secret=%016x\n", secret)
	res := boot(t, guestMachine(t, vmGuest{isolationGuest, args}, vmGuest{isolationGuest, args}))
	for _, vm := range []string{"vm0", "vm1"} {
		t.Run(vm, func(t *testing.T) {
			guesttest.RunGoTest(t, res, vm)
			requireVMPoweredOff(t, res.Console, vm)
			// The hypervisor watched every exit record and searched
			// every page it took back for the secret.
			requireLine(t, res.Console, fmt.Sprintf("hypervisor: vm %s: ", vm), "secret not seen in")
		})
	}
	// The argument file is on the hypervisor's side by design; beyond it
	// the secret must appear nowhere.
	console := strings.ToLower(res.Console)
	for _, form := range []string{fmt.Sprintf("%x", secret), fmt.Sprintf("%d", secret), fmt.Sprintf("%x", secret>>32), fmt.Sprintf("%08x", uint32(secret))} {
		assert.NotContains(t, console, form, "the secret (as %s) reached the console", form)
	}
	requireClean(t, res)
}

// randomSecret is a fresh 64-bit pattern with no zero byte, so that no
// part of it is a common value.
func randomSecret(t *testing.T) uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if !strings.Contains(string(b[:]), "\x00") {
			return binary.LittleEndian.Uint64(b[:])
		}
	}
}

// TestGhostCheckOnTarget runs the ABI and isolation guests on an engine
// built to compare its ledger with its real stage-2 tables after every host
// call that can change them (DESIGN.md section 5): VM creation, donation,
// runs with the guests' share, unshare and relinquish calls, destroy and
// reclaim must all keep them in agreement.
func TestGhostCheckOnTarget(t *testing.T) {
	args := goTestArgs(fmt.Sprintf("-secret=%016x", randomSecret(t)))
	m := guestMachine(t, vmGuest{abiGuest, abiArgs}, vmGuest{isolationGuest, args})
	m.Engine = image(t, qemu.GhostEngine)
	res := boot(t, m)
	for _, vm := range []string{"vm0", "vm1"} {
		t.Run(vm, func(t *testing.T) {
			guesttest.RunGoTest(t, res, vm)
			requireVMPoweredOff(t, res.Console, vm)
		})
	}
	requireInOrder(t, res.Console, "engine: ghost check passed after each of")
	require.NotContains(t, res.Console, "ghost check failed")
	requireClean(t, res)
}
