package commands

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// CodeInvalidLegacyFile: the legacy card file has no usable header (the
// whole file is refused; row problems are in the report instead).
const CodeInvalidLegacyFile = "invalid_legacy_file"

// maxLegacyFile bounds an uploaded legacy file (about 400,000 rows).
const maxLegacyFile = 64 << 20

var (
	exampleLegacyCSV = "卡号,姓名,身份证号码,发卡日期,卡状态,发卡机构\n" +
		"L00000001,张伟,320505197001020114,2005-03-01,正常,苏州市社保中心\n" +
		"L00000005,陈静,320505197512120563,2010-02-30,正常,苏州市社保中心\n"
	exampleLegacyReport = LegacyReport{File: "cards-2009.csv", SHA256: "9f2c…", Encoding: "UTF-8",
		Lines: 2, Imported: 1, Refused: 1, Invalid: 1, Reconciled: true, Rows: []LegacyRowReport{
			{Line: 2, Outcome: LegacyImported, CardNo: "L00000001", CardholderID: "077a70c7d1e5f0a9b3c4d5e6f7a8b9c0"},
			{Line: 3, Outcome: LegacyInvalid, CardNo: "L00000005", Code: domain.CodeInvalidCommand, Message: "invalid command",
				Fields: []domain.FieldError{{Field: "issue_date", Code: domain.CodeInvalidValue, Message: `issue date "2010-02-30" is not a date YYYY-MM-DD`}}},
		}}
)

// legacyRoutes are the migration's routes (一代卡迁移, docs/migration.md).
func (a *API) legacyRoutes() []httpapi.Route {
	return []httpapi.Route{{
		Method: http.MethodPost, Path: "/v1/legacy-cards/imports", Roles: rolesCounter, MaxBody: maxLegacyFile,
		Summary: "Import first-generation card records (一代卡迁移) from a CSV (UTF-8 or GB18030, docs/migration.md); " +
			"answers the per-row report. Importing the same file again changes nothing.",
		Request: exampleLegacyCSV, RequestType: "text/csv",
		Params: []httpapi.Param{httpapi.Operator,
			httpapi.Query("file", "The file's name, recorded in every migrated stream (default upload.csv)", "cards-2009.csv")},
		Response:  exampleLegacyReport,
		Responses: httpapi.Problems(http.StatusBadRequest, http.StatusRequestEntityTooLarge),
		Handler:   a.importLegacyCards,
	}}
}

func (a *API) importLegacyCards(c echo.Context) error {
	env, err := envelopeFrom(c)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return httpapi.NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the file is over %d bytes", tooLarge.Limit))
		}
		return fmt.Errorf("read legacy card file: %w", err)
	}
	if len(data) == 0 {
		return httpapi.BadRequest("empty_body", "send the file as the request body")
	}
	name := strings.TrimSpace(c.QueryParam("file"))
	if name == "" {
		name = "upload.csv"
	}
	im, err := NewLegacyImporter(a.svc)
	if err != nil {
		return err
	}
	rep, err := im.Import(c.Request().Context(), name, data, env, nil)
	if errors.Is(err, ErrLegacyFile) {
		return httpapi.BadRequest(CodeInvalidLegacyFile, err.Error())
	}
	if err != nil {
		return a.commandError(err)
	}
	return c.JSON(http.StatusOK, rep)
}
