package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// The firmware bucket (schema 9) holds the uploaded panel builds and the
// rollouts:
//
//	firmware/
//	  builds/   <version> "/" <arch> -> FirmwareBuild (JSON)
//	  rollouts/ <version> -> a rollout (JSON, opaque here: package fleet owns it)
//
// The binaries themselves are files in the data directory (fleet keeps
// them); the store holds their metadata only.
var (
	firmwareBucket = []byte("firmware")
	fwBuildsBucket = []byte("builds")
	fwRollBucket   = []byte("rollouts")
)

// FirmwareBuild is one uploaded panel binary.
type FirmwareBuild struct {
	Version   string    `json:"version"`
	Arch      string    `json:"arch"` // "linux/arm/v6", "linux/arm/v7", "linux/arm64", "linux/amd64"
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Signature []byte    `json:"signature"`
	File      string    `json:"file"` // the file's name in the firmware directory
	Uploaded  time.Time `json:"uploaded"`
	By        string    `json:"by,omitempty"`
}

func fwSub(tx txn, name []byte) bucket { return root(tx, firmwareBucket).Bucket(name) }

// PutFirmwareBuild stores a build's metadata, replacing one of the same
// version and arch.
func (db *DB) PutFirmwareBuild(b FirmwareBuild) error {
	if b.Version == "" || b.Arch == "" || len(b.Version)+len(b.Arch) > 200 {
		return fmt.Errorf("store: a firmware build needs a version and an arch")
	}
	return db.update(func(tx txn) error { return putJSON(fwSub(tx, fwBuildsBucket), b.Version+"/"+b.Arch, b) })
}

// FirmwareBuild returns the build of version for arch, or ErrNotFound.
func (db *DB) FirmwareBuild(version, arch string) (FirmwareBuild, error) {
	var b FirmwareBuild
	err := db.view(func(tx txn) error { return getJSON(fwSub(tx, fwBuildsBucket), version+"/"+arch, &b) })
	if err != nil {
		return FirmwareBuild{}, fmt.Errorf("store: firmware %s for %s: %w", version, arch, err)
	}
	return b, nil
}

// FirmwareBuilds lists every build, newest upload first.
func (db *DB) FirmwareBuilds() ([]FirmwareBuild, error) {
	var out []FirmwareBuild
	err := db.view(func(tx txn) error {
		return fwSub(tx, fwBuildsBucket).ForEach(func(k, v []byte) error {
			var b FirmwareBuild
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("decode firmware build %s: %w", k, err)
			}
			out = append(out, b)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: firmware builds: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Uploaded.After(out[j].Uploaded) })
	return out, nil
}

// DeleteFirmwareBuild forgets a build; a missing one is no error.
func (db *DB) DeleteFirmwareBuild(version, arch string) error {
	return db.update(func(tx txn) error { return fwSub(tx, fwBuildsBucket).Delete([]byte(version + "/" + arch)) })
}

// PutRollout stores the rollout of version.
func (db *DB) PutRollout(version string, v any) error {
	if version == "" || len(version) > 128 {
		return fmt.Errorf("store: a rollout's version is 1 to 128 bytes")
	}
	return db.update(func(tx txn) error { return putJSON(fwSub(tx, fwRollBucket), version, v) })
}

// Rollouts returns every rollout by version.
func (db *DB) Rollouts() (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	err := db.view(func(tx txn) error {
		return fwSub(tx, fwRollBucket).ForEach(func(k, v []byte) error {
			out[string(k)] = append(json.RawMessage(nil), v...)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: rollouts: %w", err)
	}
	return out, nil
}
