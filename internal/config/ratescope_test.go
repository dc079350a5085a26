package config

import (
	"strings"
	"testing"
)

// The rate buckets are shared by every instance unless the scope says
// instance; anything else is refused, naming the setting.
func TestRateLimitScope(t *testing.T) {
	for _, c := range []struct {
		env, flag string
		shared    bool
		fails     bool
	}{
		{"", "", true, false},
		{"instance", "", false, false},
		{"instance", "cluster", true, false},
		{"", "instance", false, false},
		{"both", "", false, true},
	} {
		var args []string
		if c.flag != "" {
			args = []string{"--rate-limit-scope", c.flag}
		}
		got, err := Load(newFlagSet(), args, func(k string) string {
			if k == "CARDLEDGER_RATE_LIMIT_SCOPE" {
				return c.env
			}
			return ""
		})
		if c.fails {
			if err == nil || !strings.Contains(err.Error(), "CARDLEDGER_RATE_LIMIT_SCOPE") {
				t.Errorf("env %q flag %q: error %v, want one naming the setting", c.env, c.flag, err)
			}
			continue
		}
		if err != nil || got.RateLimitShared != c.shared {
			t.Errorf("env %q flag %q: shared %v (%v), want %v", c.env, c.flag, got.RateLimitShared, err, c.shared)
		}
	}
}
