//go:build bulkhead_plant_serial_nolock

package plant

// serialNoLockBuild plants SerialNoLock in a test binary built with the
// bulkhead_plant_serial_nolock tag, which make race uses to show that the
// race test catches a Serial that does not serialise.
const serialNoLockBuild = true
