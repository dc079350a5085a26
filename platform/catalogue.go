package platform

import (
	"net/http"
	"slices"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Catalogue is GET /v1/platform/catalogue: per app type, the operations
// its apps may call.
type Catalogue struct {
	AppTypes []CatalogueType `json:"app_types"`
}

// CatalogueType is one app type and its operations.
type CatalogueType struct {
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Operations []Operation `json:"operations"`
}

// Operation is one route an app may call.
type Operation struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

var typeTitles = map[string]string{
	domain.AppIdentityReading:  "身份识读 identity reading",
	domain.AppFinancialPayment: "金融支付 financial payment",
}

// SetRouteTables makes the catalogue from the server's route tables (pass
// every table NewServer gets, this API's included); call before serving.
// Every app type is listed, with no operations if none names it.
func (a *API) SetRouteTables(tables ...[]httpapi.Route) {
	a.catalogue = catalogueOf(tables...)
}

func catalogueOf(tables ...[]httpapi.Route) Catalogue {
	out := Catalogue{AppTypes: []CatalogueType{}}
	for _, t := range domain.AppTypes() {
		ct := CatalogueType{Type: t, Title: typeTitles[t], Operations: []Operation{}}
		for _, table := range tables {
			for _, r := range table {
				if slices.Contains(r.AppTypes, t) {
					ct.Operations = append(ct.Operations, Operation{Method: r.Method, Path: r.Path, Summary: r.Summary})
				}
			}
		}
		sort.Slice(ct.Operations, func(i, j int) bool {
			oi, oj := ct.Operations[i], ct.Operations[j]
			return oi.Path < oj.Path || oi.Path == oj.Path && oi.Method < oj.Method
		})
		out.AppTypes = append(out.AppTypes, ct)
	}
	return out
}

func exampleCatalogue() Catalogue {
	lookup := Operation{Method: http.MethodGet, Path: "/v1/blacklist/{card_no}", Summary: "Whether one card is blacklisted"}
	return Catalogue{AppTypes: []CatalogueType{
		{Type: domain.AppIdentityReading, Title: typeTitles[domain.AppIdentityReading], Operations: []Operation{lookup}},
		{Type: domain.AppFinancialPayment, Title: typeTitles[domain.AppFinancialPayment], Operations: []Operation{lookup}},
	}}
}

func (a *API) getCatalogue(c echo.Context) error {
	return c.JSON(http.StatusOK, a.catalogue)
}
