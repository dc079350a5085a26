package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func givenChannel(t *testing.T, code string, events ...Event) *ECardChannel {
	t.Helper()
	ch := ECardChannels.New(code)
	for _, e := range events {
		require.NoError(t, ch.Apply(e))
	}
	return ch
}

func TestChannelAppLifecycle(t *testing.T) {
	registered := ChannelAppRegistered{Channel: "icbc-app", Name: "工银e生活", Kind: ChannelICBC, By: "admin"}
	opened := ChannelOpened{Channel: "icbc-app", By: "admin", Reason: "协议已签"}
	closed := ChannelClosed{Channel: "icbc-app", By: "admin", Reason: "协议到期"}
	suspended := ChannelSuspended{Channel: "icbc-app", Reason: "leaked keys"}
	cases := []struct {
		name  string
		given []Event
		when  ChannelCommand
		then  []Event
		code  string // the refusal's code when then is nil
	}{
		{"register", nil, RegisterChannelApp{Name: "工银e生活", Kind: ChannelICBC, By: "admin"}, []Event{registered}, ""},
		{"register a suspended legacy channel", []Event{suspended}, RegisterChannelApp{Name: "工银e生活", Kind: ChannelICBC, By: "admin"},
			[]Event{registered}, ""},
		{"register twice", []Event{registered}, RegisterChannelApp{Name: "x", Kind: ChannelICBC}, nil, CodeChannelRegistered},
		{"register without a name", nil, RegisterChannelApp{Kind: ChannelICBC}, nil, CodeInvalidCommand},
		{"register an unknown kind", nil, RegisterChannelApp{Name: "x", Kind: "alipay"}, nil, CodeInvalidCommand},
		{"open", []Event{registered}, OpenChannel{By: "admin", Reason: "协议已签"}, []Event{opened}, ""},
		{"open twice", []Event{registered, opened}, OpenChannel{By: "admin"}, nil, CodeChannelAlreadyOpen},
		{"open unregistered", nil, OpenChannel{By: "admin"}, nil, CodeChannelNotRegistered},
		{"close", []Event{registered, opened}, CloseChannel{By: "admin", Reason: "协议到期"}, []Event{closed}, ""},
		{"close closed", []Event{registered}, CloseChannel{By: "admin", Reason: "x"}, nil, CodeChannelAlreadyClosed},
		{"close without a reason", []Event{registered, opened}, CloseChannel{By: "admin"}, nil, CodeInvalidCommand},
		{"reopen", []Event{registered, opened, closed}, OpenChannel{By: "admin", Reason: "协议已签"}, []Event{opened}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecideChannel(givenChannel(t, "icbc-app", c.given...), c.when)
			if c.code != "" {
				require.True(t, HasCode(err, c.code), "want %s, got %v", c.code, err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.then, got)
		})
	}
}

func TestChannelAppClosedUntilOpened(t *testing.T) {
	registered := ChannelAppRegistered{Channel: "rsapp", Name: "人社app", Kind: ChannelHRSS}
	require.False(t, givenChannel(t, "rsapp").Closed(), "a channel without registration is not closed")
	require.True(t, givenChannel(t, "rsapp", registered).Closed())
	require.False(t, givenChannel(t, "rsapp", registered, ChannelOpened{Channel: "rsapp"}).Closed())
	require.True(t, givenChannel(t, "rsapp", registered, ChannelOpened{Channel: "rsapp"}, ChannelClosed{Channel: "rsapp", Reason: "x"}).Closed())
}
