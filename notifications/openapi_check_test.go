package notifications_test

// Every answer of this package's HTTP tests is checked against its OpenAPI
// document (see internal/httpapi/openapitest).
import _ "github.com/cardledger/cardledger/internal/httpapi/openapitest"
