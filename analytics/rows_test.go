package analytics

import "testing"

func TestParseFen(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "0": 0, "12": 1200, "12.5": 1250, "12.50": 1250, "0.01": 1, "99999.99": 9999999} {
		got, err := parseFen(in)
		if err != nil || got != want {
			t.Errorf("parseFen(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"1.005", "-1", "1e3", ".5", "1,5", "12.a"} {
		if _, err := parseFen(bad); err == nil {
			t.Errorf("parseFen(%q) accepted", bad)
		}
	}
}
