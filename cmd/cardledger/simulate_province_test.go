package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `cardledger simulate province` serves the province until interrupted,
// with the token it was given; bad flags are usage errors.
func TestSimulateProvinceServes(t *testing.T) {
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	assert.Equal(t, 2, run(context.Background(), env, []string{"simulate", "province", "--fault", "sometimes"}))
	assert.Equal(t, 2, run(context.Background(), env, []string{"simulate", "province", "extra"}))

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	env = &environment{stdout: io.Discard, stderr: pw, getenv: func(string) string { return "" }}
	done := make(chan int)
	go func() {
		done <- run(ctx, env, []string{"simulate", "province", "--listen", "127.0.0.1:0", "--token", "t"})
	}()
	first, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url := regexp.MustCompile(`http://[0-9.:]+`).FindString(first)
	require.NotEmpty(t, url, first)

	query := func(token string) (*http.Response, error) {
		req, err := http.NewRequest(http.MethodPost, url+"/v1/card-queries", strings.NewReader(`{"id_number":"11010519491231002X"}`))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return http.DefaultClient.Do(req)
	}
	res, err := query("")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "no token")
	res, err = query("t")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"cards":[]}`, string(body))

	cancel()
	assert.Equal(t, 0, <-done, "an interrupt is a clean stop")
}
