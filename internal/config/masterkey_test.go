package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMasterKeyComesFromTheEnvironmentAFileOrTheDevelopmentDefault(t *testing.T) {
	key := strings.Repeat("ab", 32)
	file := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		dev  bool
		old  []string
	}{
		{"default", nil, devMasterKey, true, nil},
		{"environment", map[string]string{"CARDLEDGER_MASTER_KEY": key}, key, false, nil},
		{"file", map[string]string{"CARDLEDGER_MASTER_KEY_FILE": file}, key, false, nil},
		{"old keys", map[string]string{"CARDLEDGER_MASTER_KEY": key, "CARDLEDGER_MASTER_KEY_OLD": " k1, ,k2 "}, key, false, []string{"k1", "k2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(newFlagSet(), nil, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if c.MasterKey != tc.want || c.UsesDevMasterKey() != tc.dev || strings.Join(c.OldMasterKeys, "|") != strings.Join(tc.old, "|") {
				t.Fatalf("got key %q dev %v old %q", c.MasterKey, c.UsesDevMasterKey(), c.OldMasterKeys)
			}
		})
	}
}

func TestMasterKeyAndItsFileExcludeEachOther(t *testing.T) {
	env := map[string]string{"CARDLEDGER_MASTER_KEY": "x", "CARDLEDGER_MASTER_KEY_FILE": "/nonexistent"}
	_, err := Load(newFlagSet(), nil, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "CARDLEDGER_MASTER_KEY_FILE") || strings.Contains(err.Error(), "x ") {
		t.Fatalf("err %v", err)
	}
	_, err = Load(newFlagSet(), nil, func(k string) string { return map[string]string{"CARDLEDGER_MASTER_KEY_FILE": "/nonexistent"}[k] })
	if err == nil || !strings.Contains(err.Error(), "CARDLEDGER_MASTER_KEY_FILE") {
		t.Fatalf("err %v", err)
	}
}
