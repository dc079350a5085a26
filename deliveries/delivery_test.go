package deliveries

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The retry schedule docs/deliveries.md gives: 1s doubling, capped at 5m.
func TestBackoffSchedule(t *testing.T) {
	o := Options{}.withDefaults()
	var got []time.Duration
	for n := 1; n <= 11; n++ {
		got = append(got, o.backoff(n))
	}
	s := time.Second
	assert.Equal(t, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 5 * time.Minute, 5 * time.Minute}, got)
	assert.Equal(t, 8, o.MaxAttempts)
}

// The signature is over timestamp "." event id "." body, keyed with the
// secret; a fixed vector (python3 hmac) pins the signed bytes.
func TestSignatureVector(t *testing.T) {
	body := []byte(`{"event_id":"e1"}`)
	sig := Sign("secret", "1764936000", "e1", body)
	assert.Equal(t, "v1=ea2f92b68a1a0a4778945317588209c0a356f5dd1dc15cdfd0bfd7089663f649", sig)
	assert.True(t, Verify("secret", "1764936000", "e1", body, sig))
	assert.False(t, Verify("secret", "1764936001", "e1", body, sig), "another timestamp")
	assert.False(t, Verify("secret", "1764936000", "e2", body, sig), "another event id")
	assert.False(t, Verify("other", "1764936000", "e1", body, sig), "another key")
}

func TestReceiverURLs(t *testing.T) {
	ctx := context.Background()
	for url, want := range map[string]string{
		"https://203.0.113.9/hook":         "",
		"http://127.0.0.1/":                CodeReceiverNotPublic,
		"http://[::ffff:10.0.0.1]/":        CodeReceiverNotPublic,
		"http://100.64.1.1/":               CodeReceiverNotPublic,
		"http://0.0.0.0/":                  CodeReceiverNotPublic,
		"http://[fe80::1]/":                CodeReceiverNotPublic,
		"http://172.16.5.4:8443/":          CodeReceiverNotPublic,
		"ftp://203.0.113.9/":               "invalid_value",
		"https://user:pw@203.0.113.9/":     "invalid_value",
		"/relative":                        "invalid_value",
		"http://no-such-host.invalid/hook": CodeReceiverNotPublic,
	} {
		code, _ := checkReceiverURL(ctx, url, false)
		assert.Equal(t, want, code, url)
	}
	code, _ := checkReceiverURL(ctx, "http://127.0.0.1:8080/", true)
	assert.Equal(t, "", code, "allowed with CARDLEDGER_DELIVERY_ALLOW_PRIVATE")
	assert.Error(t, guardDial(false)("tcp", "10.0.0.1:80", nil), "the dialer refuses a name rebound to a private address")
	assert.NoError(t, guardDial(false)("tcp", "203.0.113.9:443", nil))
}
