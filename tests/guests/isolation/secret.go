//go:build tamago && arm64

package isolation

// callKeepingSecret is defined in secret_arm64.s.
func callKeepingSecret(id, secret uint64) (x0, changed uint64)
