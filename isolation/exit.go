package isolation

// MMIORead says where the host's reply to an emulated device read goes. It
// stays inside the vCPU: the host never learns the register.
type MMIORead struct {
	Reg        uint8 // ISS.SRT: the destination register; 31 is XZR, and the value is discarded
	Log2Size   uint8 // ISS.SAS: log2 of the access size in bytes
	SignExtend bool  // ISS.SSE: sign-extend the value to the register width
	SF         bool  // ISS.SF: the register is 64 bits wide (else 32, upper half zero)
}
