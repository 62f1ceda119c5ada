//go:build tools

// Package bulkhead pins the TamaGo package version the images are built
// against: the TamaGo compiler reads runtime/goos from this module
// (GOOSPKG=github.com/usbarmory/tamago).
package bulkhead

import _ "github.com/usbarmory/tamago/goos"
