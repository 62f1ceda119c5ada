package fdt

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// rebuild writes tree again with the Builder.
func rebuild(t *testing.T, tree *Tree) []byte {
	b := NewBuilder()
	b.SetBootCPU(tree.BootCPU)
	for _, r := range tree.Reservations {
		b.Reserve(r.Address, r.Size)
	}
	var walk func(n *Node)
	walk = func(n *Node) {
		b.BeginNode(n.Name)
		for _, p := range n.Properties {
			b.Property(p.Name, p.Value)
		}
		for _, c := range n.Children {
			walk(c)
		}
		b.EndNode()
	}
	walk(tree.Root)
	blob, err := b.Finish()
	require.NoError(t, err, "a tree Parse accepted must be writable")
	return blob
}

// FuzzParse feeds arbitrary blobs to Parse. It must never panic, and any
// tree it accepts must survive a write-and-parse round trip unchanged.
func FuzzParse(f *testing.F) {
	b := NewBuilder()
	sample(b)
	blob, err := b.Finish()
	require.NoError(f, err)
	f.Add(blob)
	f.Add(blob[:HeaderSize])
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := Parse(data)
		if err != nil {
			return
		}
		again, err := Parse(rebuild(t, tree))
		require.NoError(t, err)
		require.Equal(t, tree.Root, again.Root)
		require.Equal(t, tree.Reservations, again.Reservations)
	})
}
