//go:build tamago && arm64

package arm64

// The runtime's random numbers (hash seeds, scheduling order) for both
// images. Nothing in bulkhead draws secrets from them; Armv8.0 has no
// architected random source (RNDR is FEAT_RNG, Armv8.5), so the generator
// is SplitMix64 (Steele, Lea and Flood) seeded from the counter.
var rngState uint64

// SeedRandom seeds the generator from the generic counter.
func SeedRandom() { rngState = Counter() | 1 }

// RandomData fills b from the generator.
func RandomData(b []byte) {
	for i := range b {
		if i%8 == 0 {
			rngState = splitmix64(rngState)
		}
		b[i] = byte(rngState >> (8 * (i % 8)))
	}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
