//go:build tools

// The TamaGo compiler resolves runtime/goos from this module
// (GOOSPKG=github.com/usbarmory/tamago), so every module whose programs
// are built for bulkhead names it, at the version bulkhead pins.
package firstguest

import _ "github.com/usbarmory/tamago/goos"
