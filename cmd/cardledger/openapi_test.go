package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/internal/httpapi/openapitest"
	"github.com/cardledger/cardledger/internal/testpg"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite docs/openapi.json from the service's route tables")

// openAPIFile is the checked-in document of the whole service (every
// module, analytics on), for readers, Redocly and client generators.
var openAPIFile = filepath.Join("..", "..", "docs", "openapi.json")

// The document the service serves is a valid OpenAPI 3.1 document
// (kin-openapi, examples checked against their schemas), every operation
// is a contract (success answer, security, real examples), and
// docs/openapi.json is it (go test ./cmd/cardledger -run TestOpenAPIDocumentOfTheService -update-openapi).
func TestOpenAPIDocumentOfTheService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_CLICKHOUSE_URL": chtest.NewDatabase(t),
		"CARDLEDGER_LOG_LEVEL": "error"}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	b := boot(t, ctx, env)
	res, err := http.Get(b.srv.URL + "/openapi.json")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	doc, err := io.ReadAll(res.Body)
	require.NoError(t, err)

	spec, err := openapitest.Load(doc)
	require.NoError(t, err)
	assert.Empty(t, openapitest.CheckContract(spec))
	assert.Equal(t, "3.1.0", spec.OpenAPI)

	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, doc, "", "  "))
	pretty.WriteByte('\n')
	if *updateOpenAPI {
		require.NoError(t, os.WriteFile(openAPIFile, pretty.Bytes(), 0o644))
	}
	want, err := os.ReadFile(openAPIFile)
	require.NoError(t, err, "write it with -update-openapi")
	assert.True(t, bytes.Equal(want, pretty.Bytes()),
		"docs/openapi.json is not the document the service serves; rewrite it: go test ./cmd/cardledger -run TestOpenAPIDocumentOfTheService -update-openapi")
}
