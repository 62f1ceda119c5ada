package guestspec

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func files(contents map[int]string) func(int) ([]byte, error) {
	return func(i int) ([]byte, error) {
		c, ok := contents[i]
		if !ok {
			return nil, errors.New("unreadable")
		}
		return []byte(c), nil
	}
}

func TestGroupPairsImagesWithArguments(t *testing.T) {
	names := []string{"0", "0.args", "1", "1.initrd"}
	guests, err := Group(names, files(map[int]string{1: "# a comment\nvcpus=2\n\nram=128\nbootargs=run=TestA|TestB console=x\ntimeout=30\nsecret=5ec2e7c0ffee1234\n"}))
	require.NoError(t, err)
	require.Len(t, guests, 2)
	assert.Equal(t, Guest{Name: "0", Image: 0, Initrd: -1, VCPUs: 2, RAMMiB: 128, Bootargs: "run=TestA|TestB console=x",
		Timeout: 30, Secret: 0x5ec2e7c0ffee1234}, guests[0])
	assert.Equal(t, Guest{Name: "1", Image: 2, Initrd: 3, VCPUs: DefaultVCPUs, RAMMiB: DefaultRAMMiB}, guests[1])
}

func TestGroupRejectsBadArguments(t *testing.T) {
	for args, want := range map[string]string{
		"vcpus=0":                            "vcpus must be",
		"vcpus=x":                            "vcpus must be",
		"vcpus=9":                            "vcpus must be",
		"ram=3":                              "ram must be",
		"ram=2048":                           "ram must be",
		"ram=63":                             "ram must be",
		"color=blue":                         "unknown key",
		"just words":                         "want key=value",
		string(make([]byte, MaxArgsBytes+1)): "exceeds",
	} {
		guests, err := Group([]string{"0", "0.args", "1"}, files(map[int]string{1: args}))
		require.NoError(t, err, "one guest's arguments do not stop the others")
		assert.ErrorContains(t, guests[0].Err, want, args)
		assert.NoError(t, guests[1].Err)
	}
	_, err := Group([]string{"0", "1.args"}, files(nil))
	assert.ErrorContains(t, err, "without an image")
	_, err = Group([]string{"0", "1.initrd"}, files(nil))
	assert.ErrorContains(t, err, "initramfs files without an image")
	guests, err := Group([]string{"0", "0.args"}, files(nil))
	require.NoError(t, err)
	assert.ErrorContains(t, guests[0].Err, "unreadable")
}

func FuzzGroup(f *testing.F) {
	f.Add("vcpus=2\nram=64\nbootargs=x")
	f.Add("ram=\n=\n#")
	f.Fuzz(func(t *testing.T, args string) {
		guests, err := Group([]string{"0", "0.args"}, files(map[int]string{1: args}))
		require.NoError(t, err)
		g := guests[0]
		if g.Err != nil {
			return
		}
		assert.True(t, g.VCPUs >= 1 && g.VCPUs <= MaxVCPUs)
		assert.True(t, g.RAMMiB >= 4 && g.RAMMiB <= MaxRAMMiB && g.RAMMiB%2 == 0)
	})
}

func TestCheckFindsWhatGroupWouldRefuse(t *testing.T) {
	assert.NoError(t, Check([]byte("vcpus=2\n# a comment\nram=128\n")))
	assert.ErrorContains(t, Check([]byte("vcpus=2\ncolour=blue\n")), `line 2 "colour=blue": unknown key "colour"`)
	assert.ErrorContains(t, Check([]byte("timeout=soon")), "timeout must be")
}

func TestGroupAttachesDisksAndSkipsTheEntropyFile(t *testing.T) {
	names := []string{"0", "0.args", "0.disk1.ro", "0.disk0", EntropyFile, "1"}
	guests, err := Group(names, files(map[int]string{1: "memory=shared\n"}))
	require.NoError(t, err)
	require.Len(t, guests, 2)
	assert.True(t, guests[0].Shared)
	assert.Equal(t, []Disk{{File: 3}, {File: 2, ReadOnly: true}}, guests[0].Disks)
	assert.False(t, guests[1].Shared, "protected is the default")
	assert.Empty(t, guests[1].Disks)
}

func TestGroupRejectsBadDisks(t *testing.T) {
	for names, want := range map[string][]string{
		"gap":        {"0", "0.disk1"},
		"repeat":     {"0", "0.disk0", "0.disk0.ro"},
		"no image":   {"0", "1.disk0"},
		"bad number": {"0", "0.disk01"},
		"too many":   {"0", "0.disk8"},
	} {
		_, err := Group(want, files(nil))
		assert.Error(t, err, names)
	}
	assert.ErrorContains(t, Check([]byte("memory=private")), "memory must be")
}

func TestSecretNeedsAProtectedVM(t *testing.T) {
	assert.ErrorContains(t, Check([]byte("memory=shared\nsecret=5ec2\n")), "protected")
	assert.NoError(t, Check([]byte("memory=protected\nsecret=5ec2\n")))
}

func TestVirtioIsAskedForByProtectedVMsAndImpliedByShared(t *testing.T) {
	guests, err := Group([]string{"0", "0.args", "1", "1.args", "2"},
		files(map[int]string{1: "virtio=on\n", 3: "memory=shared\n"}))
	require.NoError(t, err)
	assert.True(t, guests[0].Virtio)
	assert.False(t, guests[0].Shared, "still protected")
	assert.True(t, guests[1].Virtio, "a shared-memory VM always has its devices")
	assert.False(t, guests[2].Virtio, "a protected VM has none unless it asks")
	assert.ErrorContains(t, Check([]byte("virtio=yes")), "virtio must be")
	assert.ErrorContains(t, Check([]byte("memory=shared\nvirtio=off\n")), "always has")
	assert.NoError(t, Check([]byte("virtio=off\n")))
}
