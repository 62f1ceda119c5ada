//go:build bulkhead_nobudget

package plant

// noBudgetBuild plants NoWorkBudget in a whole image: an engine built with
// the bulkhead_nobudget tag, which the bounded-time QEMU test uses to show
// that its measurement sees a guest holding EL2.
const noBudgetBuild = true
