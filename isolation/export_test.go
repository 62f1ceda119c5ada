package isolation

// The work budget of a VCPU_RUN, for the external tests.
const (
	RunBudget  = runBudget
	TrapUnits  = trapUnits
	MaxEntries = maxEntries
)
