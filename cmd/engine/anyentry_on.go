//go:build bulkhead_any_cpu_entry

package main

// anyCPUEntry: a test build that starts a host CPU at any entry (see
// anyentry_off.go).
const anyCPUEntry = true
