//go:build !bulkhead_any_cpu_entry

package main

// anyCPUEntry, set only by the test build tag bulkhead_any_cpu_entry,
// drops the check that a host CPU_ON's entry lies in memory the host owns,
// so that the host suite can show it sees the difference.
const anyCPUEntry = false
