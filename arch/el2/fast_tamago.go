//go:build tamago && arm64

package el2

// fastTable is the table fastSync (vectors_arm64.s) looks calls up in.
var fastTable [FastSlots]FastAnswer

// InstallFastAnswers gives the vector its answers. The engine calls it
// once, before any EL1 code runs.
func InstallFastAnswers(a []FastAnswer) error {
	t, err := PlaceFastAnswers(a)
	if err != nil {
		return err
	}
	fastTable = t
	return nil
}

// FastAnswers returns the installed answers, with their hit counts.
func FastAnswers() []FastAnswer {
	var out []FastAnswer
	for _, a := range fastTable {
		if a.Key != 0 {
			out = append(out, a)
		}
	}
	return out
}
