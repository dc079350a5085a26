package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

// encoding/json writes U+FFFD in place of bytes that are not UTF-8; the
// encoders refuse such text instead, whichever path it came by (HTTP
// bodies are checked earlier, but a header or a file may carry it too).
func TestEncodersRefuseTextThatIsNotUTF8(t *testing.T) {
	_, _, err := domain.EncodeEvent(domain.CardReportedLost{CardNo: "A12345678", Reason: "lost \xff"})
	e, ok := domain.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, domain.KindInvalid, e.Kind)
	assert.Equal(t, domain.CodeInvalidUTF8, e.Code)

	_, err = domain.EncodeMetadata(domain.Metadata{Actor: domain.Actor{Client: "bank-102", Operator: "窗口\xe5"}})
	e, ok = domain.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, domain.CodeInvalidUTF8, e.Code)

	_, _, err = domain.EncodePermissionEvent(domain.PermissionRequested{RequestID: "r", Reason: "\xc0\xaf"})
	assert.True(t, domain.HasCode(err, domain.CodeInvalidUTF8), "%v", err)

	// Text that merely spells the escape, or holds U+FFFD itself, is kept.
	for _, reason := range []string{`\ufffd`, `\\ufffd`, "\uFFFD", `a\`} {
		typ, data, err := domain.EncodeEvent(domain.CardReportedLost{CardNo: "A12345678", Reason: reason})
		require.NoError(t, err, reason)
		back, err := domain.DecodeEvent(typ, domain.SchemaVersion(typ), data)
		require.NoError(t, err)
		assert.Equal(t, reason, back.(domain.CardReportedLost).Reason)
	}
	md, err := domain.EncodeMetadata(domain.Metadata{Actor: domain.Actor{Client: "c", Operator: "窗口01"}})
	require.NoError(t, err)
	assert.Contains(t, string(md), `"operator":"窗口01"`)
}
