package deliveries

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Headers of a delivery (docs/deliveries.md).
const (
	HeaderTimestamp = "X-Cardledger-Timestamp" // Unix seconds, decimal
	HeaderEventID   = "X-Cardledger-Event-Id"
	HeaderSignature = "X-Cardledger-Signature" // "v1=" + hex HMAC-SHA256
)

// Sign is the signature header's value: "v1=" and the hex HMAC-SHA256,
// keyed with the subscription's secret, of timestamp "." eventID "." body.
func Sign(secret, timestamp, eventID string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write([]byte(eventID))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify is what a receiver does: recompute and compare in constant time.
func Verify(secret, timestamp, eventID string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, eventID, body)), []byte(signature))
}
