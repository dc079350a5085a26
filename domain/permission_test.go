package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

var permAt = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

var requested = domain.PermissionRequested{RequestID: "r1", Operator: "wuzhong-op-7", Role: "counter",
	Region: "320506", Reason: "new counter", RequestedBy: "wuzhong-admin", RequesterRegion: "320506", At: permAt}

// givenPermission replays events into a fresh request.
func givenPermission(events ...domain.Event) *domain.PermissionRequest {
	p := &domain.PermissionRequest{}
	for _, e := range events {
		p.Apply(e)
	}
	return p
}

func TestPermissionRequestLifecycle(t *testing.T) {
	approved := domain.PermissionApproved{RequestID: "r1", ApprovedBy: "suzhou-admin", Note: "ok", At: permAt}
	rejected := domain.PermissionRejected{RequestID: "r1", RejectedBy: "suzhou-admin", Reason: "no", At: permAt}
	cases := []struct {
		name  string
		given []domain.Event
		when  domain.PermissionCommand
		then  []domain.Event
		code  string
	}{
		{"request", nil, domain.RequestPermission(requested), []domain.Event{requested}, ""},
		{"request twice", []domain.Event{requested}, domain.RequestPermission(requested), nil, domain.CodePermissionExists},
		{"approve", []domain.Event{requested}, domain.ApprovePermission{By: "suzhou-admin", Note: "ok", At: permAt}, []domain.Event{approved}, ""},
		{"reject", []domain.Event{requested}, domain.RejectPermission{By: "suzhou-admin", Reason: "no", At: permAt}, []domain.Event{rejected}, ""},
		{"approve unknown", nil, domain.ApprovePermission{By: "suzhou-admin"}, nil, domain.CodePermissionNotFound},
		{"approve after approval", []domain.Event{requested, approved}, domain.ApprovePermission{By: "x"}, nil, domain.CodePermissionDecided},
		{"reject after approval", []domain.Event{requested, approved}, domain.RejectPermission{By: "x"}, nil, domain.CodePermissionDecided},
		{"approve after rejection", []domain.Event{requested, rejected}, domain.ApprovePermission{By: "x"}, nil, domain.CodePermissionDecided},
		{"requester approves own", []domain.Event{requested}, domain.ApprovePermission{By: "wuzhong-admin"}, nil, domain.CodePermissionSelfDecide},
		{"requester rejects own", []domain.Event{requested}, domain.RejectPermission{By: "wuzhong-admin"}, nil, domain.CodePermissionSelfDecide},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			events, err := domain.DecidePermission(givenPermission(tc.given...), tc.when)
			if tc.code != "" {
				require.Error(t, err)
				assert.True(t, domain.HasCode(err, tc.code), "got %v", err)
				assert.Nil(t, events)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.then, events)
		})
	}
}

func TestPermissionRequestValidation(t *testing.T) {
	bad := domain.RequestPermission{RequestID: "r2", Region: "3205", RequestedBy: "a"}
	_, err := domain.DecidePermission(givenPermission(), bad)
	de, ok := domain.AsError(err)
	require.True(t, ok)
	assert.Equal(t, domain.KindInvalid, de.Kind)
	var fields []string
	for _, f := range de.Fields {
		fields = append(fields, f.Field+":"+f.Code)
	}
	assert.Equal(t, []string{"operator:required", "role:required", "region:" + domain.CodeInvalidRegionCode}, fields)
}

func TestPermissionStateAndCodec(t *testing.T) {
	p := givenPermission(requested, domain.PermissionApproved{RequestID: "r1", ApprovedBy: "suzhou-admin", At: permAt})
	assert.Equal(t, domain.PermissionRequest{ID: "r1", Status: domain.RequestApproved, Operator: "wuzhong-op-7", Role: "counter",
		Region: "320506", Reason: "new counter", RequestedBy: "wuzhong-admin", DecidedBy: "suzhou-admin", Version: 2}, *p)

	for _, e := range []domain.Event{requested, domain.PermissionApproved{RequestID: "r1", ApprovedBy: "b", At: permAt},
		domain.PermissionRejected{RequestID: "r1", RejectedBy: "b", Reason: "x", At: permAt}} {
		typ, data, err := domain.EncodePermissionEvent(e)
		require.NoError(t, err)
		back, err := domain.DecodePermissionEvent(typ, domain.SchemaVersion(typ), data)
		require.NoError(t, err)
		assert.Equal(t, e, back)
		_, err = domain.DecodeEvent(typ, 1, data)
		assert.ErrorIs(t, err, domain.ErrUnknownEventType, "cardholder projections skip permission events")
	}
	_, err := domain.DecodePermissionEvent("CardReportedLost", 1, []byte(`{}`))
	assert.ErrorIs(t, err, domain.ErrUnknownEventType)
	assert.Equal(t, "permission-r1", domain.PermissionStreamFor("r1"))
}
