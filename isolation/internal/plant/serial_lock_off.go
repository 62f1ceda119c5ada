//go:build !bulkhead_plant_serial_nolock

package plant

// serialNoLockBuild is false in every build but the
// bulkhead_plant_serial_nolock one.
const serialNoLockBuild = false
