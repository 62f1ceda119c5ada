// Package el1 starts an EL1 image (the hypervisor, or a test image) under
// TamaGo: start-up with a stage-1 identity map, the TamaGo runtime hooks, the
// EL1 vector table, engine calls over HVC, and probes that turn an abort into
// a result so that self-checks can touch memory they expect to be refused.
//
// The hardware parts are compiled only for GOOS=tamago GOARCH=arm64.
package el1
