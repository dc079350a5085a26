package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `cardledger simulate sms` is a real HTTP gateway: it prints its URL,
// refuses the first --fail-first calls and prints each message it keeps.
func TestSimulateSMSIsARealGateway(t *testing.T) {
	var stdout, stderr lockedBuffer
	env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, env, []string{"simulate", "sms", "--listen", "127.0.0.1:0", "--fail-first", "1"})
	}()
	url := regexp.MustCompile(`CARDLEDGER_SMS_GATEWAY_URL=(\S+)`)
	var gateway string
	for deadline := time.Now().Add(10 * time.Second); gateway == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := url.FindStringSubmatch(stderr.String()); m != nil {
			gateway = m[1]
		}
	}
	require.NotEmpty(t, gateway, stderr.String())
	post := func() int {
		res, err := http.Post(gateway, "application/json", strings.NewReader(`{"id":"e1-0","to":"13800138000","text":"【社会保障卡】张*"}`))
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusServiceUnavailable, post())
	assert.Equal(t, http.StatusOK, post())
	cancel()
	assert.Equal(t, 0, <-done)
	assert.Equal(t, `{"id":"e1-0","to":"13800138000","text":"【社会保障卡】张*"}`+"\n", stdout.String())
}
