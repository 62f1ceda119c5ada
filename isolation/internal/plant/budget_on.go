//go:build !bulkhead_nobudget

package plant

// noBudgetBuild is false in every build but the bulkhead_nobudget one.
const noBudgetBuild = false
