module firstguest

go 1.26.0

require (
	bulkhead v0.0.0
	github.com/usbarmory/tamago v1.26.0
)

replace bulkhead => ../..
