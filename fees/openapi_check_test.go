package fees_test

// Every server this package's tests build checks each answer it gives
// against its OpenAPI document (see internal/httpapi/openapitest).
import _ "github.com/cardledger/cardledger/internal/httpapi/openapitest"
