//go:build tamago && arm64 && !bulkhead_expose_engine

package main

// exposeEngine is false in every real build; see expose_on.go.
const exposeEngine = false
